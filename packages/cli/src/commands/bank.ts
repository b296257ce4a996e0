import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  BANK_KINDS,
  DEFAULT_PDQ_THRESHOLD,
  bankFileFormatOf,
  checkBankName,
  checkSource,
  prepareBankImport,
  type BankEntryUpsert,
  type BankFileFormat,
  type BankFileIssue,
  type BankKind as DomainBankKind,
  type BankMetadata,
  type CurrentBankEntry,
  type HashAlgorithm,
} from '@safeguard/domain/matching';
import { createTransport, partitionForKey, type ProduceRecord, type Transport, type TransportLogger } from '@safeguard/kafka';
import { indicatorUpdatedOf, libraryBankKind } from '@safeguard/matcher';
import { indicatorKey, renameTopic, topics, type IndicatorStatus, type IndicatorUpdated } from '@safeguard/schemas';
import type { CliIo } from '../program';

/** Exit status when a bank file (or its signature, or the bank settings) is refused: nothing was published. */
export const BANK_EXIT_REFUSED = 2;

/** Records per produce request when publishing an import. */
const PUBLISH_BATCH = 500;
const REASON = /^[a-z0-9][a-z0-9_]{0,63}$/;

/** An error of a bank command with a stable code (printed as `{"error":{code,message}}`). */
export class BankCommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'BankCommandError';
  }
}

/** Where bank commands read and write, and how (one transport per command run). */
export interface BankContext {
  transport: Transport;
  /** The compacted indicator topic, with the deployment's prefix. */
  indicatorTopic: string;
  /** The feedback topic, with the deployment's prefix. */
  feedbackTopic: string;
  /** Deadline for reading a topic to its end, ms. */
  timeoutMs: number;
  /** Clock, epoch ms. */
  now?: () => number;
}

/** The current records of the indicator topic: key `<bank>/<entryId>` → latest value (deleted keys absent). */
export type IndicatorState = Map<string, IndicatorUpdated>;

