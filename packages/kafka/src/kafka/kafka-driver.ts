import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type {
  Admin as KafkaAdmin,
  Batch,
  Consumer as KafkaConsumer,
  EachBatchPayload,
  IHeaders,
  LogEntry,
  Producer as KafkaProducer,
  SASLOptions,
} from 'kafkajs';
import { SafeguardError, TransientError } from '@safeguard/domain';
import { partitionForKey } from '../codec/murmur2';
import type {
  ConsumerSession,
  Driver,
  ProcessFn,
  RawMessage,
  RawRecord,
  ReaderSession,
  SessionHandlers,
  SessionOptions,
} from '../core/driver';
import { tpKey } from '../core/driver';
import { decodeHeaders, encodeHeaders } from '../core/headers';
import { errorFields } from '../core/logger';
import { TopicNotFoundError, TransportErrorCodes } from '../errors';
import { ConfluentSchemaRegistryClient } from '../registry/confluent-schema-registry';
import type { SchemaRegistryClient } from '../registry/schema-registry';
import type { Admin, EnsureTopicsResult, PartitionOffsets, RecordPosition, TopicPartition, TopicSpec, TransportLogger } from '../types';

/** Connection settings of the kafka driver (see `KafkaTransportConfig` for the documentation). */
export interface KafkaDriverOptions {
  brokers: string[];
  clientId: string;
  schemaRegistryUrl: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  fetchMaxWaitMs: number;
  idempotent: boolean;
  logger: TransportLogger;
}

/** Routes kafkajs log lines at warn and above to our logger, with the few fields that help and no payloads. */
function logCreator(logger: TransportLogger) {
  const keep = ['broker', 'clientId', 'groupId', 'memberId', 'topic', 'partition', 'retryCount', 'retryTime', 'error'];
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const fields: Record<string, unknown> = { component: 'kafkajs', namespace };
      for (const k of keep) if (log[k] !== undefined) fields[k] = log[k];
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(fields, log.message);
      else if (level === logLevel.WARN) logger.warn(fields, log.message);
    };
}

/** Wraps a kafkajs error into a Safeguard error, by name and `retriable`, never by message. */
function wrapKafkaError(err: unknown, what: string, topic?: string): Error {
  if (err instanceof SafeguardError) return err;
  const e = err as { name?: string; type?: string; retriable?: boolean; cause?: unknown };
  if (topic && (e.type === 'UNKNOWN_TOPIC_OR_PARTITION' || (e.cause as { type?: string } | undefined)?.type === 'UNKNOWN_TOPIC_OR_PARTITION')) {
    return new TopicNotFoundError(topic, { cause: err });
  }
  const code = what === 'produce' ? TransportErrorCodes.produceFailed : TransportErrorCodes.kafkaError;
  const message = `${what} failed${topic ? ` for ${topic}` : ''}`;
  const retriable = e.retriable === true || e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSRequestTimeoutError';
  return retriable ? new TransientError(code, message, { cause: err }) : new SafeguardError(code, message, { cause: err, retriable: false });
}

/** The kafkajs driver. Producer and admin connect lazily and are shared. */
export class KafkaDriver implements Driver {
  readonly kind = 'kafka' as const;
  readonly registry: SchemaRegistryClient;
  readonly admin: Admin;
  private readonly kafka: Kafka;
  private producerConnection: Promise<KafkaProducer> | undefined;
  private adminConnection: Promise<KafkaAdmin> | undefined;

