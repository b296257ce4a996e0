/**
 * Errors that tell the runtime what to do, not just what went wrong.
 *
 * Why: every consumer loop in Safeguard must decide, for each failed message, between
 * dead-lettering it now, retrying it, or pausing intake. Branching on messages is brittle, so
 * each error carries a stable `code` (also used as a dead-letter reason and a metric label, so
 * codes come from closed sets) and a `retriable` flag. Subclasses name the action.
 */
export class SafeguardError extends Error {
  /** Stable, lowercase, snake_case reason code, e.g. `decode_failed`. Safe as a metric label. */
  readonly code: string;
  /** True when the same input may succeed later (network blip, broker unavailable). */
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** The input itself is bad (schema violation, undecodable media): dead-letter it now, never retry. */
export class InvalidInputError extends SafeguardError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retriable: false });
  }
}

/** A dependency failed in a way that may pass (timeout, 5xx, broker leader change): retry with backoff. */
export class TransientError extends SafeguardError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retriable: true });
  }
}

/** The process is at capacity (worker queue full): pause the consumer and resume when drained. */
export class CapacityError extends SafeguardError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retriable: true });
  }
}

/** True when `err` is a {@link SafeguardError} (works across package copies by checking shape). */
export function isSafeguardError(err: unknown): err is SafeguardError {
  return (
    err instanceof SafeguardError ||
    (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { retriable?: unknown }).retriable === 'boolean')
  );
}
