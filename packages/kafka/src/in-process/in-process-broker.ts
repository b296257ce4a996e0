import { InMemorySchemaRegistry } from '../registry/in-memory-schema-registry';
import { TopicNotFoundError, TransportConfigError } from '../errors';
import type { TopicPartition } from '../types';

/** A record stored in an in-process partition log. */
export interface StoredRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestampMs: number;
}

/** Configuration of an in-process topic. */
export interface InProcessTopicConfig {
  cleanupPolicy: 'delete' | 'compact';
  retentionMs?: number;
  config: Readonly<Record<string, string>>;
}

/** One partition: an append-only list of records with increasing (not necessarily dense) offsets. */
class PartitionLog {
  records: StoredRecord[] = [];
  /** Offset the next record gets (the high watermark). */
  next = 0;

  get low(): number {
    return this.records[0]?.offset ?? this.next;
  }

  append(record: Omit<StoredRecord, 'offset'>): number {
    const offset = this.next++;
    this.records.push({ ...record, offset });
    return offset;
  }

  /** Records with offset >= `from`, at most `max`. */
  readFrom(from: number, max: number): StoredRecord[] {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid].offset < from) lo = mid + 1;
      else hi = mid;
    }
    return this.records.slice(lo, lo + max);
  }
}

/** A topic: its partitions and config. */
class TopicState {
  constructor(readonly partitions: PartitionLog[], readonly config: InProcessTopicConfig) {}
}

/** What a group tells its members. */
export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Called synchronously when the group's assignment changed. */
  onRebalance(): void;
}

/**
 * Consumer group coordination: membership, assignment and committed offsets. A partition has at
 * most one owner at a time: a member claims a newly assigned partition only after the previous
 * owner released it (after finishing its in-flight message), so no message is handled twice by
 * two members at once during a rebalance, like Kafka's eager rebalance protocol.
 */
export class InProcessGroup {
  /** Incremented by every membership change. */
  generation = 0;
  private readonly members = new Map<string, GroupMember>();
  private assignments = new Map<string, TopicPartition[]>();
  private readonly owners = new Map<string, string>();
  private readonly committed = new Map<string, number>();

  /** Created by {@link InProcessBroker.group}. */
  constructor(private readonly broker: InProcessBroker, readonly groupId: string) {}

  /** Adds a member and rebalances. */
  join(member: GroupMember): void {
    this.members.set(member.memberId, member);
    this.rebalance();
  }

  /** Removes a member (releasing its partitions) and rebalances. */
  leave(memberId: string): void {
    if (!this.members.delete(memberId)) return;
    for (const [key, owner] of this.owners) if (owner === memberId) this.owners.delete(key);
    this.rebalance();
  }

  /** The partitions assigned to a member in the current generation. */
  assignmentOf(memberId: string): TopicPartition[] {
    return this.assignments.get(memberId) ?? [];
  }

  /** True when the current generation assigns the partition to the member. */
  isAssigned(memberId: string, topic: string, partition: number): boolean {
    return this.assignmentOf(memberId).some((tp) => tp.topic === topic && tp.partition === partition);
  }

  /** Claims a partition if nobody owns it; true when `memberId` owns it afterwards. */
  claim(memberId: string, topic: string, partition: number): boolean {
    const key = `${topic}:${partition}`;
    const owner = this.owners.get(key);
    if (owner !== undefined && owner !== memberId) return false;
    this.owners.set(key, memberId);
    return true;
  }

  /** Gives a partition up (after its in-flight message finished) so its next owner may claim it. */
  release(memberId: string, topic: string, partition: number): void {
    const key = `${topic}:${partition}`;
    if (this.owners.get(key) === memberId) {
      this.owners.delete(key);
      this.broker.notify();
    }
  }

  /** Commits `offset` (the next offset to read) if `memberId` owns the partition; false otherwise (like a fenced commit). */
  commit(memberId: string, topic: string, partition: number, offset: number): boolean {
    const key = `${topic}:${partition}`;
    if (this.owners.get(key) !== memberId) return false;
    this.committed.set(key, offset);
    return true;
  }

  /** The committed offset (next offset to read) of a partition, if any. */
  committedOffset(topic: string, partition: number): number | undefined {
    return this.committed.get(`${topic}:${partition}`);
  }

  private rebalance(): void {
    this.generation++;
    const next = new Map<string, TopicPartition[]>();
    for (const memberId of this.members.keys()) next.set(memberId, []);
    const topics = new Set<string>();
    for (const m of this.members.values()) for (const t of m.topics) topics.add(t);
    for (const topic of [...topics].sort()) {
      const subscribers = [...this.members.values()].filter((m) => m.topics.includes(topic)).map((m) => m.memberId);
      const count = this.broker.hasTopic(topic) ? this.broker.partitionCount(topic) : 0;
      for (let p = 0; p < count; p++) next.get(subscribers[p % subscribers.length])?.push({ topic, partition: p });
    }
    this.assignments = next;
    for (const m of this.members.values()) m.onRebalance();
    this.broker.notify();
  }
}

