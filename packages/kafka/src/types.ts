/**
 * Public types of the transport. Nothing here mentions kafkajs: services, the CLI and tests see
 * only these shapes, so swapping the Kafka client touches this package alone.
 */

/**
 * An Avro schema as JSON: a parsed object (record, enum, ...), a top-level union (array), or the
 * JSON text of either. Named types must be fully defined inside it (no cross-schema references).
 */
export type AvroSchemaJson = string | object;

/**
 * Binds a topic to the Avro schema of its values and, optionally, to the function that derives a
 * record's key from its value.
 *
 * Why structural: the schemas package declares one binding per topic without importing this
 * package; any object of this shape works. The same binding is the writer schema when producing
 * and the reader schema when consuming: a consumer built with a newer schema reads records written
 * with an older one through Avro schema resolution (new fields need defaults).
 *
 * @typeParam V - the TypeScript type of a decoded value (as avsc represents it: `long` is a
 *   `number`, `bytes` a `Buffer`, unions of `null` and one type are unwrapped).
 */
export interface TopicBinding<V> {
  /** Topic name, e.g. `media.content.hashed.v1`. Dead letters go to `<topic>.dlq`. */
  readonly topic: string;
  /** The value schema. Subject in the registry: `<topic>-value` (TopicNameStrategy). */
  readonly valueSchema: AvroSchemaJson;
  /**
   * Derives the partitioning key (content id, conversation id) when a record has no explicit key.
   * Records with the same key land on the same partition and are consumed in order.
   */
  readonly key?: (value: V) => string;
}

/** The value type a binding carries. */
export type ValueOf<B> = B extends TopicBinding<infer V> ? V : never;

/** Record headers: UTF-8 strings. Header names starting with `safeguard.` are reserved. */
export type Headers = Readonly<Record<string, string>>;

/** One record to produce. */
export interface ProduceRecord<V> {
  /** The value, or `null` for a tombstone (deletes the key from a compacted topic; needs a key). */
  value: V | null;
  /**
   * UTF-8 partitioning key. Default: `binding.key(value)` when the binding has one, else none
   * (keyless records are spread round-robin over the partitions).
   */
  key?: string | null;
  /**
   * Explicit partition; overrides the key's partition. Rarely needed. A partition the topic does
   * not have makes the send throw a RangeError (nothing of that send is written).
   */
  partition?: number;
  /** Headers to attach. */
  headers?: Headers;
  /** Record timestamp in epoch ms. Default: now. */
  timestampMs?: number;
}

/** Where one produced record landed, in the order the records were given. */
export interface RecordPosition {
  topic: string;
  partition: number;
  /** Offset as a decimal string (Kafka offsets are int64). */
  offset: string;
}

/** A topic and one of its partitions. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A decoded message handed to a handler or a reader. */
export interface ConsumedMessage<V> {
  topic: string;
  partition: number;
  /** Offset as a decimal string (int64). */
  offset: string;
  /** The UTF-8 key, or `null` for keyless records. */
  key: string | null;
  /** The value resolved to the binding's schema, or `null` for a tombstone. */
  value: V | null;
  headers: Headers;
  /** Record timestamp, epoch ms. */
  timestampMs: number;
  /** 1 for the first delivery to this consumer, 2 for the first retry, ... */
  attempt: number;
}

/** The union of messages a handler bound to `B` may receive. */
export type MessageOf<B> = B extends TopicBinding<infer V> ? ConsumedMessage<V> : never;

/**
 * Type guard narrowing a message from a multi-topic consumer to one binding (compares topics).
 *
 * @example
 * if (isMessageOf(contentHashed, msg)) msg.value?.sha256;
 */
export function isMessageOf<V>(binding: TopicBinding<V>, message: ConsumedMessage<unknown>): message is ConsumedMessage<V> {
  return message.topic === binding.topic;
}

/**
 * Minimal logger. Why: pino's `(obj, msg)` signature fits as is, and tests can pass a spy.
 * Messages are constants; variables go in `obj`. The transport never logs keys, values or headers.
 */
