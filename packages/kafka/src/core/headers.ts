import type { Headers } from '../types';

/** Header values as Kafka clients hand them over: bytes, strings, repeated keys as arrays. */
export type RawHeaderValue = Buffer | string | ReadonlyArray<Buffer | string> | undefined | null;

/**
 * Turns typed headers into the bytes put on the wire (UTF-8). Keys and values pass unchanged;
 * `undefined` values are dropped.
 */
export function encodeHeaders(headers: Headers | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Buffer.from(String(value), 'utf8');
  }
  return out;
}

/**
 * Turns wire headers into typed headers: bytes decode as UTF-8; when a key repeats, the last value
 * wins (like the Java client's `lastHeader`); null values are dropped.
 */
export function decodeHeaders(raw: Readonly<Record<string, RawHeaderValue>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const [name, value] of Object.entries(raw)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined || last === null) continue;
    out[name] = typeof last === 'string' ? last : Buffer.from(last as Buffer).toString('utf8');
  }
  return out;
}
