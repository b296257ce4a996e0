/** A JSON answer: HTTP status and parsed body (null for an empty body). */
export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
}

/**
 * Sends a JSON request with a bearer key and returns status and parsed body. Network errors
 * throw; HTTP error statuses do not (callers assert on them).
 */
export async function jsonRequest<T = unknown>(method: 'GET' | 'POST', url: string, key: string, body?: unknown, timeoutMs = 30_000): Promise<JsonResponse<T>> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<I, O>(items: readonly I[], limit: number, work: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const out: O[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
