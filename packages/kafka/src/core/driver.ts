import type { SchemaRegistryClient } from '../registry/schema-registry';
import type { Admin, RecordPosition, TopicPartition } from '../types';

/**
 * The internal contract between the typed API (codec, retry, dead letters, metrics: shared) and a
 * broker implementation (kafkajs or in-process). Why a separate layer: the policy is written once,
 * so both transports behave the same by construction; a driver only moves bytes, tracks groups and
 * offsets, and pauses partitions.
 */

/** A record ready for the wire; the partition is already chosen. */
export interface RawRecord {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestampMs?: number;
}

/**
 * Some records of a send were not written because the client does not know their partition (the
 * topic was re-created with fewer partitions, or the client's metadata is older than the topic).
 * Internal: the partitioned sender re-partitions and resends those records.
 */
export class UnsentRecordsError extends Error {
  /** Per record of the send, in order: its position when written, `undefined` when not. */
  readonly positions: ReadonlyArray<RecordPosition | undefined>;

  constructor(topic: string, positions: ReadonlyArray<RecordPosition | undefined>) {
    super(`${positions.filter((p) => p === undefined).length} of ${positions.length} records for ${topic} were not written: their partitions are unknown`);
    this.name = 'UnsentRecordsError';
    this.positions = positions;
  }
}

/** A record as fetched. */
export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestampMs: number;
  /** High watermark of the partition when fetched, when the driver knows it. */
  highWatermark?: string;
}

/** What the driver lets the processing policy do while it works on one message. */
export interface MessageControl {
  /** Keeps the group membership alive; rejects when the group is rebalancing (propagate it). */
  heartbeat(): Promise<void>;
  /** Aborted when the consumer stops or this message's partition is revoked. */
  signal: AbortSignal;
}

/**
 * Outcome of processing one message: `done` (commit past it), `pause` (the policy has paused the
 * partition through {@link ConsumerSession.pause}; stop its batch without committing, so the same
 * message comes again after the resume), `abort` (stop this partition's batch, commit nothing).
 */
export type ProcessResult = 'done' | 'pause' | 'abort';

/** Processes one message. */
export type ProcessFn = (message: RawMessage, control: MessageControl) => Promise<ProcessResult>;

/** Group member options a driver needs. */
export interface SessionOptions {
  groupId: string;
  fromBeginning: boolean;
  concurrency: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  commitIntervalMs: number;
  stopTimeoutMs: number;
}

/** Parameters of {@link ConsumerSession.start}. */
export interface SessionHandlers {
  topics: string[];
  process: ProcessFn;
  /** Called with newly assigned partitions; their messages wait until it resolves. */
  onAssigned(partitions: TopicPartition[]): Promise<void>;
  /** Called with partitions taken away, after their in-flight message finished. */
  onRevoked(partitions: TopicPartition[]): Promise<void>;
  /** Called when the session dies on an unrecoverable client error. */
  onCrash(error: Error): void;
}

/** One consumer group member inside a driver. */
export interface ConsumerSession {
  /** Joins and starts fetching; resolves once the first assignment is known. */
  start(handlers: SessionHandlers): Promise<void>;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  assignment(): TopicPartition[];
  /** Stops fetching, waits (bounded) for in-flight messages, calls onRevoked, leaves, disconnects. */
  stop(): Promise<void>;
}

/** Reads all partitions of a topic (or the given ones) from the beginning, without committing. */
export interface ReaderSession {
  start(topic: string, process: ProcessFn, onCrash: (error: Error) => void, partitions?: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

/** A broker implementation. */
export interface Driver {
  readonly kind: 'kafka' | 'in-process';
  readonly registry: SchemaRegistryClient;
  readonly admin: Admin;
  /**
   * Appends records and resolves when acknowledged (acks=all), with each record's position.
   * @throws UnsentRecordsError when some records' partitions do not exist (the others may be written).
   */
  send(topic: string, records: readonly RawRecord[]): Promise<RecordPosition[]>;
  /** Disconnects the producer (after in-flight sends settled). */
  disconnectProducer(): Promise<void>;
  consumerSession(options: SessionOptions): ConsumerSession;
  readerSession(options: { heartbeatIntervalMs: number; stopTimeoutMs: number }): ReaderSession;
  /** Releases everything the driver holds. */
  close(): Promise<void>;
}

/** `topic:partition`, for map keys. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
