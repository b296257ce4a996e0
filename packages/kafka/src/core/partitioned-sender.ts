import { TransientError } from '@safeguard/domain';
import { partitionForKey } from '../codec/murmur2';
import { TransportErrorCodes } from '../errors';
import type { Admin, RecordPosition } from '../types';
import type { Driver, RawRecord } from './driver';
import { UnsentRecordsError } from './driver';
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

/** Sends of records whose partitions the client did not know (each after counting partitions again). */
const UNSENT_ATTEMPTS = 3;

/**
 * Chooses partitions exactly like Kafka's default partitioner (murmur2 of the key bytes; keyless
 * records round-robin), then sends through the driver and counts acknowledged records. Both
 * transports go through it, so a key lands on the same partition number in both.
 *
 * The partition count is cached; after a failed send it is read again, and records the client
 * did not write because their partition no longer exists (a topic re-created with fewer
 * partitions) are placed again with the new count and resent, up to 3 times.
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
    const positions: Array<RecordPosition | undefined> = records.map(() => undefined);
    let pending = records.map((_, i) => i);
    for (let attempt = 1; ; attempt++) {
      const count = await this.countFor(topic, pending.map((i) => records[i]));
      const raw: RawRecord[] = pending.map((i) => {
        const r = records[i];
        return {
          partition: r.partition ?? (r.key !== null ? partitionForKey(r.key, count) : this.nextRoundRobin(topic, count)),
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestampMs: r.timestampMs,
        };
      });
      try {
        const sent = await this.driver.send(topic, raw);
        sent.forEach((p, j) => (positions[pending[j]] = p));
        break;
      } catch (err) {
        // Whatever failed, the topic may have changed (deleted, re-created): count its partitions again.
        this.counts.delete(topic);
        if (!(err instanceof UnsentRecordsError)) throw err;
        err.positions.forEach((p, j) => {
          if (p) positions[pending[j]] = p;
        });
        pending = pending.filter((_, j) => !err.positions[j]);
        if (attempt >= UNSENT_ATTEMPTS) {
          this.metrics.produced.inc({ topic }, records.length - pending.length);
          throw new TransientError(TransportErrorCodes.produceFailed, `${pending.length} of ${records.length} records for ${topic} were not written: the client does not know their partitions`, { cause: err });
        }
      }
    }
    this.metrics.produced.inc({ topic }, records.length);
    return positions as RecordPosition[];
  }

  /**
   * The partition count to place `records` with; asks again when an explicit partition is beyond
   * the cached count (partitions were added).
   * @throws RangeError when an explicit partition does not exist.
   */
  private async countFor(topic: string, records: readonly UnpartitionedRecord[]): Promise<number> {
    let count = await this.partitionCount(topic);
    if (records.some((r) => r.partition !== undefined && r.partition >= count)) {
      this.counts.delete(topic);
      count = await this.partitionCount(topic);
    }
    for (const r of records) {
      if (r.partition !== undefined && (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= count)) {
        throw new RangeError(`partition ${r.partition} does not exist in ${topic} (${count} partitions)`);
      }
    }
    return count;
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