  constructor(private readonly options: KafkaDriverOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl as SASLOptions | undefined,
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      logLevel: logLevel.WARN,
      logCreator: logCreator(options.logger),
    });
    this.registry = new ConfluentSchemaRegistryClient({ url: options.schemaRegistryUrl, clientId: options.clientId });
    this.admin = new KafkaAdminAdapter(() => this.connectedAdmin(), options.logger);
  }

  private connectedProducer(): Promise<KafkaProducer> {
    if (!this.producerConnection) {
      const producer = this.kafka.producer({
        idempotent: this.options.idempotent,
        allowAutoTopicCreation: false,
        // Partitions are chosen before the send (same murmur2 as Kafka's default); this only
        // covers records without one and silences kafkajs's partitioner-change warning.
        createPartitioner: () => ({ message, partitionMetadata }) =>
          message.key ? partitionForKey(Buffer.from(message.key), partitionMetadata.length) : 0,
      });
      const pending = producer.connect().then(() => producer);
      this.producerConnection = pending;
      pending.catch(() => {
        if (this.producerConnection === pending) this.producerConnection = undefined;
      });
    }
    return this.producerConnection;
  }

  private connectedAdmin(): Promise<KafkaAdmin> {
    if (!this.adminConnection) {
      const admin = this.kafka.admin();
      const pending = admin.connect().then(() => admin);
      this.adminConnection = pending;
      pending.catch(() => {
        if (this.adminConnection === pending) this.adminConnection = undefined;
      });
    }
    return this.adminConnection;
  }

  async send(topic: string, records: readonly RawRecord[]): Promise<RecordPosition[]> {
    let metadata;
    try {
      const producer = await this.connectedProducer();
      metadata = await producer.send({
        topic,
        acks: -1,
        timeout: this.options.requestTimeoutMs,
        messages: records.map((r) => ({
          key: r.key,
          value: r.value,
          partition: r.partition,
          headers: encodeHeaders(r.headers),
          timestamp: r.timestampMs !== undefined ? String(r.timestampMs) : undefined,
        })),
      });
    } catch (err) {
      throw wrapKafkaError(err, 'produce', topic);
    }
    // Records of one partition go out in one batch, in order: their offsets follow the base offset.
    const base = new Map<number, bigint>();
    for (const m of metadata) base.set(m.partition, BigInt(m.baseOffset ?? m.offset ?? '-1'));
    const seen = new Map<number, bigint>();
    return records.map((r) => {
      const index = seen.get(r.partition) ?? 0n;
      seen.set(r.partition, index + 1n);
      return { topic, partition: r.partition, offset: String((base.get(r.partition) ?? -1n) + index) };
    });
  }

  async disconnectProducer(): Promise<void> {
    const pending = this.producerConnection;
    this.producerConnection = undefined;
    if (pending) await (await pending.catch(() => undefined))?.disconnect();
  }

  consumerSession(options: SessionOptions): ConsumerSession {
    return new KafkaConsumerSession(this.kafka, options, this.options);
  }

  readerSession(options: { heartbeatIntervalMs: number; stopTimeoutMs: number }): ReaderSession {
    return new KafkaReaderSession(this.kafka, options, this.options);
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.disconnectProducer(),
      (async () => {
        const pending = this.adminConnection;
        this.adminConnection = undefined;
        if (pending) await (await pending.catch(() => undefined))?.disconnect();
      })(),
    ]);
  }
}

class KafkaAdminAdapter implements Admin {
  constructor(private readonly admin: () => Promise<KafkaAdmin>, private readonly logger: TransportLogger) {}

  private async call<T>(what: string, fn: (admin: KafkaAdmin) => Promise<T>, topic?: string): Promise<T> {
    try {
      return await fn(await this.admin());
    } catch (err) {
      throw wrapKafkaError(err, what, topic);
    }
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const existingNames = new Set(await this.listTopics());
    const result: EnsureTopicsResult = { created: [], existing: [] };
    const missing = specs.filter((s) => !existingNames.has(s.topic));
    for (const s of specs) if (existingNames.has(s.topic)) result.existing.push(s.topic);
    if (missing.length > 0) {
      await this.call('create topics', (a) =>
        a.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.topic,
            numPartitions: s.partitions ?? 1,
            replicationFactor: s.replicationFactor ?? -1,
            configEntries: topicConfigEntries(s),
          })),
        }),
      ).catch((err: unknown) => {
        // Someone else created one of them in between: fine, they exist now.
        const cause = (err as { cause?: { type?: string; errors?: Array<{ type?: string }> } }).cause;
        const races = cause?.type === 'TOPIC_ALREADY_EXISTS' || (cause?.errors ?? []).every((e) => e.type === 'TOPIC_ALREADY_EXISTS');
        if (!races) throw err;
      });
      // Leaders are elected; make sure the metadata of every new topic is visible before returning.
      const after = new Set(await this.listTopics());
      for (const s of missing) (after.has(s.topic) ? result.created : result.existing).push(s.topic);
    }
    for (const s of specs) {
      if (!result.existing.includes(s.topic) || s.partitions === undefined) continue;
      const actual = await this.partitionCount(s.topic);
      if (actual !== s.partitions) this.logger.warn({ topic: s.topic, expected: s.partitions, actual }, 'existing topic has a different partition count');
    }
    return result;
  }

  async listTopics(): Promise<string[]> {
    const names = await this.call('list topics', (a) => a.listTopics());
    return names.filter((n) => !n.startsWith('__'));
  }

  async partitionCount(topic: string): Promise<number> {
    if (!(await this.call('list topics', (a) => a.listTopics())).includes(topic)) throw new TopicNotFoundError(topic);
    const md = await this.call('fetch metadata', (a) => a.fetchTopicMetadata({ topics: [topic] }), topic);
    const t = md.topics.find((x) => x.name === topic);
    if (!t) throw new TopicNotFoundError(topic);
    return t.partitions.length;
  }

  async listOffsets(topic: string): Promise<PartitionOffsets[]> {
    const count = await this.partitionCount(topic);
    // Right after a topic is created, kafkajs's cached metadata can lack some partitions and its
    // fetchTopicOffsets then fails or answers for fewer partitions: ask again a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await this.call('fetch offsets', (a) => a.fetchTopicOffsets(topic), topic);
        if (offsets.length === count) {
          return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high })).sort((a, b) => a.partition - b.partition);
        }
        if (attempt >= 5) throw new TransientError(TransportErrorCodes.kafkaError, `offsets of ${topic} cover ${offsets.length} of ${count} partitions`);
      } catch (err) {
        if (attempt >= 5 || err instanceof TopicNotFoundError) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>> {
    const res = await this.call('fetch committed offsets', (a) => a.fetchOffsets({ groupId, topics: [topic] }), topic);
    const partitions = res.find((t) => t.topic === topic)?.partitions ?? [];
    return partitions.filter((p) => Number(p.offset) >= 0).map((p) => ({ partition: p.partition, offset: p.offset }));
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    const existing = new Set(await this.listTopics());
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) await this.call('delete topics', (a) => a.deleteTopics({ topics: doomed }));
  }
}

