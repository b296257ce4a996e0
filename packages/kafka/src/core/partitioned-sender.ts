import { partitionForKey } from '../codec/murmur2';
import type { Admin, RecordPosition } from '../types';
import type { Driver, RawRecord } from './driver';
import type { TransportMetrics } from './metrics';

/** A record before partitioning. */
export interface UnpartitionedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  partition?: number;
  timestampMs?: number;
}

/** How long a topic's partition count is trusted, ms (partitions are added rarely and by hand). */
const PARTITION_COUNT_TTL_MS = 60_000;

/**
 * Chooses partitions exactly like Kafka's default partitioner (murmur2 of the key bytes; keyless
 * records round-robin), then sends through the driver and counts acknowledged records. Both
 * transports go through it, so a key lands on the same partition number in both.
 */
export class PartitionedSender {
  private readonly counts = new Map<string, { count: number; atMs: number }>();
  private readonly roundRobin = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly driver: Driver, private readonly admin: Admin, private readonly metrics: TransportMetrics) {}

  async send(topic: string, records: readonly UnpartitionedRecord[]): Promise<RecordPosition[]> {
    if (records.length === 0) return [];
    const pending = this.doSend(topic, records);
    this.inFlight.add(pending);
    try {
      return await pending;
    } finally {
      this.inFlight.delete(pending);
    }
  }

  /** Resolves when every send started before the call has settled. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async doSend(topic: string, records: readonly UnpartitionedRecord[]): Promise<RecordPosition[]> {
    const count = await this.partitionCount(topic);
    const raw: RawRecord[] = records.map((r) => ({
      partition: r.partition ?? (r.key !== null ? partitionForKey(r.key, count) : this.nextRoundRobin(topic, count)),
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestampMs: r.timestampMs,
    }));
    const positions = await this.driver.send(topic, raw);
    this.metrics.produced.inc({ topic }, records.length);
    return positions;
  }

  /**
   * The partition count of a topic (cached for a minute).
   * @throws TopicNotFoundError (`topic_not_found`).
   */
  async partitionCount(topic: string): Promise<number> {
    const cached = this.counts.get(topic);
    if (cached && Date.now() - cached.atMs < PARTITION_COUNT_TTL_MS) return cached.count;
    const count = await this.admin.partitionCount(topic);
    this.counts.set(topic, { count, atMs: Date.now() });
    return count;
  }

  private nextRoundRobin(topic: string, count: number): number {
    const n = this.roundRobin.get(topic) ?? 0;
    this.roundRobin.set(topic, (n + 1) % 0x7fffffff);
    return n % count;
  }
}
