/** Options of {@link Deduplicator}. */
export interface DeduplicatorOptions {
  /** How long a key is remembered after its publication, ms. */
  windowMs: number;
  /** Most keys remembered; the oldest are forgotten first. */
  maxEntries: number;
  /** Clock, epoch ms (tests inject a fake). */
  now?: () => number;
}

/** What {@link Deduplicator.once} did. */
export type OnceResult<T> = { duplicate: true } | { duplicate: false; value: T };

/**
 * Remembers which keys (platform + content id, or platform + conversation + message id) were
 * published recently, so a platform's retry within the window is acknowledged without a second
 * event. Why this shape: a key is remembered only once its publication succeeded (a failed
 * publish can be retried), and concurrent requests for the same key wait for the first instead
 * of racing it. Memory is bounded by `maxEntries`. Per replica: downstream handlers are
 * idempotent on the content id, so a duplicate that reaches another replica costs work, not
 * correctness.
 */
export class Deduplicator {
  private readonly seen = new Map<string, number>(); // key -> expiry, in insertion (= time) order
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly now: () => number;

  constructor(private readonly options: DeduplicatorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Number of keys remembered. */
  get size(): number {
    return this.seen.size;
  }

  /** True if `key` was published within the window. */
  has(key: string): boolean {
    const expiry = this.seen.get(key);
    if (expiry === undefined) return false;
    if (expiry <= this.now()) {
      this.seen.delete(key);
      return false;
    }
    return true;
  }

  /**
   * Runs `publish` unless `key` was published within the window or is being published now.
   * Rejects with `publish`'s error (the key is then not remembered).
   */
  async once<T>(key: string, publish: () => Promise<T>): Promise<OnceResult<T>> {
    for (;;) {
      if (this.has(key)) return { duplicate: true };
      const pending = this.inFlight.get(key);
      if (pending === undefined) break;
      try {
        await pending;
      } catch {
        // The first attempt failed: loop and try ourselves.
      }
    }
    const attempt = publish();
    this.inFlight.set(key, attempt);
    try {
      const value = await attempt;
      this.remember(key);
      return { duplicate: false, value };
    } finally {
      this.inFlight.delete(key);
    }
  }

  private remember(key: string): void {
    const now = this.now();
    this.seen.delete(key);
    this.seen.set(key, now + this.options.windowMs);
    for (const [oldest, expiry] of this.seen) {
      if (this.seen.size <= this.options.maxEntries && expiry > now) break;
      this.seen.delete(oldest);
    }
  }
}