function topicConfigEntries(spec: TopicSpec): Array<{ name: string; value: string }> {
  const entries: Record<string, string> = { ...(spec.config ?? {}) };
  entries['cleanup.policy'] = spec.cleanupPolicy ?? 'delete';
  if (spec.retentionMs !== undefined) entries['retention.ms'] = String(spec.retentionMs);
  return Object.entries(entries).map(([name, value]) => ({ name, value }));
}

function toRaw(batch: Batch, message: Batch['messages'][number]): RawMessage {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: decodeHeaders(message.headers as IHeaders | undefined),
    timestampMs: Number(message.timestamp),
    highWatermark: batch.highWatermark,
  };
}

/** Converts kafkajs's `{ topic: partitions[] }` to a flat list. */
function flatten(assignment: Record<string, number[]> | undefined): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const [topic, partitions] of Object.entries(assignment ?? {})) for (const partition of partitions) out.push({ topic, partition });
  return out;
}

/**
 * A group member on kafkajs: `eachBatch` without auto-resolve, so an offset is resolved only after
 * the policy said `done`, and committed at least every `commitIntervalMs` and at the end of each
 * batch. A paused message stays unresolved: after `resume` the fetch starts from it again.
 */
class KafkaConsumerSession implements ConsumerSession {
  private readonly consumer: KafkaConsumer;
  private handlers: SessionHandlers | undefined;
  private current: TopicPartition[] = [];
  private gate: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private stopRequested = false;
  private readonly abort = new AbortController();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private joined: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Paused partitions; an already fetched batch stops at the first message of a paused partition. */
  private readonly paused = new Set<string>();