async function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BankCommandError('read_timeout', `reading ${what} took longer than ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the indicator topic to its end (all partitions, or one) and returns the latest value per
 * key, tombstones applied: the state every matcher replica builds. A missing topic is an empty state.
 */
export async function readIndicatorState(ctx: BankContext, options: { partitions?: number[]; bank?: string } = {}): Promise<IndicatorState> {
  const state: IndicatorState = new Map();
  const existing = await ctx.transport.admin().listTopics();
  if (!existing.includes(ctx.indicatorTopic)) return state;
  const prefix = options.bank === undefined ? undefined : `${options.bank}/`;
  let failed: Error | undefined;
  const reader = await ctx.transport.reader({
    binding: renameTopic(topics.indicatorUpdated, ctx.indicatorTopic),
    ...(options.partitions ? { partitions: options.partitions } : {}),
    handle: (m) => {
      if (m.key === null || (prefix !== undefined && !m.key.startsWith(prefix))) return;
      if (m.value === null) state.delete(m.key);
      else state.set(m.key, m.value);
    },
    onError: (err) => (failed = err),
  });
  try {
    await withDeadline(reader.caughtUp(), ctx.timeoutMs, ctx.indicatorTopic);
  } finally {
    await reader.stop();
  }
  if (failed) throw failed;
  return state;
}

/** The state of one entry, reading only the partition its key lives on. */
export async function readEntry(ctx: BankContext, bank: string, entryId: string): Promise<IndicatorUpdated | undefined> {
  const key = indicatorKey(bank, entryId);
  const existing = await ctx.transport.admin().listTopics();
  if (!existing.includes(ctx.indicatorTopic)) return undefined;
  const partitions = await ctx.transport.admin().partitionCount(ctx.indicatorTopic);
  const state = await readIndicatorState(ctx, { partitions: [partitionForKey(key, partitions)], bank });
  return state.get(key);
}

/** One bank as held in a state: its entries and its settings (from its newest record). */
export interface BankView {
  entries: IndicatorUpdated[];
  /** Settings of the newest record; undefined when the bank has no entries. */
  metadata?: BankMetadata;
  /** Largest `updatedAtMs` of its records (0 when empty). */
  lastUpdatedAtMs: number;
}

/** The entries and settings of `bank` in `state`, entries sorted by id. */
export function bankView(state: IndicatorState, bank: string): BankView {
  const entries = [...state.values()].filter((v) => v.bank.name === bank).sort((a, b) => (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
  let newest: IndicatorUpdated | undefined;
  for (const e of entries) if (!newest || e.updatedAtMs >= newest.updatedAtMs) newest = e;
  return {
    entries,
    ...(newest ? { metadata: { bank, kind: libraryBankKind(newest.bank.kind), source: newest.bank.source, pdqThreshold: newest.pdqThreshold } } : {}),
    lastUpdatedAtMs: newest?.updatedAtMs ?? 0,
  };
}

/** The diff's view of a topic record. */
export function currentEntryOf(v: IndicatorUpdated): CurrentBankEntry & { listVersion: string } {
  return {
    entryId: v.entryId,
    algorithm: v.algorithm as HashAlgorithm,
    hashHex: v.hashValue,
    labels: v.labels,
    disabled: v.status === 'DISABLED',
    quarantined: v.status === 'QUARANTINED',
    listVersion: v.bank.listVersion,
  };
}

/**
 * The topic record of an imported upsert (the matcher's own mapping, reason `imported`). An entry
 * whose status the import keeps (disabled or quarantined by an operator or the matcher) keeps its
 * reason.
 */
export function importedRecord(u: BankEntryUpsert, current: IndicatorUpdated | undefined, updatedBy: string): IndicatorUpdated {
  const record = indicatorUpdatedOf(u, 'imported', updatedBy);
  return current && current.status === record.status && record.status !== 'ACTIVE' ? { ...record, reason: current.reason } : record;
}

/** Options of {@link importBank}. */
export interface ImportOptions {
  bank: string;
  kind: DomainBankKind;
  source: string;
  pdqThreshold: number;
  format: BankFileFormat;
  /** The file's exact bytes. */
  content: Uint8Array;
  /** Detached signature (base64 text), if given. */
  signature?: string;
  /** The supplier's Ed25519 public key (PEM). */
  publicKeyPem?: string;
  requireSignature: boolean;
  /** Allow changing the bank's kind, source or threshold (every kept entry is re-published). */
  changeSettings: boolean;
  /** Validate and diff only; publish nothing. */
  dryRun: boolean;
  /** Opaque id written as `updatedBy`. */
  updatedBy: string;
}

/** What an import did. */
export type ImportOutcome =
  | {
      ok: true;
      bank: string;
      listVersion: string;
      contentSha256: string;
      signature: 'verified' | 'unsigned';
      entries: number;
      added: number;
      changed: number;
      removed: number;
      unchanged: number;
      published: number;
      dryRun: boolean;
    }
  | { ok: false; errors: BankFileIssue[] };

/**
 * `bank import`: checks the signature policy, validates every line (all-or-nothing), records a
 * list version, diffs against the bank's current state read from the compacted topic, and
 * publishes the changes (upserts, then tombstones for removed entries) to that topic. Operator
 * state (disabled, quarantined) survives re-imports. The import's `updatedAtMs` is later than
 * every record of the bank, so no replica ignores it as stale whatever this host's clock says.
 */
export async function importBank(ctx: BankContext, o: ImportOptions): Promise<ImportOutcome> {
  const state = await readIndicatorState(ctx, { bank: o.bank });
  const view = bankView(state, o.bank);
  const target: BankMetadata = { bank: o.bank, kind: o.kind, source: o.source, pdqThreshold: o.pdqThreshold };
  const m = view.metadata;
  if (m && !o.changeSettings && (m.kind !== target.kind || m.source !== target.source || m.pdqThreshold !== target.pdqThreshold)) {
    return {
      ok: false,
      errors: [
        {
          line: 0,
          code: 'bank_settings_changed',
          message: `bank ${o.bank} is kind ${m.kind}, source ${m.source}, threshold ${m.pdqThreshold}; pass --change-settings to change them (every entry is re-published)`,
        },
      ],
    };
  }
  const nowMs = Math.max((ctx.now ?? Date.now)(), view.lastUpdatedAtMs + 1);
  const prepared = prepareBankImport({
    content: o.content,
    format: o.format,
    ...(o.signature !== undefined ? { signature: o.signature } : {}),
    policy: { requireSignature: o.requireSignature, ...(o.publicKeyPem !== undefined ? { publicKeyPem: o.publicKeyPem } : {}) },
    target,
    current: view.entries.map(currentEntryOf),
    ...(m ? { currentMetadata: m } : {}),
    nowMs,
  });
  if (!prepared.ok) return { ok: false, errors: [...prepared.errors] };
  const { diff } = prepared;
  const records: ProduceRecord<IndicatorUpdated>[] = [];
  // Upserts first, tombstones last: a reader stopped half-way has extra entries, never missing ones.
  for (const u of [...diff.changes, ...diff.adds]) {
    const key = indicatorKey(u.bank, u.entryId);
    records.push({ key, value: importedRecord(u, state.get(key), o.updatedBy) });
  }
  for (const d of diff.removals) records.push({ key: indicatorKey(d.bank, d.entryId), value: null });
  if (!o.dryRun && records.length > 0) {
    const binding = renameTopic(topics.indicatorUpdated, ctx.indicatorTopic);
    await ctx.transport.admin().ensureTopics([{ topic: ctx.indicatorTopic, partitions: topics.indicatorUpdated.partitions, cleanupPolicy: 'compact' }]);
    const producer = ctx.transport.producer();
    for (let i = 0; i < records.length; i += PUBLISH_BATCH) await producer.send(binding, records.slice(i, i + PUBLISH_BATCH));
  }
  return {
    ok: true,
    bank: o.bank,
    listVersion: prepared.listVersion,
    contentSha256: prepared.contentSha256,
    signature: prepared.signature,
    entries: prepared.entries,
    added: diff.adds.length,
    changed: diff.changes.length,
    removed: diff.removals.length,
    unchanged: diff.unchanged,
    published: o.dryRun ? 0 : records.length,
    dryRun: o.dryRun,
  };
}

/** A field of a CSV line, quoted when needed (RFC 4180). */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * A bank's entries as a bank file `bank import` accepts (tsv without header, csv with header,
 * jsonl), sorted by entry id. `withState` (jsonl only) adds status, reason, listVersion and
 * updatedAtMs; such a file is for reading, not for re-import.
 */
export function exportLines(entries: readonly IndicatorUpdated[], format: BankFileFormat, withState = false): string[] {
  if (withState && format !== 'jsonl') throw new BankCommandError('invalid_arguments', '--with-state needs --format jsonl');
  if (format === 'jsonl') {
    return entries.map((e) =>
      JSON.stringify({
        entryId: e.entryId,
        algorithm: e.algorithm,
        hash: e.hashValue,
        labels: e.labels,
        ...(withState ? { status: e.status, reason: e.reason, listVersion: e.bank.listVersion, updatedAtMs: e.updatedAtMs } : {}),
      }),
    );
  }
  if (format === 'tsv') return entries.map((e) => [e.entryId, e.algorithm, e.hashValue, e.labels.join(';')].join('\t'));
  return ['entry_id,algorithm,hash,labels', ...entries.map((e) => [e.entryId, e.algorithm, e.hashValue, e.labels.join(';')].map(csvField).join(','))];
}

/** A status change an operator asks for. */
export type StatusAction = 'disable' | 'enable' | 'clear_quarantine';

/**
 * The record that applies `action` to `current`, or null when nothing changes (already in that
 * state). `enable` undoes a disable, `clear_quarantine` a flood quarantine after review.
 * @throws BankCommandError `entry_quarantined` (enable on a quarantined entry: clear it instead),
 *   `entry_disabled` (clear-quarantine on a disabled entry: enable it instead).
 */
export function statusChange(current: IndicatorUpdated, action: StatusAction, reason: string, updatedBy: string, nowMs: number): IndicatorUpdated | null {
  let status: IndicatorStatus;
  if (action === 'disable') {
    if (current.status === 'DISABLED') return null;
    status = 'DISABLED';
  } else if (action === 'enable') {
    if (current.status === 'ACTIVE') return null;
    if (current.status === 'QUARANTINED') throw new BankCommandError('entry_quarantined', 'the entry is quarantined, not disabled: use bank clear-quarantine after review');
    status = 'ACTIVE';
  } else {
    if (current.status === 'ACTIVE') return null;
    if (current.status === 'DISABLED') throw new BankCommandError('entry_disabled', 'the entry is disabled, not quarantined: use bank enable');
    status = 'ACTIVE';
  }
  return { ...current, status, reason, updatedBy, updatedAtMs: Math.max(nowMs, current.updatedAtMs) };
}

/** What {@link changeEntryStatus} did. */
export interface StatusOutcome {
  bank: string;
  entryId: string;
  status: IndicatorStatus;
  changed: boolean;
}

/**
 * `bank disable|enable|clear-quarantine`: reads the entry's current record (from its partition
 * only) and publishes the changed record; every matcher replica applies it within seconds.
 * @throws BankCommandError `entry_not_found`, `entry_quarantined`, `entry_disabled`.
 */
export async function changeEntryStatus(
  ctx: BankContext,
  o: { bank: string; entryId: string; action: StatusAction; reason: string; updatedBy: string },
): Promise<StatusOutcome> {
  const current = await readEntry(ctx, o.bank, o.entryId);
  if (!current) throw new BankCommandError('entry_not_found', `no entry ${o.entryId} in bank ${o.bank}`);
  const next = statusChange(current, o.action, o.reason, o.updatedBy, (ctx.now ?? Date.now)());
  if (next === null) return { bank: o.bank, entryId: o.entryId, status: current.status, changed: false };
  await ctx.transport.producer().send(renameTopic(topics.indicatorUpdated, ctx.indicatorTopic), [{ key: indicatorKey(o.bank, o.entryId), value: next }]);
  return { bank: o.bank, entryId: o.entryId, status: next.status, changed: true };
}

/** Figures of one bank for `bank stats`. */
export interface BankStatsLine {
  bank: string;
  kind: string;
  source: string;
  pdqThreshold: number;
  entries: number;
  byAlgorithm: Record<string, number>;
  active: number;
  disabled: number;
  quarantined: number;
  /** List versions in use, newest first, with their entry counts. */
  listVersions: Array<{ listVersion: string; entries: number }>;
  lastUpdatedAtMs: number;
}

/** Per-bank figures of a state, sorted by bank name. */
export function statsOf(state: IndicatorState): BankStatsLine[] {
  const banks = new Set([...state.values()].map((v) => v.bank.name));
  return [...banks].sort().map((bank) => {
    const view = bankView(state, bank);
    const byAlgorithm: Record<string, number> = {};
    const versions = new Map<string, number>();
    let disabled = 0;
    let quarantined = 0;
    for (const e of view.entries) {
      byAlgorithm[e.algorithm] = (byAlgorithm[e.algorithm] ?? 0) + 1;
      versions.set(e.bank.listVersion, (versions.get(e.bank.listVersion) ?? 0) + 1);
      if (e.status === 'DISABLED') disabled++;
      if (e.status === 'QUARANTINED') quarantined++;
    }
    return {
      bank,
      kind: view.metadata!.kind,
      source: view.metadata!.source,
      pdqThreshold: view.metadata!.pdqThreshold,
      entries: view.entries.length,
      byAlgorithm,
      active: view.entries.length - disabled - quarantined,
      disabled,
      quarantined,
      listVersions: [...versions].map(([listVersion, entries]) => ({ listVersion, entries })).sort((a, b) => (a.listVersion < b.listVersion ? 1 : -1)),
      lastUpdatedAtMs: view.lastUpdatedAtMs,
    };
  });
}

/** An allow-list proposal from reviewer feedback (`bank proposals`). */
export interface AllowListProposal {
  feedbackId: string;
  bank: string;
  entryId: string;
  algorithm: string;
  /** The matched entry's hash (empty when the reporter did not know it). */
  hashValue: string;
  /** The reviewed content's own hash: what an allow-list entry needs (null from reporters before IndicatorFeedback v2). */
  queryHash: string | null;
  caseId: string;
  createdAtMs: number;
}

/**
 * `bank proposals`: the DOWN votes with action `propose_allow_list` on the feedback topic (the
 * matcher only records them: adding a benign collision to an allow-list needs a person, who
 * builds an allow-bank file from this list and imports it).
 */
export async function listProposals(ctx: BankContext, o: { bank?: string; sinceMs?: number }): Promise<AllowListProposal[]> {
  const out: AllowListProposal[] = [];
  if (!(await ctx.transport.admin().listTopics()).includes(ctx.feedbackTopic)) return out;
  let failed: Error | undefined;
  const reader = await ctx.transport.reader({
    binding: renameTopic(topics.indicatorFeedback, ctx.feedbackTopic),
    handle: (m) => {
      const f = m.value;
      if (!f || f.vote !== 'DOWN' || f.action !== 'propose_allow_list') return;
      if (o.bank !== undefined && f.bank.name !== o.bank) return;
      if (o.sinceMs !== undefined && f.createdAtMs < o.sinceMs) return;
      out.push({ feedbackId: f.feedbackId, bank: f.bank.name, entryId: f.entryId, algorithm: f.algorithm, hashValue: f.hashValue, queryHash: f.queryHash, caseId: f.caseId, createdAtMs: f.createdAtMs });
    },
    onError: (err) => (failed = err),
  });
  try {
    await withDeadline(reader.caughtUp(), ctx.timeoutMs, ctx.feedbackTopic);
  } finally {
    await reader.stop();
  }
  if (failed) throw failed;
  return out.sort((a, b) => a.createdAtMs - b.createdAtMs);
}

// ---- command wiring -----------------------------------------------------------------------------

/** Connection settings every bank command takes. */
export interface ConnectionOptions {
  brokers?: string;
  registry?: string;
  topicPrefix: string;
  timeoutMs: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function thresholdArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError('must be an integer from 0 to 256');
  return n;
}

function bankArg(value: string): string {
  if (checkBankName(value)) throw new InvalidArgumentError('must be lowercase letters, digits, ".", "_" or "-" (no "/"), at most 128');
  return value;
}

function reasonArg(value: string): string {
  if (!REASON.test(value)) throw new InvalidArgumentError('must be a lowercase code [a-z0-9_], at most 64 characters');
  return value;
}

function withConnection(cmd: Command): Command {
  return cmd
    .addOption(new Option('--brokers <list>', 'Kafka bootstrap brokers, host:port,...').env('KAFKA_BROKERS'))
    .addOption(new Option('--registry <url>', 'schema registry URL (Confluent API)').env('SCHEMA_REGISTRY_URL'))
    .addOption(new Option('--topic-prefix <prefix>', 'prefix of the deployment\'s topic names').env('SAFEGUARD_TOPIC_PREFIX').default(''))
    .option('--timeout-ms <ms>', 'deadline for reading a topic to its end', positiveInt, 60_000);
}

function stderrLogger(io: CliIo): TransportLogger {
  const line = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    const { error: _e, err: _r, ...rest } = obj;
    io.stderr.write(`${JSON.stringify({ level, msg, ...rest })}\n`);
  };
  return { info: () => undefined, warn: line('warn'), error: line('error') };
}

/**
 * Runs `work` with a Kafka transport built from the connection options, closed afterwards.
 * @throws BankCommandError `brokers_required`, `registry_required`, `invalid_arguments`.
 */
async function connected(opts: ConnectionOptions, work: (ctx: BankContext) => Promise<void>, io: CliIo): Promise<void> {
  const brokers = (opts.brokers ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) throw new BankCommandError('brokers_required', 'give --brokers or KAFKA_BROKERS');
  if (!opts.registry) throw new BankCommandError('registry_required', 'give --registry or SCHEMA_REGISTRY_URL');
  if (!/^[A-Za-z0-9._-]*$/.test(opts.topicPrefix)) throw new BankCommandError('invalid_arguments', '--topic-prefix: only letters, digits, dot, underscore and hyphen');
  const transport = createTransport({ kind: 'kafka', brokers, clientId: 'safeguard-cli', schemaRegistryUrl: opts.registry, logger: stderrLogger(io) });
  try {
    await work({
      transport,
      indicatorTopic: `${opts.topicPrefix}${topics.indicatorUpdated.topic}`,
      feedbackTopic: `${opts.topicPrefix}${topics.indicatorFeedback.topic}`,
      timeoutMs: opts.timeoutMs,
    });
  } finally {
    await transport.close();
  }
}

/** Gives a bank command its context (a Kafka connection; tests pass an in-process transport). */
export type BankRunner = (opts: ConnectionOptions, work: (ctx: BankContext) => Promise<void>, io: CliIo) => Promise<void>;

const json = (io: CliIo, v: unknown): void => void io.stdout.write(`${JSON.stringify(v)}\n`);

/**
 * Adds the `bank` commands. `run` connects to Kafka (replaced in tests).
 *
 * - `bank import --bank NAME --kind block|review|allow --source SRC [--threshold 31] [--format csv|tsv|jsonl]
 *   [--signature FILE --public-key PEM | --require-signature] [--change-settings] [--dry-run] FILE`
 * - `bank export --bank NAME [--format tsv|csv|jsonl] [--with-state]`
 * - `bank disable|enable|clear-quarantine --bank NAME ENTRY [--reason CODE]`
 * - `bank stats [--bank NAME]`, `bank proposals [--bank NAME] [--since-ms MS]`
 *
 * Every command takes `--brokers`/`KAFKA_BROKERS`, `--registry`/`SCHEMA_REGISTRY_URL`,
 * `--topic-prefix`/`SAFEGUARD_TOPIC_PREFIX`. Output: JSON lines on stdout (export: the bank file).
 * Exit status: 0 done; 2 the file was refused (every problem on stderr as `FILE:LINE: code: message`,
 * nothing published); 1 anything else (`{"error":{code,message}}` on stderr).
 */
export function registerBankCommands(program: Command, io: CliIo, exit: { code: number }, runner: BankRunner = connected): void {
  const bank = program.command('bank').description('Indicator lists (banks) on the compacted topic every matcher replica reads');
  const fail = (code: string, message: string): void => {
    io.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
    exit.code = 1;
  };
  /** Runs `work` in a context; any error becomes `{"error":{code,message}}` on stderr and exit 1. */
  const run = async (opts: ConnectionOptions, work: (ctx: BankContext) => Promise<void>): Promise<void> => {
    try {
      await runner(opts, work, io);
    } catch (err) {
      const e = err as { code?: unknown; message?: string };
      fail(typeof e.code === 'string' ? e.code : 'internal_error', e.message ?? String(err));
    }
  };

  withConnection(
    bank
      .command('import')
      .description('Validate a bank file (all-or-nothing), diff it against the bank on the topic and publish the changes')
      .argument('<file>', 'bank file: csv, tsv or jsonl (<entryId>, <algorithm>, <hex>[, <labels>])')
      .requiredOption('--bank <name>', 'bank name', bankArg)
      .addOption(new Option('--kind <kind>', 'what a match means').choices([...BANK_KINDS]).makeOptionMandatory())
      .requiredOption('--source <source>', 'who supplied the list (eu_centre, ncmec, platform, ...)')
      .option('--threshold <bits>', 'PDQ Hamming distance threshold of the bank, inclusive', thresholdArg, DEFAULT_PDQ_THRESHOLD)
      .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'tsv', 'jsonl']))
      .option('--signature <file>', 'detached Ed25519 signature of the file (base64)')
      .addOption(new Option('--public-key <file>', 'the supplier\'s Ed25519 public key (PEM) to check signatures with').env('SAFEGUARD_BANK_PUBLIC_KEY'))
      .option('--require-signature', 'refuse files without a valid signature', false)
      .option('--change-settings', 'allow changing the bank\'s kind, source or threshold', false)
      .option('--dry-run', 'validate and diff only', false)
      .option('--by <id>', 'opaque id of who imports (updatedBy)', 'safeguard-cli'),
  ).action(
    async (
      file: string,
      opts: ConnectionOptions & {
        bank: string;
        kind: DomainBankKind;
        source: string;
        threshold: number;
        format?: BankFileFormat;
        signature?: string;
        publicKey?: string;
        requireSignature: boolean;
        changeSettings: boolean;
        dryRun: boolean;
        by: string;
      },
    ) => {
      if (checkSource(opts.source)) return fail('source_invalid', '--source must be a stable lowercase id [a-z0-9_.-]');
      const format = opts.format ?? bankFileFormatOf(file);
      if (!format) return fail('format_required', 'give --format (the file name has no .csv, .tsv or .jsonl extension)');
      if (opts.requireSignature && !opts.publicKey) return fail('public_key_required', '--require-signature needs --public-key (or SAFEGUARD_BANK_PUBLIC_KEY)');
      let content: Buffer;
      let signature: string | undefined;
      let publicKeyPem: string | undefined;
      try {
        content = await readFile(file);
        if (opts.signature) signature = await readFile(opts.signature, 'utf8');
        if (opts.publicKey) publicKeyPem = await readFile(opts.publicKey, 'utf8');
      } catch (err) {
        return fail('file_not_readable', `cannot read ${(err as NodeJS.ErrnoException).path ?? file}: ${(err as NodeJS.ErrnoException).code ?? 'read_failed'}`);
      }
      await run(opts, async (ctx) => {
        const outcome = await importBank(ctx, {
          bank: opts.bank,
          kind: opts.kind,
          source: opts.source,
          pdqThreshold: opts.threshold,
          format,
          content,
          ...(signature !== undefined ? { signature } : {}),
          ...(publicKeyPem !== undefined ? { publicKeyPem } : {}),
          requireSignature: opts.requireSignature,
          changeSettings: opts.changeSettings,
          dryRun: opts.dryRun,
          updatedBy: opts.by,
        });
        if (!outcome.ok) {
          for (const e of outcome.errors) io.stderr.write(`${file}${e.line > 0 ? `:${e.line}` : ''}: ${e.code}: ${e.message}\n`);
          exit.code = BANK_EXIT_REFUSED;
          return;
        }
        json(io, outcome);
      });
    },
  );

  withConnection(
    bank
      .command('export')
      .description('Write a bank\'s current entries from the topic as a bank file (stdout)')
      .requiredOption('--bank <name>', 'bank name', bankArg)
      .addOption(new Option('--format <format>', 'file format').choices(['csv', 'tsv', 'jsonl']).default('tsv'))
      .option('--with-state', 'jsonl only: add status, reason, listVersion, updatedAtMs (not re-importable)', false),
  ).action(async (opts: ConnectionOptions & { bank: string; format: BankFileFormat; withState: boolean }) => {
    if (opts.withState && opts.format !== 'jsonl') return fail('invalid_arguments', '--with-state needs --format jsonl');
    await run(opts, async (ctx) => {
      const view = bankView(await readIndicatorState(ctx, { bank: opts.bank }), opts.bank);
      if (view.entries.length === 0) throw new BankCommandError('bank_not_found', `no entries in bank ${opts.bank}`);
      const lines = exportLines(view.entries, opts.format, opts.withState);
      for (let i = 0; i < lines.length; i += 1000) io.stdout.write(`${lines.slice(i, i + 1000).join('\n')}\n`);
    });
  });

  const statusCommand = (name: string, action: StatusAction, description: string, defaultReason: string): void => {
    withConnection(
      bank
        .command(name)
        .description(description)
        .argument('<entry>', 'the entry id')
        .requiredOption('--bank <name>', 'bank name', bankArg)
        .option('--reason <code>', 'reason code recorded with the change', reasonArg, defaultReason)
        .option('--by <id>', 'opaque id of who makes the change (updatedBy)', 'safeguard-cli'),
    ).action(async (entryId: string, opts: ConnectionOptions & { bank: string; reason: string; by: string }) => {
      await run(opts, async (ctx) => {
        json(io, await changeEntryStatus(ctx, { bank: opts.bank, entryId, action, reason: opts.reason, updatedBy: opts.by }));
      });
    });
  };
  statusCommand('disable', 'disable', 'Disable an entry (not matched until enabled again)', 'disabled_by_operator');
  statusCommand('enable', 'enable', 'Enable a disabled entry again', 'enabled');
  statusCommand('clear-quarantine', 'clear_quarantine', 'Clear an entry\'s flood quarantine after review', 'cleared');

  withConnection(
    bank
      .command('stats')
      .description('Per-bank figures from the topic (one JSON line per bank)')
      .option('--bank <name>', 'only this bank', bankArg),
  ).action(async (opts: ConnectionOptions & { bank?: string }) => {
    await run(opts, async (ctx) => {
      for (const line of statsOf(await readIndicatorState(ctx, opts.bank ? { bank: opts.bank } : {}))) json(io, line);
    });
  });

  withConnection(
    bank
      .command('proposals')
      .description('Allow-list proposals from reviewer feedback (one JSON line each) for a person to act on')
      .option('--bank <name>', 'only this bank', bankArg)
      .option('--since-ms <epochMs>', 'only feedback created at or after this time', positiveInt),
  ).action(async (opts: ConnectionOptions & { bank?: string; sinceMs?: number }) => {
    await run(opts, async (ctx) => {
      for (const p of await listProposals(ctx, { ...(opts.bank ? { bank: opts.bank } : {}), ...(opts.sinceMs ? { sinceMs: opts.sinceMs } : {}) })) json(io, p);
    });
  });
}

/** The `bank` subcommand module (see {@link registerBankCommands}). */
export const registerBank = (program: Command, io: CliIo, exit: { code: number }): void => registerBankCommands(program, io, exit);
