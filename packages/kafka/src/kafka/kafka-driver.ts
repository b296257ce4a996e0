import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type {
  Admin as KafkaAdmin,
  Batch,
  Consumer as KafkaConsumer,
  EachBatchPayload,
  IHeaders,
  KafkaConfig,
  LogEntry,
  PartitionMetadata,
  Producer as KafkaProducer,
  RecordMetadata,
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
import { tpKey, UnsentRecordsError } from '../core/driver';
import { decodeHeaders, encodeHeaders } from '../core/headers';
import { errorFields } from '../core/logger';
import { TopicNotFoundError, TransportConfigError, TransportErrorCodes } from '../errors';
import { ConfluentSchemaRegistryClient } from '../registry/confluent-schema-registry';
import type { SchemaRegistryClient } from '../registry/schema-registry';
import type { Admin, EnsureTopicsResult, PartitionOffsets, RecordPosition, TopicPartition, TopicSpec, TransportLogger } from '../types';
import { ClientSlot } from './client-slot';

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

/**
 * kafkajs 2.x's texts of the protocol errors a topic shows while it is being created: its log
 * entries carry the error only as this text. Pinned to kafkajs's error table by a unit test.
 */
export const TOPIC_CREATION_ERROR_TEXTS: Readonly<Record<'UNKNOWN_TOPIC_OR_PARTITION' | 'LEADER_NOT_AVAILABLE' | 'TOPIC_ALREADY_EXISTS', string>> = {
  UNKNOWN_TOPIC_OR_PARTITION: 'This server does not host this topic-partition',
  LEADER_NOT_AVAILABLE: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
  TOPIC_ALREADY_EXISTS: 'Topic with this name already exists',
};
const creationErrorTexts = new Set(Object.values(TOPIC_CREATION_ERROR_TEXTS));

/**
 * Routes kafkajs log lines at warn and above to our logger, with the few fields that help and no
 * payloads. While `creatingTopics()` is true, the creation errors above are expected (a topic is
 * not in every metadata answer yet, or a concurrent creator was first) and go to debug.
 */
export function logCreator(logger: TransportLogger, creatingTopics: () => boolean = () => false) {
  const keep = ['broker', 'clientId', 'groupId', 'memberId', 'topic', 'partition', 'retryCount', 'retryTime', 'error'];
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const fields: Record<string, unknown> = { component: 'kafkajs', namespace };
      for (const k of keep) if (log[k] !== undefined) fields[k] = log[k];
      if (level <= logLevel.WARN && typeof log.error === 'string' && creationErrorTexts.has(log.error) && creatingTopics()) {
        logger.debug?.(fields, log.message);
        return;
      }
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(fields, log.message);
      else if (level === logLevel.WARN) logger.warn(fields, log.message);
    };
}

/** True when `err`, its causes or its aggregated errors carry this kafkajs protocol error type. */
export function hasErrorType(err: unknown, type: string, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { type?: unknown; cause?: unknown; errors?: unknown };
  if (e.type === type) return true;
  if (hasErrorType(e.cause, type, depth + 1)) return true;
  return Array.isArray(e.errors) && e.errors.some((x) => hasErrorType(x, type, depth + 1));
}

