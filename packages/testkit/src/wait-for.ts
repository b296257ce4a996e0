import { TestkitError, WaitTimeoutError } from './errors';

/** Values `waitFor` treats as "not yet". */
export type Falsy = false | 0 | 0n | '' | null | undefined;

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /**
   * Deadline in milliseconds from the call; default 10 000. Keep it below the jest test
   * timeout so the failure names what was awaited instead of "exceeded timeout".
   */
  timeoutMs?: number;
  /** Pause between evaluations in milliseconds; default 100. Lower costs CPU, higher costs latency. */
  intervalMs?: number;
  /** What is awaited, for the timeout message, e.g. `"3 records on the dead-letter topic"`. */
  description?: string;
}

/**
 * Polls `predicate` until it returns (or resolves to) a truthy value and returns that value.
 * A predicate that throws or rejects counts as "not yet"; its last error becomes the timeout's
 * `cause`. Deadline-based: an evaluation still pending at the deadline is abandoned, so a hung
 * predicate cannot outlive `timeoutMs`. Use it instead of sleeps to wait for asynchronous
 * outcomes (records arriving, a consumer joining, an index updating).
 *
 * @returns the first truthy value.
 * @throws WaitTimeoutError (`wait_timeout`) when the deadline passes.
 * @throws TestkitError `invalid_argument` for a negative/non-finite timeout or a non-positive interval.
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Exclude<T, Falsy>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const description = options.description ?? 'condition';
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new TestkitError('invalid_argument', `waitFor timeoutMs must be a finite number >= 0, got ${timeoutMs}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new TestkitError('invalid_argument', `waitFor intervalMs must be a finite number > 0, got ${intervalMs}`);
  }
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    attempts += 1;
    const outcome = await settleBefore(predicate, deadline - Date.now());
    if (outcome.kind === 'value') {
      if (outcome.value) return outcome.value as Exclude<T, Falsy>;
      lastValue = outcome.value;
      lastError = undefined;
    } else if (outcome.kind === 'error') {
      lastError = outcome.error;
    } else {
      lastError ??= new Error('the last evaluation was still pending at the deadline');
      break;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await delay(Math.min(intervalMs, remaining));
  }
  throw new WaitTimeoutError(description, timeoutMs, attempts, lastValue, lastError);
}

type Outcome<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'pending' };

async function settleBefore<T>(predicate: () => T | Promise<T>, remainingMs: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const evaluation = Promise.resolve()
    .then(predicate)
    .then(
      (value): Outcome<T> => ({ kind: 'value', value }),
      (error: unknown): Outcome<T> => ({ kind: 'error', error }),
    );
  const expiry = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'pending' }), Math.max(0, remainingMs));
  });
  try {
    return await Promise.race([evaluation, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
