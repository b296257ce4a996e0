import { InvalidInputError, SafeguardError, TransientError } from '@safeguard/domain';

/**
 * Reason codes thrown by `@safeguard/reporting`. Closed set: safe as dead-letter reasons and
 * metric labels.
 */
export type ReportingErrorCode =
  | 'invalid_event'
  | 'invalid_config'
  | 'invalid_case'
  | 'invalid_transition'
  | 'forbidden_role'
  | 'claim_required'
  | 'claim_conflict'
  | 'version_conflict'
  | 'not_found'
  | 'xml_invalid_char'
  | 'signature_invalid'
  | 'key_invalid'
  | 'retention_too_long'
  | 'delivery_rejected'
  | 'delivery_unavailable'
  | 'delivery_unconfigured'
  | 'audit_chain_broken'
  | 'store_locked';

/** Bad input or a forbidden request: never retried, the caller must change what it sends. */
export class ReportingInputError extends InvalidInputError {
  constructor(code: ReportingErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * A concurrent writer changed the record first (optimistic concurrency): reload and retry.
 * Code `version_conflict` or `claim_conflict`.
 */
export class ConflictError extends SafeguardError {
  constructor(code: 'version_conflict' | 'claim_conflict', message: string) {
    super(code, message, { retriable: code === 'version_conflict' });
  }
}

/** An authority endpoint failed in a way that may pass (5xx, timeout, dropped connection). */
export class DeliveryUnavailableError extends TransientError {
  /** HTTP status when one was received. */
  readonly httpStatus?: number;
  constructor(message: string, options: { cause?: unknown; httpStatus?: number } = {}) {
    super('delivery_unavailable', message, { cause: options.cause });
    this.httpStatus = options.httpStatus;
  }
}

/**
 * An authority rejected a request for good (NCMEC 4100 validation failed, 4xx from the EU
 * Centre, bad credentials). Never retried; `authorityCode` carries NCMEC's `responseCode`.
 */
export class DeliveryRejectedError extends InvalidInputError {
  /** NCMEC `responseCode` (e.g. 4100) when the authority sent one. */
  readonly authorityCode?: number;
  /** HTTP status of the rejecting response. */
  readonly httpStatus?: number;
  constructor(message: string, options: { authorityCode?: number; httpStatus?: number; cause?: unknown } = {}) {
    super('delivery_rejected', message, { cause: options.cause });
    this.authorityCode = options.authorityCode;
    this.httpStatus = options.httpStatus;
  }
}