/** Wraps a kafkajs error into a Safeguard error, by name, type and `retriable`, never by message. */
function wrapKafkaError(err: unknown, what: string, topic?: string): Error {
  if (err instanceof SafeguardError) return err;
  const e = err as { name?: string; retriable?: boolean };
  if (topic && hasErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return new TopicNotFoundError(topic, { cause: err });
  const code = what === 'produce' ? TransportErrorCodes.produceFailed : TransportErrorCodes.kafkaError;
  const message = `${what} failed${topic ? ` for ${topic}` : ''}`;
  const retriable = e.retriable === true || e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSRequestTimeoutError';
  return retriable ? new TransientError(code, message, { cause: err }) : new SafeguardError(code, message, { cause: err, retriable: false });
}

/** Sends of one batch while the producer's metadata turns out stale (each with a new producer). */
const STALE_PRODUCER_ATTEMPTS = 3;

/**
 * The kafkajs driver. Producer and admin connect lazily and are shared; each is replaced by a new
 * client when its metadata is stale (see {@link ClientSlot}).
 */
export class KafkaDriver implements Driver {
  readonly kind = 'kafka' as const;
  readonly registry: SchemaRegistryClient;
  readonly admin: KafkaAdminAdapter;
  private readonly kafka: Kafka;
  private readonly producers: ClientSlot<KafkaProducer>;

  constructor(private readonly options: KafkaDriverOptions) {
    const config: KafkaConfig = {
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl as SASLOptions | undefined,
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      logLevel: logLevel.WARN,
    };
    this.kafka = new Kafka({ ...config, logCreator: logCreator(options.logger) });
    // The admin has a client of its own, so that its log lines are known to be its own.
    const adminKafka = new Kafka({ ...config, logCreator: logCreator(options.logger, () => this.admin.creatingTopics) });
    this.registry = new ConfluentSchemaRegistryClient({ url: options.schemaRegistryUrl, clientId: options.clientId });
    this.admin = new KafkaAdminAdapter(new ClientSlot(() => adminKafka.admin(), closedError), options.logger, options.requestTimeoutMs);
    this.producers = new ClientSlot(
      () =>
        this.kafka.producer({
          idempotent: options.idempotent,
          allowAutoTopicCreation: false,
          // Partitions are chosen before the send (same murmur2 as Kafka's default); this only
          // covers records without one and silences kafkajs's partitioner-change warning.
          createPartitioner: () => ({ message, partitionMetadata }) =>
            message.key ? partitionForKey(Buffer.from(message.key), partitionMetadata.length) : 0,
        }),
      closedError,
    );
  }

  /**
   * Sends and resolves with each record's position once acknowledged.
   *
   * Stale producer metadata is handled here: kafkajs keeps asking the broker about every topic the
   * producer ever sent to, so once one of them is deleted every send that refreshes metadata fails
   * with UNKNOWN_TOPIC_OR_PARTITION, and after a topic is re-created with fewer partitions kafkajs
   * silently skips records for partitions it does not know. On the first, when this topic is
   * there, the batch is sent again with a new producer (up to 3 attempts); on the second the
   * producer is renewed and {@link UnsentRecordsError} tells the sender which records to place again.
   * @throws TopicNotFoundError (`topic_not_found`); TransientError (`produce_failed`); UnsentRecordsError.
   */
  async send(topic: string, records: readonly RawRecord[]): Promise<RecordPosition[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.producers.run(async (producer, generation) => {
          let metadata: RecordMetadata[];
          try {
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
            if (hasErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) this.producers.renew(generation);
            throw err;
          }
          const positions = positionsOf(topic, records, metadata);
          if (positions.some((p) => p === undefined)) {
            this.producers.renew(generation);
            throw new UnsentRecordsError(topic, positions);
          }
          return positions as RecordPosition[];
        });
      } catch (err) {
        if (err instanceof UnsentRecordsError) throw err;
        if (attempt < STALE_PRODUCER_ATTEMPTS && hasErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION') && (await this.admin.isTopicReady(topic).catch(() => false))) {
          this.options.logger.warn({ topic, attempt }, 'producer metadata was stale (a topic it used was deleted or re-created), sending again with a new producer');
          continue;
        }
        throw wrapKafkaError(err, 'produce', topic);
      }
    }
  }

  async disconnectProducer(): Promise<void> {
    await this.producers.close();
  }

  consumerSession(options: SessionOptions): ConsumerSession {
    return new KafkaConsumerSession(this.kafka, options, this.options);
  }

  readerSession(options: { heartbeatIntervalMs: number; stopTimeoutMs: number }): ReaderSession {
    return new KafkaReaderSession(this.kafka, options, this.options);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producers.close({ seal: true }), this.admin.close()]);
  }
}

function closedError(): Error {
  return new SafeguardError(TransportErrorCodes.transportClosed, 'the transport is closed', { retriable: false });
}

/**
 * Each record's position from kafkajs's answer: records of one partition go out in one batch, in
 * order, so their offsets follow its base offset. `undefined` for records of partitions missing
 * from the answer (kafkajs did not send them).
 */
function positionsOf(topic: string, records: readonly RawRecord[], metadata: readonly RecordMetadata[]): Array<RecordPosition | undefined> {
  const base = new Map<number, bigint>();
  for (const m of metadata) {
    const offset = m.baseOffset ?? m.offset;
    if (offset !== undefined) base.set(m.partition, BigInt(offset));
  }
  const seen = new Map<number, bigint>();
  return records.map((r) => {
    const first = base.get(r.partition);
    if (first === undefined) return undefined;
    const index = seen.get(r.partition) ?? 0n;
    seen.set(r.partition, index + 1n);
    return { topic, partition: r.partition, offset: String(first + index) };
  });
}

/** A topic's partitions are all there, each with a leader (and as many as expected, when given). */
function topicReady(partitions: readonly PartitionMetadata[] | undefined, expected?: number): boolean {
  if (!partitions || partitions.length === 0) return false;
  if (expected !== undefined && partitions.length !== expected) return false;
  const ids = new Set(partitions.map((p) => p.partitionId));
  for (let id = 0; id < partitions.length; id++) if (!ids.has(id)) return false;
  return partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0);
}

/** Admin over kafkajs. Metadata comes from whole-cluster requests, which never fail for a topic that is missing. */
class KafkaAdminAdapter implements Admin {
  private creations = 0;

  constructor(private readonly admins: ClientSlot<KafkaAdmin>, private readonly logger: TransportLogger, private readonly readyTimeoutMs: number) {}

  /** True while {@link ensureTopics} creates topics or waits for them. */
  get creatingTopics(): boolean {
    return this.creations > 0;
  }

