import { InvalidArgumentError, Option, type Command } from 'commander';
import { createTransport, deadLetterTopic, replayDeadLetters, type DeadLetterInfo, type Transport, type TransportLogger } from '@safeguard/kafka';
import type { CliIo } from '../program';

/** Dead letters of one source topic, counted (what `dlq stats` prints). */
export interface DeadLetterStats {
  /** The source topic. */
  topic: string;
  /** Its dead-letter topic, `<topic>.dlq`. */
  deadLetterTopic: string;
  /** Dead letters of the topic. */
  total: number;
  /** Dead letters by reason code, most frequent first. */
  byReason: Record<string, number>;
  /** Dead letters that were replayed before (and failed again). */
  replayedBefore: number;
  /** When the oldest and the newest failed, epoch ms; absent when there is none. */
  oldestFailedAtMs?: number;
  newestFailedAtMs?: number;
  /** Records in the DLQ without dead-letter headers (not written by the transport). */
  foreign: number;
}

/** Options of {@link scanDeadLetters}. */
export interface ScanOptions {
  transport: Transport;
  /** The source topic (with the deployment's prefix), e.g. `media.content.submitted.v1`. */
  topic: string;
  /** Only these reason codes. Default: all. */
  reasons?: readonly string[];
}

/**
 * Reads the dead letters of `topic` (those in `<topic>.dlq` when the call starts) without
 * changing anything: it runs the transport's replay with a filter that records each dead letter
 * and replays none. Resolves with their headers' information in DLQ order, plus the count of
 * foreign records.
 *
 * @throws TopicNotFoundError (`topic_not_found`) when the topic or its DLQ does not exist; other
 *   transport errors when the broker cannot be reached.
 */
export async function scanDeadLetters(options: ScanOptions): Promise<{ letters: DeadLetterInfo[]; foreign: number }> {
  const letters: DeadLetterInfo[] = [];
  const wanted = options.reasons && options.reasons.length > 0 ? new Set(options.reasons) : undefined;
  const result = await replayDeadLetters(options.transport, {
    topic: options.topic,
    filter: (info) => {
      if (wanted === undefined || wanted.has(info.reason)) letters.push(info);
      return false;
    },
  });
  if (result.replayed !== 0) throw new Error(`internal: a read-only scan replayed ${result.replayed} record(s)`);
  return { letters, foreign: result.foreign };
}

/** Counts dead letters by reason (most frequent first, then by name). */
export function summarizeDeadLetters(topic: string, letters: readonly DeadLetterInfo[], foreign: number): DeadLetterStats {
  const counts = new Map<string, number>();
  for (const l of letters) counts.set(l.reason, (counts.get(l.reason) ?? 0) + 1);
  const byReason = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  const times = letters.map((l) => l.failedAtMs).filter((t) => t > 0);
  return {
    topic,
    deadLetterTopic: deadLetterTopic(topic),
    total: letters.length,
    byReason,
    replayedBefore: letters.filter((l) => l.replays > 0).length,
    ...(times.length > 0 ? { oldestFailedAtMs: Math.min(...times), newestFailedAtMs: Math.max(...times) } : {}),
    foreign,
  };
}

/** One dead letter as `dlq list` prints it: where it came from and why it failed, never its value. */
export function deadLetterLine(info: DeadLetterInfo): Record<string, unknown> {
  return {
    reason: info.reason,
    sourcePartition: info.sourcePartition,
    sourceOffset: info.sourceOffset,
    attempts: info.attempts,
    failedAt: info.failedAtMs > 0 ? new Date(info.failedAtMs).toISOString() : null,
    errorClass: info.errorClass ?? null,
    errorMessage: info.errorMessage ?? null,
    service: info.service ?? null,
    group: info.group ?? null,
    replays: info.replays,
  };
}

/** Options of {@link replayTopicDeadLetters}. */
export interface DlqReplayOptions extends ScanOptions {
  /** Count what would be replayed, replay nothing. */
  dryRun?: boolean;
  /** Replay at most this many. */
  limit?: number;
}

/** What `dlq replay` did (or, with `dryRun`, would do). */
export interface DlqReplayResult {
  topic: string;
  dryRun: boolean;
  /** Records re-published to the topic (dry run: that would be). */
  replayed: number;
  /** Of those, by reason code. */
  byReason: Record<string, number>;
  /** Dead letters left in the DLQ (other reasons, or beyond the limit). */
  skipped: number;
  foreign: number;
}

/**
 * Replays the dead letters of `topic` (optionally only some reasons, at most `limit`) to the
 * topic with `replayDeadLetters`: original bytes, key and headers, `safeguard.dlq.replays` raised.
 * The DLQ is not changed, so replaying twice replays twice (handlers are idempotent). With
 * `dryRun` nothing is published and the result says what would be.
 *
 * @throws TopicNotFoundError (`topic_not_found`) when the topic or its DLQ does not exist.
 */
export async function replayTopicDeadLetters(options: DlqReplayOptions): Promise<DlqReplayResult> {
  const wanted = options.reasons && options.reasons.length > 0 ? new Set(options.reasons) : undefined;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const chosen: DeadLetterInfo[] = [];
  let skipped = 0;
  const result = await replayDeadLetters(options.transport, {
    topic: options.topic,
    filter: (info) => {
      const take = (wanted === undefined || wanted.has(info.reason)) && chosen.length < limit;
      if (take) chosen.push(info);
      else skipped++;
      return take && !options.dryRun;
    },
  });
  const byReason = summarizeDeadLetters(options.topic, chosen, 0).byReason;
  return { topic: options.topic, dryRun: options.dryRun === true, replayed: options.dryRun ? chosen.length : result.replayed, byReason, skipped, foreign: result.foreign };
}

