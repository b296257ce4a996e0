import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ReportingInputError } from './errors';

/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation of `value`: object keys sorted by
 * UTF-16 code units, no whitespace, ECMAScript number formatting. Uses the `canonicalize`
 * package (written by an RFC 8785 co-author).
 *
 * Only plain JSON values are accepted: `undefined` members are dropped (as JSON.stringify
 * does), but a top-level `undefined`, functions, `NaN` or `Infinity` throw.
 *
 * @throws ReportingInputError `invalid_case` when the value has no JSON form.
 */
export function canonicalJson(value: unknown): string {
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (err) {
    throw new ReportingInputError('invalid_case', 'value cannot be canonicalised as JSON', { cause: err });
  }
  if (out === undefined) throw new ReportingInputError('invalid_case', 'value has no JSON form');
  return out;
}

/** Lowercase hex SHA-256 of a UTF-8 string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Deterministic identifier: `<prefix>_` followed by the first 32 hex digits (128 bits) of the
 * SHA-256 of the canonical JSON of `parts`. The same parts always give the same id, so replays
 * and restarts never mint a second case or report for one incident.
 */
export function deterministicId(prefix: string, parts: readonly unknown[]): string {
  return `${prefix}_${sha256Hex(canonicalJson(parts)).slice(0, 32)}`;
}