  /**
   * Runs one kafkajs admin call. Once a topic whose offsets the kafkajs admin read has been deleted,
   * its metadata requests fail with UNKNOWN_TOPIC_OR_PARTITION for good: such a failure renews the
   * admin client and the call is tried once more.
   */
  private async call<T>(what: string, fn: (admin: KafkaAdmin) => Promise<T>, topic?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admins.run(async (admin, generation) => {
          try {
            return await fn(admin);
          } catch (err) {
            if (hasErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) this.admins.renew(generation);
            throw err;
          }
        });
      } catch (err) {
        if (attempt === 1 && hasErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) continue;
        throw wrapKafkaError(err, what, topic);
      }
    }
  }

  /** Every topic's partitions, from one whole-cluster metadata request. */
  private async topicsMetadata(): Promise<Map<string, PartitionMetadata[]>> {
    const md = await this.call('fetch metadata', (a) => a.fetchTopicMetadata());
    return new Map(md.topics.map((t) => [t.name, t.partitions]));
  }

  /** True when the topic exists and every partition has a leader. */
  async isTopicReady(topic: string): Promise<boolean> {
    return topicReady((await this.topicsMetadata()).get(topic));
  }

  /**
   * Creates the missing topics, one request each (so a concurrent creator's "already exists" is
   * told apart per topic), then waits, with backoff and at most the request timeout, until the
   * cluster metadata shows every topic of `specs` with all its partitions led; topics created by
   * someone else meanwhile are waited for the same way. `created` lists what this call created.
   * @throws TransportConfigError (`invalid_config`) on a topic listed twice; TransientError
   *   (`kafka_error`) when the topics are not ready in time; kafkajs refusals as `kafka_error`.
   */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const names = new Set<string>();
    for (const s of specs) {
      if (names.has(s.topic)) throw new TransportConfigError(`topic ${s.topic} is listed twice`);
      names.add(s.topic);
    }
    const deadline = Date.now() + this.readyTimeoutMs;
    const createdHere = new Set<string>();
    this.creations++;
    try {
      let metadata = await this.topicsMetadata();
      let toCreate = specs.filter((s) => !metadata.has(s.topic));
      for (let attempt = 1; ; attempt++) {
        const outcomes = await Promise.all(toCreate.map((s) => this.createTopic(s)));
        toCreate.forEach((s, i) => outcomes[i] && createdHere.add(s.topic));
        if (toCreate.length > 0 || attempt > 1) metadata = await this.topicsMetadata();
        const notReady = specs.filter((s) => !topicReady(metadata.get(s.topic), createdHere.has(s.topic) ? (s.partitions ?? 1) : undefined));
        if (notReady.length === 0) break;
        if (Date.now() >= deadline) {
          throw new TransientError(TransportErrorCodes.kafkaError, `topics not ready within ${this.readyTimeoutMs} ms: ${notReady.map((s) => s.topic).join(', ')}`);
        }
        await delay(Math.min(1_000, 25 * 2 ** attempt));
        // Not in the metadata yet: created by a concurrent creator just now, or deleted meanwhile.
        toCreate = notReady.filter((s) => !metadata.has(s.topic) && !createdHere.has(s.topic));
      }
      for (const s of specs) {
        const actual = metadata.get(s.topic)?.length;
        if (!createdHere.has(s.topic) && s.partitions !== undefined && actual !== s.partitions) {
          this.logger.warn({ topic: s.topic, expected: s.partitions, actual }, 'existing topic has a different partition count');
        }
      }
    } finally {
      this.creations--;
    }
    return { created: specs.filter((s) => createdHere.has(s.topic)).map((s) => s.topic), existing: specs.filter((s) => !createdHere.has(s.topic)).map((s) => s.topic) };
  }

  /** @returns false when the topic existed already (a concurrent creator was first). */
  private async createTopic(spec: TopicSpec): Promise<boolean> {
    try {
      return await this.call('create topics', (a) =>
        a.createTopics({
          waitForLeaders: false,
          topics: [{ topic: spec.topic, numPartitions: spec.partitions ?? 1, replicationFactor: spec.replicationFactor ?? -1, configEntries: topicConfigEntries(spec) }],
        }),
      );
    } catch (err) {
      if (hasErrorType(err, 'TOPIC_ALREADY_EXISTS')) return false;
      throw err;
    }
  }

  async listTopics(): Promise<string[]> {
    const names = await this.call('list topics', (a) => a.listTopics());
    return names.filter((n) => !n.startsWith('__'));
  }

  async partitionCount(topic: string): Promise<number> {
    const partitions = (await this.topicsMetadata()).get(topic);
    if (!partitions || partitions.length === 0) throw new TopicNotFoundError(topic);
    return partitions.length;
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
      await delay(50 * attempt);
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

  /** Disconnects the admin client for good. */
  async close(): Promise<void> {
    await this.admins.close({ seal: true });
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
