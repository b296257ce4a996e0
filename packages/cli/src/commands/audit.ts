import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { createTransport, type Transport, type TransportLogger } from '@safeguard/kafka';
import {
  loadPublicKey,
  parseAuditJsonLines,
  verifyAuditChain,
  verifyAuditEventRecords,
  verifySignedAuditHead,
  type AuditHead,
  type AuditVerification,
  type SignedAuditHead,
} from '@safeguard/reporting';
import { renameTopic, topics } from '@safeguard/schemas';
import type { CliIo } from '../program';

/** Outcome of {@link verifyAuditTopic}: the verification plus the topic offset of a failure. */
export type AuditTopicVerification = AuditVerification & { topic: string; offset?: string };

/** Options of {@link verifyAuditTopic}. */
export interface VerifyAuditTopicOptions {
  transport: Transport;
  /** The audit topic (`audit.decision.recorded.v1`, with the deployment's prefix). */
  topic: string;
  /** The chain the records must belong to; default the first record's. */
  chainId?: string;
  /**
   * A trusted head (from a signed head): the chain must hold it at its sequence number, so
   * dropped or re-hashed records up to it are caught; records after it are checked by their links.
   */
  expectedHead?: AuditHead;
  /** Deadline for reading the topic, ms. Default 60000. */
  timeoutMs?: number;
}

/**
 * Reads an audit topic from the beginning (its one partition, in order) and verifies the chain
 * with `verifyAuditEventRecords`: every record belongs to the chain, carries its derived record
 * id, hashes to its own hash and links to its predecessor without gaps. Records that cannot be
 * decoded, tombstones and a topic with more than one partition fail verification too.
 * Transport errors propagate (the command maps them to exit 2).
 */
export async function verifyAuditTopic(options: VerifyAuditTopicOptions): Promise<AuditTopicVerification> {
  const { transport, topic } = options;
  const admin = transport.admin();
  const partitions = await admin.partitionCount(topic);
  if (partitions !== 1) {
    return { ok: false, count: 0, index: 0, reason: 'malformed_record', message: `the audit topic must have exactly one partition (it has ${partitions}): order is defined per partition`, topic };
  }
  const [offsets] = await admin.listOffsets(topic);
  const expected = Number(offsets!.high) - Number(offsets!.low);
  const values: unknown[] = [];
  const positions: string[] = [];
  let failed: Error | undefined;
  const reader = await transport.reader({
    binding: renameTopic(topics.auditRecorded, topic),
    handle: (m) => {
      values.push(m.value);
      positions.push(m.offset);
    },
    onError: (err) => (failed = err),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      reader.caughtUp(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`reading ${topic} took longer than ${options.timeoutMs ?? 60_000} ms`), { code: 'read_timeout' })), options.timeoutMs ?? 60_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await reader.stop();
  }
  if (failed) throw failed;
  const read = values.slice(0, expected);
  const v = verifyAuditEventRecords(read, options.chainId ? { chainId: options.chainId } : {});
  if (!v.ok) return { ...v, topic, ...(v.index < positions.length ? { offset: positions[v.index]! } : {}) };
  if (values.length < expected) {
    // The reader skips records it cannot decode: the chain read is shorter than the partition.
    return { ok: false, count: values.length, index: values.length, reason: 'malformed_record', message: `${expected - values.length} record(s) of the topic could not be decoded`, topic };
  }
  const head = options.expectedHead;
  if (head) {
    // The topic keeps growing after a head is signed: the head must be in the chain, at its place.
    const at = read[head.seq] as { sequence?: number; hash?: string } | undefined;
    if (!at || at.sequence !== head.seq || at.hash !== head.hash) {
      const index = Math.min(head.seq, read.length);
      return {
        ok: false,
        count: read.length,
        index,
        reason: 'head_mismatch',
        message: at ? `the record at the signed head (seq ${head.seq}) differs from it` : `the topic ends at ${read.length} record(s), before the signed head at seq ${head.seq} (records dropped)`,
        topic,
        ...(index < positions.length ? { offset: positions[index]! } : {}),
      };
    }
  }
  return { ...v, topic };
}

function stderrLogger(io: CliIo): TransportLogger {
  const line = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    const { error: _e, err: _r, ...rest } = obj;
    io.stderr.write(`${JSON.stringify({ level, msg, ...rest })}\n`);
  };
  return { info: () => undefined, warn: line('warn'), error: line('error') };
}

async function trustedHead(opts: { head?: string; publicKey?: string }): Promise<AuditHead | undefined> {
  if (!opts.head) return undefined;
  if (!opts.publicKey) throw Object.assign(new Error('--head needs --public-key'), { code: 'key_required' });
  const signed = JSON.parse(await readFile(opts.head, 'utf8')) as SignedAuditHead;
  return verifySignedAuditHead(signed, loadPublicKey(await readFile(opts.publicKey)));
}