  constructor(kafka: Kafka, private readonly options: SessionOptions, private readonly driver: KafkaDriverOptions) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(options.sessionTimeoutMs, 60_000),
      maxWaitTimeInMs: driver.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => this.onJoin(flatten(event.payload.memberAssignment)));
    this.consumer.on(CRASH, (event) => {
      const error = event.payload.error instanceof Error ? event.payload.error : new Error(String(event.payload.error));
      if (event.payload.restart) {
        this.driver.logger.warn({ groupId: options.groupId, ...errorFields(error) }, 'consumer restarting after a client error');
        return;
      }
      this.joined?.reject(wrapKafkaError(error, 'consume'));
      if (!this.stopRequested) this.handlers?.onCrash(wrapKafkaError(error, 'consume'));
    });
  }

  private onJoin(next: TopicPartition[]): void {
    const handlers = this.handlers;
    if (!handlers) return;
    const nextKeys = new Set(next.map((tp) => tpKey(tp.topic, tp.partition)));
    const prevKeys = new Set(this.current.map((tp) => tpKey(tp.topic, tp.partition)));
    const revoked = this.current.filter((tp) => !nextKeys.has(tpKey(tp.topic, tp.partition)));
    const added = next.filter((tp) => !prevKeys.has(tpKey(tp.topic, tp.partition)));
    this.current = next;
    const previous = this.gate;
    // Messages wait for this gate, so a partition's state is restored before its first message.
    this.gate = (async () => {
      await previous.catch(() => undefined);
      if (revoked.length > 0) await handlers.onRevoked(revoked);
      if (added.length > 0) await handlers.onAssigned(added);
    })();
    this.gate.catch(() => {
      // onPartitionsAssigned failed for good (the crash is reported by the policy layer): stop
      // fetching instead of re-fetching the same unhandled batch in a loop.
      this.consumer.pause(handlers.topics.map((topic) => ({ topic })));
    });
    const joined = this.joined;
    this.joined = undefined;
    joined?.resolve();
  }

  async start(handlers: SessionHandlers): Promise<void> {
    this.handlers = handlers;
    const joined = new Promise<void>((resolve, reject) => {
      this.joined = { resolve, reject };
    });
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: handlers.topics, fromBeginning: this.options.fromBeginning });
      await this.consumer.run({
        autoCommit: true,
        autoCommitInterval: this.options.commitIntervalMs,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.concurrency,
        eachBatch: (payload) => this.eachBatch(payload, handlers.process),
      });
    } catch (err) {
      await this.consumer.disconnect().catch(() => undefined);
      throw wrapKafkaError(err, 'consumer start', handlers.topics[0]);
    }
    await joined;
    await this.gate;
  }

  private async eachBatch(payload: EachBatchPayload, process: ProcessFn): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    this.inFlight++;
    try {
      try {
        await this.gate;
      } catch {
        return; // onAssigned failed for good: the consumer has crashed; handle nothing.
      }
      for (const message of batch.messages) {
        if (this.stopRequested || !isRunning() || isStale() || this.paused.has(tpKey(batch.topic, batch.partition))) break;
        const result = await process(toRaw(batch, message), { heartbeat, signal: this.abort.signal });
        if (result === 'done') {
          resolveOffset(message.offset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        } else {
          // 'pause': the policy paused the partition already (so a resume() racing with this
          // stays effective); the unresolved message is fetched again after the resume.
          break;
        }
      }
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tpKey(tp.topic, tp.partition));
    for (const [topic, ps] of groupByTopic(partitions)) this.consumer.pause([{ topic, partitions: ps }]);
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(tpKey(tp.topic, tp.partition));
    for (const [topic, ps] of groupByTopic(partitions)) this.consumer.resume([{ topic, partitions: ps }]);
  }

  assignment(): TopicPartition[] {
    return this.current.map((tp) => ({ ...tp }));
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopRequested = true;
    this.abort.abort();
    const deadline = Date.now() + this.options.stopTimeoutMs;
    // 1. Let the in-flight message finish (its offset is resolved, then committed by kafkajs).
    if (this.inFlight > 0) {
      await withTimeout(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), deadline - Date.now());
    }
    // 2. Revoke before leaving, so the next owner starts after our state was flushed.
    const revoked = this.assignment();
    if (revoked.length > 0 && this.handlers) {
      await withTimeout(this.handlers.onRevoked(revoked).catch(() => undefined), Math.max(0, deadline - Date.now()));
    }
    this.current = [];
    // 3. Commit what is resolved, leave the group, disconnect.
    await withTimeout(
      (async () => {
        await this.consumer.stop().catch(() => undefined);
        await this.consumer.disconnect().catch(() => undefined);
      })(),
      Math.max(1_000, deadline - Date.now()),
    );
  }
}

/**
 * Reads all partitions of a topic with a throw-away group id (kafkajs has no group-less assign),
 * from the beginning, never committing.
 */
class KafkaReaderSession implements ReaderSession {
  private consumer: KafkaConsumer | undefined;
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly kafka: Kafka, private readonly options: { heartbeatIntervalMs: number; stopTimeoutMs: number }, private readonly driver: KafkaDriverOptions) {}

  async start(topic: string, process: ProcessFn, onCrash: (error: Error) => void, only?: readonly number[]): Promise<void> {
    const wanted = only ? new Set(only) : undefined;
    const consumer = this.kafka.consumer({
      groupId: `${this.driver.clientId}.reader.${randomUUID()}`,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      maxWaitTimeInMs: this.driver.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.stopped) onCrash(wrapKafkaError(event.payload.error, 'read', topic));
    });
    if (wanted) {
      // The throw-away group assigns every partition to this one member; stop fetching the others.
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const unwanted = flatten(event.payload.memberAssignment).filter((tp) => !wanted.has(tp.partition));
        if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted.map((tp) => tp.partition) }]);
      });
    }
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (wanted && !wanted.has(batch.partition)) return; // fetched before the pause below took effect
          for (const message of batch.messages) {
            if (this.stopped || !isRunning() || isStale()) break;
            const result = await process(toRaw(batch, message), { heartbeat, signal: this.abort.signal });
            if (result !== 'done') break;
            resolveOffset(message.offset);
            await heartbeat();
          }
        },
      });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw wrapKafkaError(err, 'reader start', topic);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    const consumer = this.consumer;
    if (!consumer) return;
    await withTimeout(
      (async () => {
        await consumer.stop().catch(() => undefined);
        await consumer.disconnect().catch(() => undefined);
      })(),
      this.options.stopTimeoutMs,
    );
  }
}

function groupByTopic(partitions: TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const tp of partitions) out.set(tp.topic, [...(out.get(tp.topic) ?? []), tp.partition]);
  return out;
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, ms));
      timer.unref?.();
    }),
  ]);
  clearTimeout(timer);
}
