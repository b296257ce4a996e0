import { setTimeout as delay } from 'node:timers/promises';
import { isSafeguardError } from '@safeguard/domain';
import { TransportErrorCodes } from '../errors';
import type { MessageControl } from './driver';

/** What the runtime does with a failed message. */
export type FailureKind = 'invalid' | 'capacity' | 'outage' | 'retry';

/**
 * Codes of transient failures of the pipeline's own infrastructure: the broker did not
 * acknowledge an output (`produce_failed`) or the schema registry could not be reached
 * (`schema_registry_unavailable`). They say nothing about the message, so the consumer retries
 * them until they pass instead of dead-lettering good messages during a broker or registry outage.
 */
export const OUTAGE_CODES: ReadonlySet<string> = new Set<string>([TransportErrorCodes.produceFailed, TransportErrorCodes.schemaRegistryUnavailable]);

/** True when some class in `err`'s prototype chain has this name (works across package copies). */
function hasClass(err: unknown, name: string): boolean {
  let proto: unknown = err !== null && typeof err === 'object' ? Object.getPrototypeOf(err) : null;
  while (proto && proto !== Object.prototype) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === name) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

/**
 * Classifies a handler failure: `InvalidInputError` and any non-retriable `SafeguardError` →
 * `invalid` (dead-letter now); `CapacityError` → `capacity` (pause, re-deliver); a retriable
 * `SafeguardError` with one of the {@link OUTAGE_CODES}, itself or as a `cause` of a retriable
 * error → `outage` (backoff and retry until it passes, never dead-lettered for it); everything
 * else, other `TransientError`s and unknown errors included → `retry` (backoff, then dead-letter).
 */
export function classifyFailure(err: unknown): FailureKind {
  if (hasClass(err, 'CapacityError')) return 'capacity';
  if (hasClass(err, 'InvalidInputError')) return 'invalid';
  if (isSafeguardError(err) && !err.retriable) return 'invalid';
  if (isOutage(err)) return 'outage';
  return 'retry';
}

/**
 * True when `err`, or an error in its `cause` chain (a handler that wraps the transport's error in
 * its own, e.g. `output_failed`), is a retriable `SafeguardError` with one of the {@link OUTAGE_CODES}.
 */
function isOutage(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    if (isSafeguardError(e) && e.retriable && OUTAGE_CODES.has(e.code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The dead-letter reason of an error: its stable code, or `unexpected_error` for foreign errors. */
export function reasonOf(err: unknown): string {
  return isSafeguardError(err) && /^[a-z][a-z0-9_]*$/.test(err.code) ? err.code : TransportErrorCodes.unexpectedError;
}

/**
 * Waits `ms` while keeping the group membership alive (a heartbeat every `heartbeatIntervalMs`).
 * @returns false when the control's signal aborted first (stop or revocation).
 * @throws whatever the heartbeat throws (a rebalance): the driver must see it.
 */
export async function sleepWithHeartbeats(ms: number, control: MessageControl, heartbeatIntervalMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (control.signal.aborted) return false;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return true;
    try {
      await delay(Math.min(remaining, heartbeatIntervalMs), undefined, { signal: control.signal });
    } catch {
      return false;
    }
    await control.heartbeat();
  }
}

/**
 * Runs `fn` while heartbeating in the background, so a handler that takes longer than the session
 * timeout does not get its member expelled. Heartbeat failures are ignored here: the driver's next
 * heartbeat after the message sees the rebalance again.
 */
export async function withHeartbeats<T>(control: MessageControl, heartbeatIntervalMs: number, fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    // Once stopping (or revoked), stop vouching for a handler that may be stuck: a hung process
    // must leave the group by session timeout so its partitions move on.
    if (!control.signal.aborted) control.heartbeat().catch(() => undefined);
  }, heartbeatIntervalMs);
  timer.unref?.();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
