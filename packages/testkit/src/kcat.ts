import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestkitError, errorMessage } from './errors';
import { integrationEnv } from './integration-env';

/** The kcat binary: `SAFEGUARD_KCAT` if set, else `kcat` on PATH. */
export function kcatBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.SAFEGUARD_KCAT || 'kcat';
}

/** One record header as kcat read it. */
export interface KcatHeader {
  key: string;
  /** Raw header bytes; null for a null header value. */
  value: Buffer | null;
}

/** One record as an independent client (librdkafka through kcat) read it. */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Record timestamp in ms since the epoch, if the broker reported one. */
  timestampMs: number | undefined;
  /** Raw key bytes; null for a null key. */
  key: Buffer | null;
  /** Raw value bytes (e.g. Confluent-framed Avro); null for a tombstone. */
  value: Buffer | null;
  /** Headers in wire order (keys may repeat). */
  headers: KcatHeader[];
}

/** Options of {@link kcatConsume}. */
export interface KcatConsumeOptions {
  topic: string;
  /** How many records to read; the call resolves once it has them. */
  count: number;
  /** Bootstrap servers (comma-separated); default `integrationEnv().brokersCsv`. */
  brokers?: string;
  /** Only this partition; default all. */
  partition?: number;
  /** Where to start: `beginning` (default), `end`, or an absolute offset (needs `partition`). */
  offset?: 'beginning' | 'end' | number;
  /** Deadline in milliseconds; default 30 000. */
  timeoutMs?: number;
}

/**
 * Reads `count` records from a topic with kcat (librdkafka, no consumer group, nothing
 * committed) and returns keys, values and headers as raw bytes with partition and offset.
 *
 * kcat's JSON output (`-J`) escapes only control characters, quotes and backslashes and copies
 * every other byte verbatim, so reading it as latin1 recovers the exact bytes of keys, values
 * and header values; nothing is decoded as text on the way.
 *
 * @throws TestkitError `kcat_timeout` (with the records read so far in the message count) if
 *   fewer than `count` arrive before the deadline, `kcat_failed` if kcat exits with an error
 *   (e.g. unknown topic), `kcat_missing` if kcat is not installed, `invalid_argument` for a bad count/offset.
 */
export function kcatConsume(options: KcatConsumeOptions): Promise<KcatRecord[]> {
  const { topic, count } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new TestkitError('invalid_argument', `kcatConsume count must be a positive integer, got ${count}`);
  }
  const offset = options.offset ?? 'beginning';
  if (typeof offset === 'number' && options.partition === undefined) {
    throw new TestkitError('invalid_argument', 'kcatConsume: an absolute offset needs a partition');
  }
  const brokers = options.brokers ?? integrationEnv().brokersCsv;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = ['-b', brokers, '-C', '-t', topic, '-o', String(offset), '-c', String(count), '-J', '-q'];
  if (options.partition !== undefined) args.push('-p', String(options.partition));

  return new Promise((resolve, reject) => {
    const child = spawn(kcatBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const records: KcatRecord[] = [];
    const stderr: Buffer[] = [];
    let pending = '';
    let settled = false;
    const finish = (err?: TestkitError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(records);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(
        new TestkitError('kcat_timeout', `kcat read ${records.length} of ${count} records from ${topic} within ${timeoutMs} ms (brokers ${brokers})`),
      );
    }, timeoutMs);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim().length === 0) continue;
        try {
          records.push(parseKcatJson(line));
        } catch (e) {
          child.kill('SIGKILL');
          finish(new TestkitError('kcat_failed', `cannot parse kcat output line: ${errorMessage(e)}`, { cause: e }));
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', (e) =>
      finish(new TestkitError('kcat_missing', `cannot run ${kcatBinary()} (run infra/install-system-deps.sh): ${errorMessage(e)}`, { cause: e })),
    );
    child.on('close', (code) => {
      if (code === 0 && records.length >= count) finish();
      else {
        const why = Buffer.concat(stderr).toString('utf8').trim();
        finish(new TestkitError('kcat_failed', `kcat exited ${code} after ${records.length} of ${count} records from ${topic}: ${why || 'no message'}`));
      }
    });
  });
}

/** Parses one line of `kcat -C -J` output that was read as latin1 (see {@link kcatConsume}). */
export function parseKcatJson(latin1Line: string): KcatRecord {
  const raw = JSON.parse(latin1Line) as {
    topic: string;
    partition: number;
    offset: number;
    ts?: number;
    headers?: Array<string | null>;
    key: string | null;
    payload: string | null;
  };
  const bytes = (s: string | null | undefined): Buffer | null => (s === null || s === undefined ? null : Buffer.from(s, 'latin1'));
  const headers: KcatHeader[] = [];
  const flat = raw.headers ?? [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    headers.push({ key: Buffer.from(flat[i] ?? '', 'latin1').toString('utf8'), value: bytes(flat[i + 1]) });
  }
  return {
    topic: Buffer.from(raw.topic, 'latin1').toString('utf8'),
    partition: raw.partition,
    offset: raw.offset,
    timestampMs: raw.ts,
    key: bytes(raw.key),
    value: bytes(raw.payload),
    headers,
  };
}

