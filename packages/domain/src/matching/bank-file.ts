import { createHash } from 'node:crypto';
import {
  BankEntryDelete,
  BankEntryUpdate,
  BankEntryUpsert,
  BankMetadata,
  HashAlgorithm,
  checkAlgorithm,
  checkBankName,
  checkEntryId,
  checkHashHex,
  checkKind,
  checkLabels,
  checkSource,
  checkThreshold,
} from './bank-types';
import { BankSignaturePolicy, checkBankFileSignature } from './bank-signature';
import { SafeguardError } from '../errors';

/** Supported bank file formats. */
export type BankFileFormat = 'csv' | 'tsv' | 'jsonl';

/** One valid line of a bank file. */
export interface BankFileEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  /** Supplier's entry id. */
  readonly entryId: string;
  /** Algorithm id. */
  readonly algorithm: HashAlgorithm;
  /** Hash, lowercase hex. */
  readonly hashHex: string;
  /** Labels (possibly empty). */
  readonly labels: readonly string[];
}

/** One problem found in a bank file. */
export interface BankFileIssue {
  /** 1-based line number; 0 for the whole file. */
  readonly line: number;
  /** Stable reason code, e.g. `hash_length_invalid`, `entry_id_duplicate`. */
  readonly code: string;
  /** Human-readable detail (no file content beyond the offending field name). */
  readonly message: string;
}

/** Result of {@link parseBankFile}: all entries, or all problems (never a partial list). */
export type BankFileParseResult =
  | { readonly ok: true; readonly entries: readonly BankFileEntry[]; readonly contentSha256: string }
  | { readonly ok: false; readonly errors: readonly BankFileIssue[]; readonly contentSha256: string };

/** Options of {@link parseBankFile}. */
export interface BankFileParseOptions {
  /** Accept a file with no entries (which would empty the bank). Default false: `file_empty`. */
  readonly allowEmpty?: boolean;
}

/** The format implied by a file name's extension (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`), or undefined. */
export function bankFileFormatOf(fileName: string): BankFileFormat | undefined {
  const ext = fileName.toLowerCase().split('.').pop();
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv' || ext === 'tab') return 'tsv';
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  return undefined;
}

/** Splits one CSV line (RFC 4180 quoting, no line breaks inside fields); null when quoting is broken. */
function splitCsv(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push(v);
      if (i === line.length) return out;
      if (line[i] !== ',') return null;
      i++;
    } else {
      const j = line.indexOf(',', i);
      const v = j < 0 ? line.slice(i) : line.slice(i, j);
      if (v.includes('"')) return null;
      out.push(v);
      if (j < 0) return out;
      i = j + 1;
    }
  }
}

const HEADER_NAMES: Record<string, 'entryId' | 'algorithm' | 'hash' | 'labels'> = {
  entry_id: 'entryId',
  entryid: 'entryId',
  id: 'entryId',
  algorithm: 'algorithm',
  hash: 'hash',
  hash_hex: 'hash',
  hashhex: 'hash',
  labels: 'labels',
};
const JSON_FIELDS = new Set(['entryId', 'algorithm', 'hash', 'hashHex', 'labels']);

/**
 * Parses and validates a whole bank file. Every line is checked and EVERY problem is reported
 * with its line number; if there is any, no entry is returned (all-or-nothing).
 *
 * Formats (UTF-8, LF or CRLF line ends; blank lines and, for csv/tsv, lines starting with `#`
 * are skipped):
 * - `tsv`: `<entryId>\t<algorithm>\t<hex>[\t<labels>]`
 * - `csv`: the same columns, comma-separated, RFC 4180 quotes allowed.
 *   For both, an optional header line names the columns (`entry_id,algorithm,hash,labels`, any
 *   order). Labels are separated by `;` or `|`.
 * - `jsonl`: one object per line: `{"entryId","algorithm","hash"(or "hashHex"),"labels":[...]}`;
 *   other fields are rejected (`field_unknown`).
 *
 * Checks: algorithm in `pdq|md5|sha1|sha256`; hex length for the algorithm and charset;
 * entry id (1..256 printable chars, no whitespace); labels (lowercase codes, ≤ 32, no
 * duplicates); entry ids unique in the file (`entry_id_duplicate`, naming the first line).
 */