export interface TransportLogger {
  debug?(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Retry policy for transient and unknown handler errors: bounded exponential backoff with jitter. */
export interface RetryOptions {
  /**
   * Total handler attempts per message before it is dead-lettered (first delivery included).
   * Outages of the broker or registry (`produce_failed`, `schema_registry_unavailable`) do not
   * count: they are retried until they pass.
   * Default 5: enough to ride out a broker leader change or a restarting dependency (about 6 s
   * with the default delays) without stalling a partition for minutes.
   */
  attempts?: number;
  /** Delay before the first retry, ms. Doubles each retry. Default 200. */
  baseDelayMs?: number;
  /** Upper bound of one delay, ms. Default 30000 (keep below the session timeout budget you accept). */
  maxDelayMs?: number;
  /**
   * Fraction of each delay that is random, 0..1. Default 0.5 ("equal jitter"): delays stay at
   * least half the exponential value while replicas that failed together spread out.
   */
  jitter?: number;
}

/** Topic settings for {@link Admin.ensureTopics}. */
export interface TopicSpec {
  topic: string;
  /** Number of partitions. Default 1. Keys map to partitions by murmur2, so changing it remaps keys. */
  partitions?: number;
  /** `delete` (default) keeps records for `retentionMs`; `compact` keeps the latest record per key. */
  cleanupPolicy?: 'delete' | 'compact';
  /** Retention in ms (`retention.ms`). Default: the broker's (7 days). `-1` keeps forever. */
  retentionMs?: number;
  /** Replication factor. Default: the broker's default. */
  replicationFactor?: number;
  /** Further topic configs (`min.insync.replicas`, `segment.ms`, ...), passed through as strings. */
  config?: Readonly<Record<string, string>>;
}

/** Offsets of one partition. */
export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log (decimal string). */
  low: string;
  /** High watermark: the offset the next record will get (decimal string). */
  high: string;
}

/** The result of {@link Admin.ensureTopics}. */
export interface EnsureTopicsResult {
  /** Topics this call created. */
  created: string[];
  /** Topics that existed already (left as they are). */
  existing: string[];
}

/**
 * Topic administration. Why here: services call `ensureTopics` at start (idempotent), the CLI and
 * tests read offsets and delete topics, and none of them should import the Kafka client.
 */
export interface Admin {
  /**
   * Creates the topics that do not exist yet; existing ones are left untouched (a partition count
   * different from the spec is logged as a warning, never changed). Resolves once every topic of
   * `specs` is usable: the cluster metadata shows all its partitions with a leader (on Kafka it
   * waits, with backoff, at most the transport's request timeout). Safe to call from several
   * replicas at once: a topic a concurrent caller created is reported in `existing` and waited
   * for the same way; each topic is in `created` of exactly one caller.
   * @throws TransportConfigError (`invalid_config`) when a topic is listed twice; TransientError
   *   (`kafka_error`) when the topics are not ready in time or the broker refuses.
   */
  ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult>;
  /** Names of all topics (internal topics excluded). */
  listTopics(): Promise<string[]>;
  /** Number of partitions of a topic. Throws `topic_not_found`. */
  partitionCount(topic: string): Promise<number>;
  /** Low and high watermarks of every partition of a topic. Throws `topic_not_found`. */
  listOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Committed offsets of a consumer group on a topic; partitions without a commit are omitted. */
  committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /** Deletes topics (missing ones are ignored). Meant for tests and tooling. */
  deleteTopics(topics: readonly string[]): Promise<void>;
}

/** Produces typed records. One per transport; safe to share between concurrent handlers. */
export interface Producer {
  /**
   * Encodes the records with the binding's schema (registering it under `<topic>-value` on first
   * use) and resolves when every record is acknowledged by all in-sync replicas (acks=all).
   *
   * @returns the position of each record, in order.
   * @throws InvalidInputError `serialization_failed` when a value does not match the schema, or
   *   `tombstone_without_key`; TransientError `produce_failed`/`topic_not_found`/
   *   `schema_registry_unavailable`/`schema_registration_conflict` when the broker or registry is
   *   unavailable; `schema_incompatible` when the registry refuses the schema; RangeError for an
   *   explicit partition the topic does not have. A send that fails may have written some of its
   *   records (delivery is at least once; handlers are idempotent).
   */
  send<V>(binding: TopicBinding<V>, records: readonly ProduceRecord<V>[]): Promise<RecordPosition[]>;
  /** Resolves when every send started before the call has settled. */
  flush(): Promise<void>;
  /** Flushes, then closes the connection. The transport's `close()` does this too. */
  disconnect(): Promise<void>;
}

/**
 * Handles one message. Resolve only once every output it produced is acknowledged: the offset is
 * committed after it resolves (at-least-once), so a crash before that re-delivers the message.
 * Throw `InvalidInputError` to dead-letter now, `CapacityError` to pause and get the same message
 * again later, anything else to retry with backoff and dead-letter when attempts run out.
 * Exception: a retriable `produce_failed` or `schema_registry_unavailable` (an output the broker
 * did not acknowledge, a registry that cannot be reached: an outage, not a bad message) is retried
 * with backoff until it passes, never dead-lettered, and does not count towards the attempts.
 * An error that is not a `SafeguardError` (TypeError, ...) is a bug: it is retried the same way
 * (a message that always triggers it must not stall its partition by crash-looping the process),
 * logged at error level with its stack on every attempt, and dead-lettered as `unexpected_error`.
 * Handlers must be idempotent (the same message may arrive twice).
 */
export type MessageHandler<M> = (message: M) => Promise<void>;

/** Options of {@link Transport.consumer}. */
export interface ConsumerOptions {
  /** Consumer group id; by convention the service name. Members of a group split the partitions. */
  groupId: string;
  /**
   * Where a group without a committed offset starts: `true` (default) from the earliest record,
   * `false` from the end. Earliest loses nothing when a new service is deployed after producers.
   */
  fromBeginning?: boolean;
  /** Retry policy for transient and unknown errors. */
  retry?: RetryOptions;
  /**
   * How long a partition stays paused after a `CapacityError`, ms, unless `resume()` is called
   * first. Default 1000.
   */
  capacityPauseMs?: number;
  /** Partitions processed in parallel by this member (messages within one partition stay in order). Default 1. */
  concurrency?: number;
  /** Broker-side session timeout, ms (kafka only). Default 30000. */
  sessionTimeoutMs?: number;
  /** Heartbeat interval, ms; heartbeats also run while a handler works. Default 3000. */
  heartbeatIntervalMs?: number;
  /** Upper bound for `stop()`, ms: waits this long for the in-flight handler. Default 30000. */
  stopTimeoutMs?: number;
  /** How often consumer lag is refreshed from the high watermarks, ms. Default 15000. */
  lagRefreshMs?: number;
  /**
   * Commit resolved offsets at least every this many ms while a batch is processed (kafka only;
   * offsets are also committed at the end of every batch). Default 1000. Smaller means fewer
   * re-deliveries after a crash, more commit requests.
   */
  commitIntervalMs?: number;
  /** Dead-letter topic settings. The `<topic>.dlq` topics are created when `run` starts. */
  deadLetter?: {
    /** Partitions of a created DLQ topic. Default 1. */
    partitions?: number;
    /** Retention of a created DLQ topic, ms. Default 1209600000 (14 days). */
    retentionMs?: number;
  };
  /** Called when the consumer stops for good on an unrecoverable client error. Exit and let Kubernetes restart. */
  onCrash?: (error: Error) => void;
}

/** Parameters of {@link Consumer.run}. */
export interface RunOptions<B extends TopicBinding<never>> {
  /** The topics to consume, each with the schema to read its values with. */
  bindings: readonly B[];
  /** The message handler; see {@link MessageHandler}. */
  handle: MessageHandler<MessageOf<B>>;
  /**
   * Called when partitions are assigned, before any of their messages is handled (restore
   * per-partition state here). Messages of those partitions wait until it resolves.
   */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => Promise<void> | void;
  /** Called when partitions are taken away (rebalance or stop), after their in-flight message finished. */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => Promise<void> | void;
}

/**
 * A consumer group member. Why this shape: the retry/dead-letter/pause policy is the same for
 * every service, so it lives here and handlers only throw the right error class.
 */
export interface Consumer {
  /**
   * Subscribes, joins the group and starts handling. Resolves once the member has joined (its
   * first assignment is known); messages keep flowing until `stop()`.
   * @throws SafeguardError `topic_not_found` when a bound topic does not exist.
   */
  run<B extends TopicBinding<never>>(options: RunOptions<B>): Promise<void>;
  /** Pauses fetching on every assigned partition until {@link Consumer.resume}. */
  pause(): void;
  /** Resumes every paused partition, including those paused by a `CapacityError` (capacity is back). */
  resume(): void;
  /** The partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  /** True between a successful `run` and `stop`, while the member is in the group. */
  isRunning(): boolean;
  /**
   * Graceful stop: stop fetching, let the in-flight handler finish (bounded by `stopTimeoutMs`),
   * commit, call `onPartitionsRevoked`, leave the group and disconnect. Idempotent; never rejects.
   */
  stop(): Promise<void>;
}

/** Options of {@link Transport.reader}. */
export interface ReaderOptions<V> {
  binding: TopicBinding<V>;
  /**
   * Applies one record. Throw `InvalidInputError` to skip a bad record (logged and counted);
   * other errors are retried with backoff and then fail the reader.
   */
  handle: (message: ConsumedMessage<V>) => Promise<void> | void;
  /**
   * Read only these partitions (e.g. the input partitions just assigned, when their state lives
   * in a co-partitioned changelog). Default: all. `caughtUp()` then waits for these only.
   * @throws RangeError (from `reader()`) when a partition does not exist.
   */
  partitions?: readonly number[];
  /** Retry policy for handler errors. */
  retry?: RetryOptions;
  /** Called when the reader fails for good (after retries, or on a client error). */
  onError?: (error: Error) => void;
}

/**
 * Reads every partition of one topic (or the chosen ones) from the beginning, without a consumer
 * group offset, then keeps tailing it. Why: state that lives in a topic (bank entries on a compacted topic, a
 * grooming changelog) is rebuilt by replaying it, and readiness waits for `caughtUp()`.
 */
export interface Reader {
  /**
   * Resolves when every record that existed when the reader started (per partition, up to the
   * high watermark seen at start) has been handled. Rejects if the reader fails first.
   */
  caughtUp(): Promise<void>;
  /** Synchronous form of {@link Reader.caughtUp}. */
  isCaughtUp(): boolean;
  /** Number of records handled so far (tombstones included, skipped records excluded). */
  handledCount(): number;
  /** Stops reading; bounded; never rejects. */
  stop(): Promise<void>;
}

/**
 * The transport: one per process. Why one interface with two implementations: services and tests
 * run unchanged against a real Kafka (`kafka`) or an in-memory broker with the same semantics
 * (`in-process`): partitions, murmur2 keys, groups, committed offsets, Avro wire format.
 */
export interface Transport {
  /** `kafka` or `in-process`. */
  readonly kind: 'kafka' | 'in-process';
  /** The shared producer (created on first call, connected lazily). */
  producer(): Producer;
  /** A new consumer group member. */
  consumer(options: ConsumerOptions): Consumer;
  /** Topic administration. */
  admin(): Admin;
  /** Starts a reader over one topic; resolves once it is subscribed. */
  reader<V>(options: ReaderOptions<V>): Promise<Reader>;
  /** Stops consumers and readers created from it, flushes and disconnects the producer. Never rejects. */
  close(): Promise<void>;
}
