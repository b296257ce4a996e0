import { createHash } from 'node:crypto';
import type { z } from 'zod';

/**
 * Minimum length of an API key given in clear: 128 bits of entropy as 24 or more base64 or hex
 * characters.
 */
export const MIN_API_KEY_LENGTH = 24;

/** What an API key may map to as an id (platform, staff or system id): 1-64 of `[A-Za-z0-9._-]`. */
export const API_KEY_OWNER_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The sha256 hex digest of an API key (64 lowercase hex characters): the form in which keys are
 * held and compared. Services keep only digests, never the keys themselves.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive, one
 * token without spaces), or undefined when the header is absent or has another form.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
}

/**
 * Finds who a presented API key belongs to in a table keyed by {@link hashApiKey} digests.
 * The key is hashed before the lookup, so the lookup's timing depends only on the digest, which
 * a caller cannot steer towards a stored one: comparing digests this way reveals nothing about
 * the stored keys, unlike comparing keys byte by byte. Undefined for a missing or empty key or
 * an unknown one.
 */
export function lookupApiKey<T>(keys: ReadonlyMap<string, T>, key: string | undefined): T | undefined {
  if (!key) return undefined;
  return keys.get(hashApiKey(key));
}

/** One entry of an API key list: the key's digest and its owner, or why the entry is refused. */
export type ApiKeyEntry<T> = { digest: string; owner: T } | { problem: string };

/** How {@link parseApiKeyList} reads a list. */
export interface ApiKeyListOptions<T> {
  /** Parses one entry (trimmed, never empty). */
  parseEntry: (entry: string) => ApiKeyEntry<T>;
  /** Variable the issues are reported under (e.g. `INGEST_API_KEYS`). Default: the refinement's own path. */
  path?: string;
  /** Reported when the list yields no usable key. Default undefined: a list without keys is accepted. */
  requiredMessage?: string;
  /**
   * Whether {@link requiredMessage} is reported only for a list without any entry (true), or also
   * when every entry was refused and already reported (false). Default false.
   */
  requiredOnlyWhenEmpty?: boolean;
  /**
   * Refuse a key given twice (`entry N: the same key is given twice`). Default false: the later
   * entry wins.
   */
  rejectDuplicates?: boolean;
}

/**
 * Parses a comma-separated API key list inside a zod `transform` or `superRefine`: every refused
 * entry is reported as `entry <1-based position>: <problem>` (all of them, not only the first),
 * empty items are skipped. Returns the usable keys, digest → owner.
 */
export function parseApiKeyList<T>(value: string | undefined, options: ApiKeyListOptions<T>, ctx: z.RefinementCtx): Map<string, T> {
  const keys = new Map<string, T>();
  const issue = (message: string): void => ctx.addIssue({ code: 'custom', message, ...(options.path ? { path: [options.path] } : {}) });
  const entries = (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const [i, entry] of entries.entries()) {
    const parsed = options.parseEntry(entry);
    if ('problem' in parsed) {
      issue(`entry ${i + 1}: ${parsed.problem}`);
      continue;
    }
    if (options.rejectDuplicates && keys.has(parsed.digest)) issue(`entry ${i + 1}: the same key is given twice`);
    keys.set(parsed.digest, parsed.owner);
  }
  const missing = options.requiredOnlyWhenEmpty ? entries.length === 0 : keys.size === 0;
  if (missing && options.requiredMessage !== undefined) issue(options.requiredMessage);
  return keys;
}

/**
 * Parses a `<platformId>:<key>` entry: the platform id matches {@link API_KEY_OWNER_ID_PATTERN}
 * and the key has at least {@link MIN_API_KEY_LENGTH} characters (it may contain colons).
 */
export function parsePlatformKeyEntry(entry: string): ApiKeyEntry<string> {
  const sep = entry.indexOf(':');
  const platform = sep > 0 ? entry.slice(0, sep) : '';
  const key = sep > 0 ? entry.slice(sep + 1) : '';
  if (!API_KEY_OWNER_ID_PATTERN.test(platform) || key.length < MIN_API_KEY_LENGTH) {
    return { problem: `expected <platformId>:<key> with a key of at least ${MIN_API_KEY_LENGTH} characters` };
  }
  return { digest: hashApiKey(key), owner: platform };
}
