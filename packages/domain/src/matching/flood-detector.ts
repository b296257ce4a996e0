/** Options of {@link FloodDetector}. Defaults suit a matcher seeing up to thousands of matches per second. */
export interface FloodDetectorOptions {
  /** Sliding window, ms. Default 10 minutes: long enough to smooth bursts, short enough to react within minutes. */
  readonly windowMs?: number;
  /** Sub-buckets per window (the window slides by `windowMs / buckets`). Default 10. */
  readonly buckets?: number;
  /**
   * Matches in the window below which an entry is never flagged, however low its baseline.
   * Default 50: a human can review 50 items; fewer is never a flood.
   */
  readonly minCount?: number;
  /** Flag when the window count exceeds `ratio` × the expected count. Default 20. */
  readonly ratio?: number;
  /**
   * Half-life of the per-entry baseline (an exponentially weighted mean of closed buckets), ms.
   * Default 7 days: a slow, legitimate rise is learned; a sudden flood is not.
   */
  readonly baselineHalfLifeMs?: number;
  /**
   * Expected matches per window for an entry with no history, and the floor of every expected
   * value. Default 1.
   */
  readonly minExpectedPerWindow?: number;
  /**
   * No entry is flagged until the detector has observed this long (from its first record), so
   * that after a restart popular entries are learned rather than quarantined. Default 1 hour.
   */
  readonly warmupMs?: number;
  /** Entries tracked at most (idle ones are forgotten first). Default 100,000. */
  readonly maxTrackedEntries?: number;
}

/** What {@link FloodDetector.record} observed for one entry. */
export interface FloodObservation {
  /** True when this entry's rate is now a flood (crossed both thresholds). */
  readonly flood: boolean;
  /** Matches in the current sliding window, including this one. */
  readonly windowCount: number;
  /** Expected matches per window from the entry's baseline (at least `minExpectedPerWindow`). */
  readonly expectedPerWindow: number;
}

interface EntryRate {
  counts: Uint32Array;
  /** Absolute index (time / bucketMs) of the newest bucket. */
  head: number;
  windowCount: number;
  /** Baseline, matches per bucket (EWMA over closed buckets). */
  baseline: number;
}

/**
 * Detects indicator entries that match far more often than they used to (a "flood": e.g. a
 * third-party hash of a common benign image, which would swamp reviewers).
 *
 * Why this design: rates differ hugely between entries, so each tracked entry is compared with
 * its own history: a sliding window of `buckets` sub-buckets counts recent matches, and an
 * exponentially weighted mean of closed buckets is its baseline. An entry floods when its window
 * count is at least `minCount` AND above `ratio` × its expected window count, once the detector
 * has warmed up (`warmupMs`: state is in memory, so after a restart it first re-learns). The clock is the
 * caller's (`nowMs` arguments), so the detector is pure and testable; memory is bounded by
 * `maxTrackedEntries` (only entries that match are tracked).
 */
export class FloodDetector {
  private readonly windowMs: number;
  private readonly buckets: number;
  private readonly bucketMs: number;
  private readonly minCount: number;
  private readonly ratio: number;
  private readonly decay: number;
  private readonly minExpected: number;
  private readonly maxTracked: number;
  private readonly warmupMs: number;
  private startMs: number | null = null;
  private readonly rates = new Map<string, EntryRate>();

  /** @param options - see {@link FloodDetectorOptions} for defaults. */
  constructor(options: FloodDetectorOptions = {}) {
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.buckets = Math.max(1, Math.floor(options.buckets ?? 10));
    this.bucketMs = this.windowMs / this.buckets;
    this.minCount = options.minCount ?? 50;
    this.ratio = options.ratio ?? 20;
    this.decay = Math.pow(0.5, this.bucketMs / (options.baselineHalfLifeMs ?? 7 * 24 * 3_600_000));
    this.minExpected = options.minExpectedPerWindow ?? 1;
    this.maxTracked = options.maxTrackedEntries ?? 100_000;
    this.warmupMs = options.warmupMs ?? 3_600_000;
  }

  /** Number of entries currently tracked. */
  get tracked(): number {
    return this.rates.size;
  }

  /** Records `count` matches of entry `key` at `nowMs` (epoch ms) and says whether it floods. */
  record(key: string, nowMs: number, count = 1): FloodObservation {
    if (this.startMs === null) this.startMs = nowMs;
    let rate = this.rates.get(key);
    const bucket = Math.floor(nowMs / this.bucketMs);
    if (!rate) {
      if (this.rates.size >= this.maxTracked) this.prune(bucket);
      rate = { counts: new Uint32Array(this.buckets), head: bucket, windowCount: 0, baseline: this.minExpected / this.buckets };
      this.rates.set(key, rate);
    } else {
      this.advance(rate, bucket);
      // Keep recently active entries last in iteration order (pruning removes from the front).
      this.rates.delete(key);
      this.rates.set(key, rate);
    }
    rate.counts[rate.head % this.buckets] += count;
    rate.windowCount += count;
    const expected = Math.max(this.minExpected, rate.baseline * this.buckets);
    const flood = nowMs - this.startMs >= this.warmupMs && rate.windowCount >= this.minCount && rate.windowCount > this.ratio * expected;
    return { flood, windowCount: rate.windowCount, expectedPerWindow: expected };
  }

  /**
   * Forgets the current window of `key` (e.g. after a person cleared its quarantine), keeping its
   * baseline, so the flood that was reviewed does not trigger again at once.
   */
  reset(key: string): void {
    const rate = this.rates.get(key);
    if (!rate) return;
    rate.counts.fill(0);
    rate.windowCount = 0;
  }

  /** Stops tracking `key` (entry deleted). */
  forget(key: string): void {
    this.rates.delete(key);
  }

  private advance(rate: EntryRate, bucket: number): void {
    if (bucket <= rate.head) return; // same bucket, or the clock went back: count in the newest bucket
    const steps = bucket - rate.head;
    // Close the head bucket, then `steps - 1` empty ones.
    rate.baseline = this.decay * rate.baseline + (1 - this.decay) * rate.counts[rate.head % this.buckets];
    rate.baseline *= Math.pow(this.decay, Math.min(steps - 1, 1e6));
    if (steps >= this.buckets) {
      rate.counts.fill(0);
      rate.windowCount = 0;
    } else {
      for (let b = rate.head + 1; b <= bucket; b++) {
        const slot = b % this.buckets;
        rate.windowCount -= rate.counts[slot];
        rate.counts[slot] = 0;
      }
    }
    rate.head = bucket;
  }

  private prune(bucket: number): void {
    // Drop entries idle for a whole window first (oldest activity first), then the oldest.
    for (const [k, r] of this.rates) {
      if (this.rates.size < this.maxTracked) return;
      if (bucket - r.head >= this.buckets) this.rates.delete(k);
    }
    for (const k of this.rates.keys()) {
      if (this.rates.size < this.maxTracked) return;
      this.rates.delete(k);
    }
  }
}