function stderrLogger(io: CliIo): TransportLogger {
  const line = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    const { error: _e, err: _r, ...rest } = obj;
    io.stderr.write(`${JSON.stringify({ level, msg, ...rest })}\n`);
  };
  return { info: () => undefined, warn: line('warn'), error: line('error') };
}

interface ConnectionOptions {
  topic: string;
  brokers?: string;
  registry?: string;
  timeoutMs: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/**
 * `safeguard dlq stats|list|replay --topic SOURCE [--brokers H:P,...] [--registry URL]`: inspect
 * and replay a dead-letter topic (`<topic>.dlq`, written by the transport with the
 * `safeguard.dlq.*` headers). `--topic` is the source topic with the deployment's prefix.
 *
 * - `stats` prints `{"topic","deadLetterTopic","total","byReason":{code:n},"replayedBefore",...}`.
 * - `list [--reason CODE]... [--limit N]` prints one JSON line per dead letter (partition, offset,
 *   reason, attempts, time, error class and message; never the value).
 * - `replay [--reason CODE]... [--limit N] [--dry-run]` re-publishes them to the topic and prints
 *   `{"replayed","byReason","skipped","foreign"}`; `--dry-run` publishes nothing.
 *
 * Brokers and registry default to `KAFKA_BROKERS` and `SCHEMA_REGISTRY_URL`. Exit 0 on success,
 * 2 when the topic or its DLQ does not exist or the broker cannot be reached; 1 for invalid arguments.
 */
export const registerDlq = (program: Command, io: CliIo, exit: { code: number }): void => {
  const dlq = program.command('dlq').description('Inspect and replay dead-letter topics (<topic>.dlq)');
  const connection = (cmd: Command): Command =>
    cmd
      .requiredOption('--topic <name>', 'source topic whose <topic>.dlq to read (with the deployment prefix)')
      .addOption(new Option('--brokers <list>', 'Kafka bootstrap brokers, host:port,...').env('KAFKA_BROKERS'))
      .addOption(new Option('--registry <url>', 'schema registry URL, Confluent API').env('SCHEMA_REGISTRY_URL'))
      .option('--timeout-ms <ms>', 'deadline for the whole command', positiveInt, 120_000);
  const collect = (value: string, previous: string[]): string[] => [...previous, value];

  async function withTransport<T>(opts: ConnectionOptions, work: (transport: Transport) => Promise<T>): Promise<T | undefined> {
    const fail = (code: string, message: string): undefined => {
      io.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
      exit.code = 2;
      return undefined;
    };
    const brokers = (opts.brokers ?? '').split(',').map((b) => b.trim()).filter(Boolean);
    if (brokers.length === 0) return fail('brokers_required', 'give --brokers or set KAFKA_BROKERS');
    if (!opts.registry) return fail('registry_required', 'give --registry or set SCHEMA_REGISTRY_URL');
    const transport = createTransport({ kind: 'kafka', brokers, clientId: 'safeguard-cli', schemaRegistryUrl: opts.registry, logger: stderrLogger(io), autoRegisterSchemas: false });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work(transport),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`the command took longer than ${opts.timeoutMs} ms`), { code: 'timeout' })), opts.timeoutMs);
        }),
      ]);
    } catch (err) {
      const e = err as { code?: unknown; message?: string };
      const code = typeof e.code === 'string' ? e.code : 'internal_error';
      const message = code === 'topic_not_found' ? `${e.message ?? 'topic not found'} (the topic, or ${deadLetterTopic(opts.topic)}, does not exist)` : (e.message ?? String(err));
      return fail(code, message);
    } finally {
      clearTimeout(timer);
      await transport.close();
    }
  }

  connection(dlq.command('stats').description('Count the dead letters of a topic by reason code')).action(
    async (opts: ConnectionOptions) => {
      const scan = await withTransport(opts, (transport) => scanDeadLetters({ transport, topic: opts.topic }));
      if (scan) io.stdout.write(`${JSON.stringify(summarizeDeadLetters(opts.topic, scan.letters, scan.foreign))}\n`);
    },
  );

  connection(dlq.command('list').description('List dead letters (one JSON line each: where from, why; never the value)'))
    .option('--reason <code>', 'only this reason code (repeatable)', collect, [] as string[])
    .option('--limit <n>', 'print at most N', positiveInt)
    .action(
      async (opts: ConnectionOptions & { reason: string[]; limit?: number }) => {
        const scan = await withTransport(opts, (transport) => scanDeadLetters({ transport, topic: opts.topic, reasons: opts.reason }));
        if (!scan) return;
        for (const info of scan.letters.slice(0, opts.limit ?? scan.letters.length)) io.stdout.write(`${JSON.stringify(deadLetterLine(info))}\n`);
      },
    );

  connection(dlq.command('replay').description('Re-publish dead letters to their topic (after the cause is fixed)'))
    .option('--reason <code>', 'only this reason code (repeatable)', collect, [] as string[])
    .option('--limit <n>', 'replay at most N', positiveInt)
    .option('--dry-run', 'print what would be replayed, publish nothing', false)
    .action(
      async (opts: ConnectionOptions & { reason: string[]; limit?: number; dryRun: boolean }) => {
        const result = await withTransport(opts, (transport) =>
          replayTopicDeadLetters({ transport, topic: opts.topic, reasons: opts.reason, dryRun: opts.dryRun, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) }),
        );
        if (result) io.stdout.write(`${JSON.stringify(result)}\n`);
      },
    );
};
