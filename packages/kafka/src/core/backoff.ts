import { TransportConfigError } from '../errors';
import type { RetryOptions } from '../types';

/** Retry options with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** Defaults of {@link RetryOptions}; see there for the trade-offs. */
export const DEFAULT_RETRY: ResolvedRetryOptions = { attempts: 5, baseDelayMs: 200, maxDelayMs: 30_000, jitter: 0.5 };

/**
 * Fills defaults and validates.
 * @throws TransportConfigError (`invalid_config`) on a non-positive attempt count, negative delays or jitter outside 0..1.
 */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY, ...stripUndefined(options) };
  if (!Number.isInteger(resolved.attempts) || resolved.attempts < 1) throw new TransportConfigError(`retry.attempts must be an integer >= 1, got ${resolved.attempts}`);
  if (!(resolved.baseDelayMs >= 0)) throw new TransportConfigError(`retry.baseDelayMs must be >= 0, got ${resolved.baseDelayMs}`);
  if (!(resolved.maxDelayMs >= resolved.baseDelayMs)) throw new TransportConfigError(`retry.maxDelayMs must be >= baseDelayMs, got ${resolved.maxDelayMs}`);
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) throw new TransportConfigError(`retry.jitter must be within 0..1, got ${resolved.jitter}`);
  return resolved;
}

/**
 * Delay before retry number `retry` (1 = the first retry), ms:
 * `cap = min(maxDelayMs, baseDelayMs * 2^(retry-1))`, minus a random share `jitter * random() * cap`.
 * So delays lie within `[cap * (1 - jitter), cap]`.
 *
 * @param random - source of uniform numbers in [0, 1); injectable for tests.
 */
export function backoffDelayMs(retry: number, options: ResolvedRetryOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, retry - 1);
  // 2^exponent overflows to Infinity long after it passes any sane maxDelayMs; Math.min handles it.
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  return Math.round(cap - options.jitter * random() * cap);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
