import { InvalidInputError, TransientError } from '@safeguard/domain';

/**
 * Why two classes with closed code sets: the transport decides from the class alone whether a
 * failed fetch is dead-lettered now (the reference itself is bad: refused, missing, too large)
 * or retried with backoff (the storage may recover: timeouts, 5xx, resets), and the code is the
 * dead-letter reason and a metric label. Messages never contain the URI (it may carry tokens).
 */
export type FetchRefusalCode =
  /** The policy refused the reference: scheme, address (SSRF), path outside the file roots, symlink escape, HTTPS→HTTP downgrade. */
  | 'fetch_refused'
  /** The URI could not be parsed or names no usable host/path. */
  | 'fetch_invalid_uri'
  /** 404/410, or no such file. */
  | 'fetch_not_found'
  /** 401/403, or a file the process may not read. */
  | 'fetch_forbidden'
  /** Another 4xx, or a status the fetcher cannot use (1xx, 304, a redirect without Location). */
  | 'fetch_client_error'
  /** More bytes than the cap (declared by Content-Length, or counted while streaming). */
  | 'fetch_too_large'
  /** The server's TLS certificate did not verify (wrong host, unknown CA, expired). */
  | 'fetch_tls_failed'
  /** More redirects than allowed. */
  | 'fetch_too_many_redirects'
  /** The submission names neither a URI nor inline bytes. */
  | 'media_reference_missing';

/** Failures that may pass on a later attempt. */
export type FetchTransientCode =
  /** Connect, response or total time budget exceeded; or HTTP 408. */
  | 'fetch_timeout'
  /** HTTP 5xx. */
  | 'fetch_server_error'
  /** HTTP 429. */
  | 'fetch_throttled'
  /** The host name did not resolve (NXDOMAIN, resolver unavailable). */
  | 'fetch_dns_failed'
  /** Refused or reset connection, malformed response, body cut short. */
  | 'fetch_connection_failed'
  /** A local I/O error reading a file (EIO, EMFILE…). */
  | 'fetch_io_error';

/** A reference the hasher will never be able to fetch: dead-lettered at once with its code. */
export class FetchRefusedError extends InvalidInputError {
  declare readonly code: FetchRefusalCode;

  constructor(code: FetchRefusalCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A fetch that may succeed later: retried by the transport, then dead-lettered with its code. */
export class FetchTransientError extends TransientError {
  declare readonly code: FetchTransientCode;

  constructor(code: FetchTransientCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** Either fetch error. */
export type FetchError = FetchRefusedError | FetchTransientError;

/** True for the errors the fetchers raise on purpose. */
export function isFetchError(err: unknown): err is FetchError {
  return err instanceof FetchRefusedError || err instanceof FetchTransientError;
}