export function parseBankFile(content: Uint8Array | string, format: BankFileFormat, options: BankFileParseOptions = {}): BankFileParseResult {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const contentSha256 = createHash('sha256').update(bytes).digest('hex');
  const errors: BankFileIssue[] = [];
  const entries: BankFileEntry[] = [];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, errors: [{ line: 0, code: 'encoding_invalid', message: 'file is not valid UTF-8' }], contentSha256 };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const firstLine = new Map<string, number>();
  let columns: ('entryId' | 'algorithm' | 'hash' | 'labels')[] = ['entryId', 'algorithm', 'hash', 'labels'];
  let sawData = false;

  lines.forEach((raw, i) => {
    const line = i + 1;
    const src = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const issue = (code: string, message: string): void => {
      errors.push({ line, code, message });
    };
    if (src.trim() === '') return;
    let entryId: unknown, algorithm: unknown, hash: unknown, labels: unknown;
    if (format === 'jsonl') {
      let obj: unknown;
      try {
        obj = JSON.parse(src);
      } catch {
        return issue('json_invalid', 'line is not valid JSON');
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return issue('json_invalid', 'line is not a JSON object');
      const o = obj as Record<string, unknown>;
      const unknown = Object.keys(o).filter((k) => !JSON_FIELDS.has(k));
      if (unknown.length) return issue('field_unknown', `unknown field(s): ${unknown.join(', ')}`);
      entryId = o.entryId;
      algorithm = o.algorithm;
      hash = o.hash ?? o.hashHex;
      labels = o.labels ?? [];
      if (!Array.isArray(labels)) return issue('label_invalid', 'labels must be an array of strings');
    } else {
      if (src.startsWith('#')) return;
      const fields = format === 'tsv' ? src.split('\t') : splitCsv(src);
      if (fields === null) return issue('csv_quoting_invalid', 'unbalanced or misplaced quotes');
      if (!sawData) {
        sawData = true;
        const names = fields.map((f) => HEADER_NAMES[f.trim().toLowerCase()]);
        // A first line whose first field is a column name is a header.
        if (names[0] !== undefined) {
          if (names.some((n) => n === undefined) || new Set(names).size !== names.length || !['entryId', 'algorithm', 'hash'].every((n) => names.includes(n as 'hash'))) {
            return issue('header_invalid', 'header must name entry_id, algorithm, hash and optionally labels, once each');
          }
          columns = names as typeof columns;
          return;
        }
      }
      if (fields.length < 3 || fields.length > columns.length || (columns.length === 4 && !columns.includes('labels') && fields.length !== 3)) {
        return issue('field_count_invalid', `expected ${columns.includes('labels') && columns.length === 4 ? '3 or 4' : columns.length} fields, got ${fields.length}`);
      }
      const get = (name: string): string | undefined => {
        const k = columns.indexOf(name as 'hash');
        return k < 0 ? undefined : fields[k];
      };
      entryId = get('entryId');
      algorithm = get('algorithm');
      hash = get('hash');
      const l = get('labels');
      labels = l === undefined || l.trim() === '' ? [] : l.split(/[;|]/).map((s) => s.trim());
    }
    let bad = false;
    const check = (code: string | null, message: string): void => {
      if (code) {
        bad = true;
        issue(code, message);
      }
    };
    if (typeof entryId !== 'string') check('entry_id_invalid', 'entry id missing or not a string');
    else check(checkEntryId(entryId), 'entry id must be 1..256 printable characters without whitespace');
    const algoOk = typeof algorithm === 'string' && checkAlgorithm(algorithm) === null;
    check(algoOk ? null : 'algorithm_invalid', 'algorithm must be one of pdq, md5, sha1, sha256');
    if (typeof hash !== 'string') check('hash_length_invalid', 'hash missing or not a string');
    else if (algoOk) check(checkHashHex(algorithm as HashAlgorithm, hash), `hash must be ${algorithm} hex`);
    const labelList = labels as unknown[];
    check(labelList.every((x) => typeof x === 'string') ? checkLabels(labelList as string[]) : 'label_invalid', 'labels must be lowercase codes [a-z0-9][a-z0-9_.:-]*, at most 32, no duplicates');
    if (typeof entryId === 'string' && checkEntryId(entryId) === null) {
      const first = firstLine.get(entryId);
      if (first !== undefined) check('entry_id_duplicate', `entry id already used on line ${first}`);
      else firstLine.set(entryId, line);
    }
    if (!bad) {
      entries.push({ line, entryId: entryId as string, algorithm: algorithm as HashAlgorithm, hashHex: (hash as string).toLowerCase(), labels: labelList as string[] });
    }
  });
  if (errors.length === 0 && entries.length === 0 && !options.allowEmpty) {
    errors.push({ line: 0, code: 'file_empty', message: 'file has no entries (would empty the bank)' });
  }
  return errors.length ? { ok: false, errors, contentSha256 } : { ok: true, entries, contentSha256 };
}

