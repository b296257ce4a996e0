/**
 * Bounded exponential backoff with jitter for authority deliveries. (Kafka-level retries live in
 * `@safeguard/kafka`; this one schedules outbox attempts, which outlive any consumer loop.)
 */
export interface BackoffPolicy {
  /** Delay after the first failure. Default 2 s. */
  baseMs: number;
  /** Cap on any single delay. Default 10 min: authorities' outages are usually short, and a report must not wait hours. */
  maxMs: number;
  /** Failed attempts before the record fails for good (`attempts_exhausted`). Default 12 (about an hour of retrying). */
  maxAttempts: number;
  /** Fraction of the delay randomised away (0..1), so replicas do not retry in lockstep. Default 0.2. */
  jitter: number;
}

/** Defaults of {@link BackoffPolicy}. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 10 * 60_000, maxAttempts: 12, jitter: 0.2 };

/**
 * Delay before attempt `attempt + 1` after `attempt` consecutive failures (1-based), in ms:
 * `min(maxMs, baseMs * 2^(attempt-1))`, reduced by up to `jitter` of itself.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (1 - policy.jitter * random()));
}
