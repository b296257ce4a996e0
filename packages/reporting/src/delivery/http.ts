import { DeliveryRejectedError, DeliveryUnavailableError } from '../errors';

/** The `fetch` function (injectable for tests). */
export type FetchLike = typeof fetch;

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a network error means the request certainly never reached the server. */
export function certainlyNotSent(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A transient failure whose request may have been processed (connection lost after sending). */
export class AmbiguousDeliveryError extends DeliveryUnavailableError {}

/** Response of {@link httpRequest}. */
export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * One HTTP request with a timeout. Network failures and timeouts become
 * `DeliveryUnavailableError` (or {@link AmbiguousDeliveryError} when the request may have
 * arrived); statuses are returned as they are.
 */
export async function httpRequest(
  fetchImpl: FetchLike,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | FormData | URLSearchParams },
  timeoutMs: number,
): Promise<HttpResponse> {
  let res: Response;
  try {
    res = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if (certainlyNotSent(err)) throw new DeliveryUnavailableError('authority endpoint unreachable', { cause: err });
    throw new AmbiguousDeliveryError('connection failed or timed out after the request was sent', { cause: err });
  }
  let body: string;
  try {
    body = await res.text();
  } catch (err) {
    throw new AmbiguousDeliveryError('response body lost', { cause: err, httpStatus: res.status });
  }
  return { status: res.status, body };
}

/** Throws the right error for a non-2xx HTTP status: 408/429/5xx are transient, other 4xx permanent. */
export function throwForStatus(status: number, what: string, authorityCode?: number): void {
  if (status >= 200 && status < 300) return;
  if (status === 408 || status === 429 || status >= 500) throw new DeliveryUnavailableError(`${what}: HTTP ${status}`, { httpStatus: status });
  throw new DeliveryRejectedError(`${what}: HTTP ${status}${authorityCode !== undefined ? `, responseCode ${authorityCode}` : ''}`, {
    httpStatus: status,
    ...(authorityCode !== undefined ? { authorityCode } : {}),
  });
}