/**
 * The version of a list: import time (UTC, to the second) and the first 16 hex digits of the
 * file's sha256, e.g. `20261128T063000Z-3f1c9a0b2d4e5f60`. Sorts by time; the digest tells two
 * imports of different files apart within a second and identifies the exact file.
 */
export function computeListVersion(contentSha256: string, nowMs: number): string {
  const iso = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${iso}-${contentSha256.slice(0, 16)}`;
}

/** What the diff compares against: an entry as the bank holds it now. */
export interface CurrentBankEntry {
  /** Entry id. */
  readonly entryId: string;
  /** Algorithm. */
  readonly algorithm: HashAlgorithm;
  /** Hash hex (any case). */
  readonly hashHex: string;
  /** Labels. */
  readonly labels: readonly string[];
  /** Disabled by a person: kept across imports. Default false. */
  readonly disabled?: boolean;
  /** Quarantined: kept across imports. Default false. */
  readonly quarantined?: boolean;
}

/** Result of {@link diffBank}: the updates that turn the current bank into the file's content. */
export interface BankDiff {
  /** New entries. */
  readonly adds: readonly BankEntryUpsert[];
  /** Entries whose algorithm, hash or labels changed, or every kept entry when bank settings changed. */
  readonly changes: readonly BankEntryUpsert[];
  /** Entries no longer in the file (tombstones). */
  readonly removals: readonly BankEntryDelete[];
  /** Entries left as they are. */
  readonly unchanged: number;
  /** True when kind, source or threshold differ from `currentMetadata`. */
  readonly metadataChanged: boolean;
  /** All updates to publish: removals, then changes, then adds. */
  readonly updates: readonly BankEntryUpdate[];
}

/**
 * Diffs a validated file against the bank's current entries.
 *
 * Changed and added entries carry the new `listVersion`; unchanged entries keep theirs (so an
 * entry's version says which list introduced its current content, and a re-import of the same
 * file publishes nothing). Disabled and quarantined flags are operator state and are kept.
 * Bank settings travel on every entry message (the compacted topic keeps only the latest per
 * entry), so when kind, source or threshold change, every kept entry is re-published.
 *
 * @param target - bank name and settings to import with, `listVersion` and `nowMs` (updatedAtMs).
 * @param currentMetadata - the bank's current settings; omit for a new bank.
 */
export function diffBank(
  current: Iterable<CurrentBankEntry>,
  next: readonly BankFileEntry[],
  target: BankMetadata & { readonly listVersion: string; readonly nowMs: number },
  currentMetadata?: BankMetadata,
): BankDiff {
  for (const code of [checkBankName(target.bank), checkKind(target.kind), checkSource(target.source), checkThreshold(target.pdqThreshold)]) {
    if (code) throw new SafeguardError(code, `bank settings rejected: ${code}`);
  }
  const metadataChanged =
    currentMetadata !== undefined &&
    (currentMetadata.kind !== target.kind || currentMetadata.source !== target.source || currentMetadata.pdqThreshold !== target.pdqThreshold);
  const now = new Map<string, CurrentBankEntry>();
  for (const e of current) now.set(e.entryId, e);
  const adds: BankEntryUpsert[] = [];
  const changes: BankEntryUpsert[] = [];
  const removals: BankEntryDelete[] = [];
  let unchanged = 0;
  const upsert = (e: BankFileEntry, cur: CurrentBankEntry | undefined, listVersion: string): BankEntryUpsert => ({
    deleted: false,
    bank: target.bank,
    kind: target.kind,
    source: target.source,
    pdqThreshold: target.pdqThreshold,
    entryId: e.entryId,
    algorithm: e.algorithm,
    hashHex: e.hashHex,
    labels: [...e.labels],
    listVersion,
    disabled: cur?.disabled ?? false,
    quarantined: cur?.quarantined ?? false,
    updatedAtMs: target.nowMs,
  });
  const seen = new Set<string>();
  for (const e of next) {
    seen.add(e.entryId);
    const cur = now.get(e.entryId);
    if (!cur) {
      adds.push(upsert(e, undefined, target.listVersion));
      continue;
    }
    const same = cur.algorithm === e.algorithm && cur.hashHex.toLowerCase() === e.hashHex && cur.labels.join('\n') === e.labels.join('\n');
    if (!same) changes.push(upsert(e, cur, target.listVersion));
    else if (metadataChanged) changes.push(upsert(e, cur, (cur as { listVersion?: string }).listVersion ?? target.listVersion));
    else unchanged++;
  }
  for (const id of now.keys()) {
    if (!seen.has(id)) removals.push({ deleted: true, bank: target.bank, entryId: id, updatedAtMs: target.nowMs });
  }
  return { adds, changes, removals, unchanged, metadataChanged, updates: [...removals, ...changes, ...adds] };
}

/** Input of {@link prepareBankImport}. */
export interface BankImportRequest {
  /** The exact file bytes (signatures cover these). */
  readonly content: Uint8Array;
  /** File format. */
  readonly format: BankFileFormat;
  /** Detached signature (base64 text or 64 raw bytes), if any. */
  readonly signature?: string | Uint8Array;
  /** The bank's signature policy. */
  readonly policy: BankSignaturePolicy;
  /** Bank name and settings to import with. */
  readonly target: BankMetadata;
  /** The bank's current entries (empty for a new bank). */
  readonly current: Iterable<CurrentBankEntry>;
  /** The bank's current settings, if it exists. */
  readonly currentMetadata?: BankMetadata;
  /** Import time, epoch ms. */
  readonly nowMs: number;
  /** Parse options. */
  readonly parse?: BankFileParseOptions;
}

/** Result of {@link prepareBankImport}: the diff to publish, or every problem (nothing to publish). */
export type BankImportResult =
  | { readonly ok: true; readonly listVersion: string; readonly contentSha256: string; readonly signature: 'verified' | 'unsigned'; readonly entries: number; readonly diff: BankDiff }
  | { readonly ok: false; readonly errors: readonly BankFileIssue[] };

/**
 * The library half of `safeguard bank import`: checks the signature policy, validates every
 * line, computes the list version and diffs against the current bank. All-or-nothing: any
 * problem yields `ok: false` with every issue (signature problems as line 0) and no updates.
 */
export function prepareBankImport(req: BankImportRequest): BankImportResult {
  let signature: 'verified' | 'unsigned';
  try {
    signature = checkBankFileSignature(req.content, req.signature, req.policy);
  } catch (err) {
    const e = err as SafeguardError;
    return { ok: false, errors: [{ line: 0, code: e.code ?? 'signature_invalid', message: e.message }] };
  }
  const parsed = parseBankFile(req.content, req.format, req.parse);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const listVersion = computeListVersion(parsed.contentSha256, req.nowMs);
  let diff: BankDiff;
  try {
    diff = diffBank(req.current, parsed.entries, { ...req.target, listVersion, nowMs: req.nowMs }, req.currentMetadata);
  } catch (err) {
    const e = err as SafeguardError;
    return { ok: false, errors: [{ line: 0, code: e.code, message: e.message }] };
  }
  return { ok: true, listVersion, contentSha256: parsed.contentSha256, signature, entries: parsed.entries.length, diff };
}