/**
 * `safeguard audit verify FILE.jsonl [--head HEAD.json --public-key KEY]` checks a hash-chained
 * audit log (one JSON record per line). Prints `{"ok":true,"count","head"}` and exits 0, or
 * `{"ok":false,"line","seq","reason","message"}` and exits 1 naming the first broken line.
 *
 * `safeguard audit verify --topic NAME [--brokers H:P,...] [--registry URL] [--chain-id ID]`
 * reads the reporter's audit topic (brokers and registry default to `KAFKA_BROKERS` and
 * `SCHEMA_REGISTRY_URL`) and answers the same way, with the record's `offset` instead of a line.
 *
 * With a signed head (from the reporter's `GET /v1/audit/head`, or `signAuditHead`) dropped or
 * re-hashed trailing records are caught too: a file must end at the head; a topic, which keeps
 * growing, must hold the head at its sequence number. Unreadable input or an unreachable broker: exit 2.
 */
export const registerAudit = (program: Command, io: CliIo, exit: { code: number }): void => {
  const audit = program.command('audit').description('Audit log tools');
  audit
    .command('verify')
    .description('Verify a hash-chained audit log (JSON lines file, or the audit topic with --topic): exit 0 when intact, 1 naming the first broken record')
    .argument('[file]', 'audit records, one JSON object per line')
    .option('--topic <name>', 'read the audit topic (e.g. audit.decision.recorded.v1 with its prefix) instead of a file')
    .addOption(new Option('--brokers <list>', 'Kafka bootstrap brokers, host:port,... (with --topic)').env('KAFKA_BROKERS'))
    .addOption(new Option('--registry <url>', 'schema registry URL, Confluent API (with --topic)').env('SCHEMA_REGISTRY_URL'))
    .option('--chain-id <id>', 'the chain id the records must carry (with --topic); default the first record\'s')
    .option('--timeout-ms <ms>', 'deadline for reading the topic', (v) => Number.parseInt(v, 10), 60_000)
    .option('--head <file>', 'signed chain head (JSON) the log must end at; needs --public-key')
    .option('--public-key <file>', 'Ed25519 public key (SPKI PEM) that signed the head')
    .action(
      async (
        file: string | undefined,
        opts: { head?: string; publicKey?: string; topic?: string; brokers?: string; registry?: string; chainId?: string; timeoutMs: number },
      ) => {
        const fail = (code: string, message: string, status = 2): void => {
          io.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
          exit.code = status;
        };
        if ((file === undefined) === (opts.topic === undefined)) return fail('invalid_arguments', 'give a FILE or --topic, not both');
        try {
          const expectedHead = await trustedHead(opts);
          if (opts.topic !== undefined) {
            const brokers = (opts.brokers ?? '').split(',').map((b) => b.trim()).filter(Boolean);
            if (brokers.length === 0) return fail('brokers_required', '--topic needs --brokers or KAFKA_BROKERS');
            if (!opts.registry) return fail('registry_required', '--topic needs --registry or SCHEMA_REGISTRY_URL');
            if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs <= 0) return fail('invalid_arguments', '--timeout-ms must be a positive integer');
            const transport = createTransport({ kind: 'kafka', brokers, clientId: 'safeguard-cli', schemaRegistryUrl: opts.registry, logger: stderrLogger(io), autoRegisterSchemas: false });
            try {
              const v = await verifyAuditTopic({ transport, topic: opts.topic, timeoutMs: opts.timeoutMs, ...(opts.chainId ? { chainId: opts.chainId } : {}), ...(expectedHead ? { expectedHead } : {}) });
              if (v.ok) {
                io.stdout.write(`${JSON.stringify({ ok: true, topic: v.topic, count: v.count, ...(v.head ? { head: v.head } : {}) })}\n`);
              } else {
                io.stdout.write(`${JSON.stringify({ ok: false, topic: v.topic, offset: v.offset ?? 'end', ...(v.seq !== undefined ? { seq: v.seq } : {}), reason: v.reason, message: v.message })}\n`);
                exit.code = 1;
              }
            } finally {
              await transport.close();
            }
            return;
          }
          const { records, lineNumbers } = parseAuditJsonLines(await readFile(file!, 'utf8'));
          const v = verifyAuditChain(records, expectedHead ? { expectedHead } : {});
          if (v.ok) {
            io.stdout.write(`${JSON.stringify({ ok: true, count: v.count, ...(v.head ? { head: v.head } : {}) })}\n`);
            return;
          }
          const line = v.index < lineNumbers.length ? lineNumbers[v.index] : undefined;
          io.stdout.write(`${JSON.stringify({ ok: false, ...(line !== undefined ? { line } : { line: 'end' }), ...(v.seq !== undefined ? { seq: v.seq } : {}), reason: v.reason, message: v.message })}\n`);
          exit.code = 1;
        } catch (err) {
          const e = err as { code?: unknown; message?: string };
          const code = typeof e.code === 'string' ? (e.code === 'ENOENT' ? 'file_not_found' : e.code) : err instanceof SyntaxError ? 'invalid_json' : 'internal_error';
          fail(code, e.message ?? String(err), code === 'signature_invalid' || code === 'audit_chain_broken' ? 1 : 2);
        }
      },
    );
};