/**
 * An in-memory Kafka: topics with partition logs, consumer groups with committed offsets, a
 * schema registry, and a compaction view for compacted topics. Why: unit tests and the embedded
 * demo run the services unchanged without a broker. Share one broker between transports (pass it
 * to `createTransport({ kind: 'in-process', broker })`) to connect several services.
 *
 * Not modelled: replication, retention by time or size (`retentionMs` is stored, not enforced),
 * quotas, transactions.
 */
export class InProcessBroker {
  /** The registry all transports on this broker share (ids are global, like a real registry). */
  readonly registry = new InMemorySchemaRegistry();
  private readonly topics = new Map<string, TopicState>();
  private readonly groups = new Map<string, InProcessGroup>();
  private waiters: Array<() => void> = [];

  /**
   * Creates a topic; returns false if it already exists (left unchanged).
   * @throws TransportConfigError when `partitions` is not a positive integer.
   */
  createTopic(topic: string, partitions: number, config: InProcessTopicConfig): boolean {
    if (!Number.isInteger(partitions) || partitions < 1) throw new TransportConfigError(`partitions must be a positive integer, got ${partitions}`);
    if (this.topics.has(topic)) return false;
    this.topics.set(topic, new TopicState(Array.from({ length: partitions }, () => new PartitionLog()), config));
    this.notify();
    return true;
  }

  /** Deletes a topic and its records; committed offsets of groups stay (like Kafka until they expire). */
  deleteTopic(topic: string): void {
    if (this.topics.delete(topic)) this.notify();
  }

  /** True when the topic exists. */
  hasTopic(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** Names of all topics. */
  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** Number of partitions. @throws TopicNotFoundError */
  partitionCount(topic: string): number {
    return this.topic(topic).partitions.length;
  }

  /** The topic's configuration. @throws TopicNotFoundError */
  topicConfig(topic: string): InProcessTopicConfig {
    return this.topic(topic).config;
  }

  /**
   * Appends records to one partition; returns the offset of the first.
   * @throws TopicNotFoundError; RangeError on a partition out of range.
   */
  append(topic: string, partition: number, records: ReadonlyArray<Omit<StoredRecord, 'offset'>>): number {
    const log = this.log(topic, partition);
    const base = log.next;
    for (const r of records) log.append(r);
    this.notify();
    return base;
  }

  /** Up to `max` records of a partition from offset `from` on. */
  read(topic: string, partition: number, from: number, max: number): StoredRecord[] {
    return this.log(topic, partition).readFrom(from, max);
  }

  /** Low and high watermark of a partition. */
  watermarks(topic: string, partition: number): { low: number; high: number } {
    const log = this.log(topic, partition);
    return { low: log.low, high: log.next };
  }

  /**
   * Runs log compaction on a compacted topic now: per partition, keeps only the latest record of
   * each key (offsets unchanged, so readers see gaps, as on Kafka). Tombstones are kept unless
   * `dropTombstones` (Kafka drops them after `delete.retention.ms`). Like Kafka's cleaner, the last
   * record of a partition (the "active segment") is never removed. Keyless records are dropped
   * (Kafka rejects them on compacted topics).
   * @throws TopicNotFoundError; TransportConfigError when the topic is not compacted.
   */
  compact(topic: string, options: { dropTombstones?: boolean } = {}): void {
    const state = this.topic(topic);
    if (state.config.cleanupPolicy !== 'compact') throw new TransportConfigError(`topic ${topic} is not compacted`);
    for (const log of state.partitions) {
      const last = log.records[log.records.length - 1];
      const latest = new Map<string, number>();
      for (const r of log.records) if (r.key) latest.set(r.key.toString('binary'), r.offset);
      log.records = log.records.filter((r) => {
        if (r === last) return true;
        if (!r.key || latest.get(r.key.toString('binary')) !== r.offset) return false;
        return !(options.dropTombstones && r.value === null);
      });
    }
  }

  /** The group with this id (created on first use). */
  group(groupId: string): InProcessGroup {
    let g = this.groups.get(groupId);
    if (!g) {
      g = new InProcessGroup(this, groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** A promise resolved at the next change (append, topic created, group change, resume). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Wakes everyone waiting in {@link InProcessBroker.changed}. */
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private topic(topic: string): TopicState {
    const state = this.topics.get(topic);
    if (!state) throw new TopicNotFoundError(topic);
    return state;
  }

  private log(topic: string, partition: number): PartitionLog {
    const log = this.topic(topic).partitions[partition];
    if (!log) throw new RangeError(`partition ${partition} out of range for ${topic}`);
    return log;
  }
}