/** One record for {@link kcatProduce}. */
export interface KcatProduceRecord {
  /** Text key (kcat takes keys as text; no newline or U+001F); omit for a null key. */
  key?: string;
  /** Raw value bytes; null produces a tombstone; an empty value needs a key. */
  value: Uint8Array | string | null;
  /** Text headers. */
  headers?: Record<string, string>;
  /** Target partition; default: librdkafka's partitioner (consistent_random on the key). */
  partition?: number;
}

/** Separates key and value on kcat's stdin for null and empty values. */
const KEY_DELIMITER = '\u001f';

/**
 * Produces records with kcat (librdkafka), one kcat run per record, acks from all in-sync
 * replicas; resolves once kcat has delivered them. Non-empty values go through a file (one file
 * is one message), so any bytes survive; null and empty values go through kcat's key-delimited
 * stdin mode (`-K`, with `-Z` for null). librdkafka's default partitioner differs from Java's
 * and kafkajs's murmur2: give `partition` when placement matters.
 *
 * @param options.brokers - default `integrationEnv().brokersCsv`.
 * @param options.timeoutMs - per record; default 30 000.
 * @throws TestkitError `kcat_failed` / `kcat_timeout` / `kcat_missing`; `invalid_argument` for
 *   an empty value without a key or a key kcat cannot carry.
 */
export async function kcatProduce(options: { topic: string; records: KcatProduceRecord[]; brokers?: string; timeoutMs?: number }): Promise<void> {
  const brokers = options.brokers ?? integrationEnv().brokersCsv;
  const dir = await mkdtemp(join(tmpdir(), 'safeguard-kcat-'));
  try {
    for (const [i, record] of options.records.entries()) {
      if (record.key !== undefined && /[\n\u001f]/.test(record.key)) {
        throw new TestkitError('invalid_argument', `kcatProduce record ${i}: keys may not contain a newline or U+001F`);
      }
      const args = ['-b', brokers, '-P', '-t', options.topic, '-X', 'acks=all', '-q'];
      if (record.partition !== undefined) args.push('-p', String(record.partition));
      for (const [k, v] of Object.entries(record.headers ?? {})) args.push('-H', `${k}=${v}`);
      const bytes = record.value === null ? null : Buffer.from(record.value);
      if (bytes !== null && bytes.length > 0) {
        const file = join(dir, `value-${i}`);
        await writeFile(file, bytes);
        if (record.key !== undefined) args.push('-k', record.key);
        args.push(file);
        await runKcat(args, options.timeoutMs ?? 30_000);
      } else {
        if (bytes !== null && record.key === undefined) {
          throw new TestkitError('invalid_argument', `kcatProduce record ${i}: kcat cannot produce an empty value without a key`);
        }
        args.push('-K', KEY_DELIMITER);
        if (bytes === null) args.push('-Z');
        await runKcat(args, options.timeoutMs ?? 30_000, `${record.key ?? ''}${KEY_DELIMITER}\n`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Broker metadata as kcat sees it (`kcat -L -J`). */
export interface KcatMetadata {
  controllerId: number | undefined;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
}

/**
 * A metadata round trip through an independent client.
 *
 * @param options.topic - ask about one topic only (an unknown topic yields an entry with no partitions).
 * @throws TestkitError `kcat_failed` if the broker does not answer within the deadline (default 15 000 ms).
 */
export async function kcatMetadata(options: { brokers?: string; topic?: string; timeoutMs?: number } = {}): Promise<KcatMetadata> {
  const brokers = options.brokers ?? integrationEnv().brokersCsv;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const args = ['-b', brokers, '-L', '-J', '-m', String(Math.max(1, Math.floor(timeoutMs / 1000)))];
  if (options.topic !== undefined) args.push('-t', options.topic);
  const stdout = await runKcat(args, timeoutMs + 2_000);
  const raw = JSON.parse(stdout) as {
    controllerid?: number;
    brokers?: Array<{ id: number; name: string }>;
    topics?: Array<{ topic: string; partitions?: Array<{ partition: number; leader: number }> }>;
  };
  return {
    controllerId: raw.controllerid,
    brokers: raw.brokers ?? [],
    topics: (raw.topics ?? []).map((t) => ({ topic: t.topic, partitions: (t.partitions ?? []).map((p) => ({ partition: p.partition, leader: p.leader })) })),
  };
}

function runKcat(args: string[], timeoutMs: number, stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kcatBinary(), args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) {
      child.stdin?.on('error', () => undefined); // reported through 'close' / 'error'
      child.stdin?.end(stdin);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new TestkitError('kcat_timeout', `kcat ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (e?: TestkitError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(Buffer.concat(out).toString('utf8'));
    };
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => settle(new TestkitError('kcat_missing', `cannot run ${kcatBinary()} (run infra/install-system-deps.sh): ${errorMessage(e)}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) settle();
      else settle(new TestkitError('kcat_failed', `kcat exited ${code}: ${Buffer.concat(err).toString('utf8').trim() || 'no message'}`));
    });
  });
}
