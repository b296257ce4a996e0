import { isSafeguardError } from '@safeguard/domain';
import { BankSet, type ApplyOutcome } from '@safeguard/domain/matching';
import type { IndicatorUpdated } from '@safeguard/schemas';
import type { FloodConfig } from './config';
import { bankEntryUpdateOf } from './indicator-mapping';
import type { MatcherMetrics } from './metrics';

/** One record of the indicator topic, as the reader hands it over (no Kafka types). */
export interface IndicatorRecord {
  key: string | null;
  value: IndicatorUpdated | null;
  partition: number;
  /** Offset, decimal string. */
  offset: string;
  /** Record timestamp, epoch ms (when it was produced). */
  timestampMs: number;
}

/** Options of {@link IndicatorIndex}. */
export interface IndicatorIndexOptions {
  minPdqQuality: number;
  flood: FloodConfig;
  metrics: MatcherMetrics;
  /** Clock, epoch ms. */
  now?: () => number;
}

/**
 * The replica's banks, built from the compacted indicator topic and kept current by applying
 * each record as it arrives (no full reloads). Why a class around `BankSet`: it knows whether
 * the initial load is complete (readiness), where it is in each partition (lag), when it last
 * changed (index age) and how long updates take to arrive (apply latency), and it feeds the
 * index gauges at scrape time.
 */
export class IndicatorIndex {
  readonly banks: BankSet;
  private readonly now: () => number;
  private readonly metrics: MatcherMetrics;
  private loaded = false;
  private lastAppliedAtMs: number | undefined;
  /** Next offset to read, per partition (records skipped as invalid included). */
  private readonly positions = new Map<number, number>();

  constructor(options: IndicatorIndexOptions) {
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
    this.banks = new BankSet({
      minPdqQuality: options.minPdqQuality,
      clock: this.now,
      flood: options.flood.enabled
        ? { windowMs: options.flood.windowMs, minCount: options.flood.minCount, ratio: options.flood.ratio, warmupMs: options.flood.warmupMs }
        : false,
    });
    // The initial load replays the whole compacted topic: the PDQ indexes accumulate it and
    // build their tables once, in markLoaded(), instead of compacting as they grow.
    this.banks.beginBulkLoad();
    this.metrics.indexReady.set(0);
  }

  /** True once the initial load reached the end of the topic as it was at start. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /**
   * Applies one record (upsert, or tombstone = delete).
   * @throws InvalidInputError with the record's reason code (the reader skips and counts it).
   */
  apply(record: IndicatorRecord): ApplyOutcome {
    this.positions.set(record.partition, Number(record.offset) + 1);
    let outcome: ApplyOutcome;
    try {
      outcome = this.banks.apply(bankEntryUpdateOf(record.key, record.value));
    } catch (err) {
      if (isSafeguardError(err)) this.metrics.indexUpdates.inc({ outcome: 'invalid' });
      throw err;
    }
    const now = this.now();
    this.lastAppliedAtMs = now;
    this.metrics.indexUpdates.inc({ outcome });
    if (this.loaded) this.metrics.updateApplySeconds.observe(Math.max(0, now - record.timestampMs) / 1000);
    return outcome;
  }

  /** Marks the initial load complete: builds the PDQ indexes once (ends the bulk load), then reports ready. */
  markLoaded(loadSeconds: number): void {
    this.banks.compactAll();
    this.loaded = true;
    this.metrics.indexReady.set(1);
    this.metrics.indexLoadSeconds.set(loadSeconds);
  }

  /**
   * Records not yet applied, given the topic's current end offsets: the sum over partitions of
   * `high - position` (a partition never read counts from its low watermark).
   */
  lag(offsets: ReadonlyArray<{ partition: number; low: string; high: string }>): number {
    let behind = 0;
    for (const o of offsets) {
      const position = this.positions.get(o.partition) ?? Number(o.low);
      behind += Math.max(0, Number(o.high) - position);
    }
    return behind;
  }

  /** Sets the scrape-time gauges: entries by algorithm and bank, inactive entries, index age. */
  collectMetrics(): void {
    const { indexEntries, indexInactiveEntries, indexAgeSeconds } = this.metrics;
    indexEntries.reset();
    indexInactiveEntries.reset();
    for (const s of this.banks.stats()) {
      for (const [algorithm, count] of Object.entries(s.entries)) indexEntries.set({ algorithm, bank: s.bank }, count);
      indexInactiveEntries.set({ bank: s.bank, state: 'disabled' }, s.disabled);
      indexInactiveEntries.set({ bank: s.bank, state: 'quarantined' }, s.quarantined);
    }
    indexAgeSeconds.set(this.lastAppliedAtMs === undefined ? 0 : Math.max(0, this.now() - this.lastAppliedAtMs) / 1000);
  }
}
