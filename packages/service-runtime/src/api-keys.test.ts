import { z } from 'zod';
import { bearerToken, hashApiKey, lookupApiKey, MIN_API_KEY_LENGTH, parseApiKeyList, parsePlatformKeyEntry, type ApiKeyListOptions } from './api-keys';
import { parseConfig } from './config';

const KEY = 'k'.repeat(MIN_API_KEY_LENGTH);
const OTHER = 'o'.repeat(40);

/** A config schema with one key list variable, so issues read as they do in a service. */
function schemaWith(options: Omit<ApiKeyListOptions<string>, 'parseEntry'>) {
  return z.object({ KEYS: z.string().optional() }).transform((env, ctx) => parseApiKeyList(env.KEYS, { parseEntry: parsePlatformKeyEntry, ...options }, ctx));
}

function parse(value: string | undefined, options: Omit<ApiKeyListOptions<string>, 'parseEntry'> = { path: 'KEYS' }) {
  return parseConfig(schemaWith(options), value === undefined ? {} : { KEYS: value });
}

describe('hashApiKey', () => {
  it('is the sha256 hex of the UTF-8 key', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey('é')).toBe(hashApiKey('\u00e9'));
    expect(hashApiKey(KEY)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer header, whatever the scheme case', () => {
    expect(bearerToken(`Bearer ${KEY}`)).toBe(KEY);
    expect(bearerToken(`bearer   ${KEY}`)).toBe(KEY);
  });

  it('refuses absent, empty, other-scheme and multi-token headers', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken(`Basic ${KEY}`)).toBeUndefined();
    expect(bearerToken(`Bearer ${KEY} extra`)).toBeUndefined();
  });
});

describe('lookupApiKey', () => {
  const table = new Map([[hashApiKey(KEY), 'platform-a']]);

  it('finds the owner of a known key by its digest', () => {
    expect(lookupApiKey(table, KEY)).toBe('platform-a');
  });

  it('finds nothing for unknown, missing or empty keys, nor for the digest given as the key', () => {
    expect(lookupApiKey(table, OTHER)).toBeUndefined();
    expect(lookupApiKey(table, undefined)).toBeUndefined();
    expect(lookupApiKey(new Map([[hashApiKey(''), 'empty']]), '')).toBeUndefined();
    expect(lookupApiKey(table, hashApiKey(KEY))).toBeUndefined();
  });
});

describe('parsePlatformKeyEntry', () => {
  it('maps the key digest to the platform id; the key may contain colons', () => {
    expect(parsePlatformKeyEntry(`p-1.x_y:${KEY}`)).toEqual({ digest: hashApiKey(KEY), owner: 'p-1.x_y' });
    expect(parsePlatformKeyEntry(`p:${KEY}:tail`)).toEqual({ digest: hashApiKey(`${KEY}:tail`), owner: 'p' });
  });

  it('refuses short keys, bad or missing platform ids and entries without a separator', () => {
    const problem = { problem: `expected <platformId>:<key> with a key of at least ${MIN_API_KEY_LENGTH} characters` };
    expect(parsePlatformKeyEntry(`p:${KEY.slice(1)}`)).toEqual(problem);
    expect(parsePlatformKeyEntry(`p 1:${KEY}`)).toEqual(problem);
    expect(parsePlatformKeyEntry(`${'p'.repeat(65)}:${KEY}`)).toEqual(problem);
    expect(parsePlatformKeyEntry(`:${KEY}`)).toEqual(problem);
    expect(parsePlatformKeyEntry(KEY)).toEqual(problem);
  });
});

describe('parseApiKeyList', () => {
  it('keeps digests only, skipping empty items and spaces', () => {
    const r = parse(` a:${KEY} ,, b:${OTHER} ,`);
    expect(r.ok && [...r.config.entries()]).toEqual([
      [hashApiKey(KEY), 'a'],
      [hashApiKey(OTHER), 'b'],
    ]);
    expect(JSON.stringify(r.ok && [...r.config])).not.toContain(KEY);
  });

  it('reports every refused entry by its position under the variable', () => {
    const r = parse(`a:short,b:${KEY},c d:${OTHER}`);
    expect(r.ok ? [] : r.errors).toEqual([
      `KEYS: entry 1: expected <platformId>:<key> with a key of at least ${MIN_API_KEY_LENGTH} characters`,
      `KEYS: entry 3: expected <platformId>:<key> with a key of at least ${MIN_API_KEY_LENGTH} characters`,
    ]);
  });

  it('reports at the refinement path when no variable is named', () => {
    const r = parse('a:short', {});
    expect(r.ok ? [] : r.errors).toEqual([`(config): entry 1: expected <platformId>:<key> with a key of at least ${MIN_API_KEY_LENGTH} characters`]);
  });

  it('accepts an empty list unless a key is required', () => {
    const r = parse(undefined);
    expect(r.ok && r.config.size).toBe(0);
    const required = parse(' , ', { path: 'KEYS', requiredMessage: 'at least one entry is required' });
    expect(required.ok ? [] : required.errors).toEqual(['KEYS: at least one entry is required']);
  });

  it('by default also reports the requirement when every entry was refused', () => {
    const r = parse('a:short', { path: 'KEYS', requiredMessage: 'at least one entry is required' });
    expect(r.ok ? [] : r.errors).toEqual([expect.stringMatching(/^KEYS: entry 1: /), 'KEYS: at least one entry is required']);
  });

  it('with requiredOnlyWhenEmpty, reports only the refused entries', () => {
    const r = parse('a:short', { path: 'KEYS', requiredMessage: 'at least one entry is required', requiredOnlyWhenEmpty: true });
    expect(r.ok ? [] : r.errors).toEqual([expect.stringMatching(/^KEYS: entry 1: /)]);
    const empty = parse('', { path: 'KEYS', requiredMessage: 'at least one entry is required', requiredOnlyWhenEmpty: true });
    expect(empty.ok ? [] : empty.errors).toEqual(['KEYS: at least one entry is required']);
  });

  it('lets the later entry win a repeated key, or refuses it when asked', () => {
    const lastWins = parse(`a:${KEY},b:${KEY}`);
    expect(lastWins.ok && [...lastWins.config.entries()]).toEqual([[hashApiKey(KEY), 'b']]);
    const refused = parse(`a:${KEY},b:${OTHER},c:${KEY}`, { path: 'KEYS', rejectDuplicates: true });
    expect(refused.ok ? [] : refused.errors).toEqual(['KEYS: entry 3: the same key is given twice']);
  });
});
