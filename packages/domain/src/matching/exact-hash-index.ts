import { InvalidInputError } from '../errors';

/** Cryptographic hash algorithms matched exactly, with their digest length in hex digits. */
export const CRYPTO_HEX_LENGTHS = { md5: 32, sha1: 40, sha256: 64 } as const;

/** A cryptographic hash algorithm id: `md5`, `sha1` or `sha256`. */
export type CryptoAlgorithm = keyof typeof CRYPTO_HEX_LENGTHS;

/**
 * Exact lookup of cryptographic digests (MD5, SHA-1, SHA-256): hex → ids.
 *
 * Why separate from PDQ: a digest either matches or it does not, so a hash map is exact and
 * O(1). Keys are the lowercase hex digest (case is normalised on add and lookup); a key holding
 * several ids (the same digest in several entries) stores an array. Ids are handed out densely
 * like {@link PdqIndex} ids, so callers can keep per-entry data in typed arrays.
 */
export class ExactHashIndex {
  private readonly byHex = new Map<string, number | number[]>();
  private hexById: (string | undefined)[] = [];
  private readonly free: number[] = [];
  private liveCount = 0;
  /** Digest length in hex digits this index accepts. */
  readonly hexLength: number;

  /** @param algorithm - the digest algorithm; fixes the accepted hex length. */
  constructor(readonly algorithm: CryptoAlgorithm) {
    this.hexLength = CRYPTO_HEX_LENGTHS[algorithm];
  }

  /** Live entries. */
  get size(): number {
    return this.liveCount;
  }

  /** Lowercase `hex` after checking length and charset. @throws InvalidInputError `hash_hex_invalid`. */
  normalize(hex: string): string {
    if (hex.length !== this.hexLength || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new InvalidInputError('hash_hex_invalid', `${this.algorithm} digest must be ${this.hexLength} hex digits`);
    }
    return hex.toLowerCase();
  }

  /** Adds a digest and returns its id. @throws InvalidInputError `hash_hex_invalid`. */
  add(hex: string): number {
    const key = this.normalize(hex);
    const id = this.free.length > 0 ? (this.free.pop() as number) : this.hexById.length;
    this.hexById[id] = key;
    const cur = this.byHex.get(key);
    if (cur === undefined) this.byHex.set(key, id);
    else if (typeof cur === 'number') this.byHex.set(key, [cur, id]);
    else cur.push(id);
    this.liveCount++;
    return id;
  }

  /** Removes entry `id`; false when it was not live. */
  remove(id: number): boolean {
    const key = this.hexById[id];
    if (key === undefined) return false;
    const cur = this.byHex.get(key);
    if (typeof cur === 'number') this.byHex.delete(key);
    else if (cur) {
      const rest = cur.filter((x) => x !== id);
      this.byHex.set(key, rest.length === 1 ? rest[0] : rest);
    }
    this.hexById[id] = undefined;
    this.free.push(id);
    this.liveCount--;
    return true;
  }

  /** True when `id` is live. */
  has(id: number): boolean {
    return this.hexById[id] !== undefined;
  }

  /** The digest of live entry `id`, lowercase hex, or undefined when `id` is not live. */
  hexOf(id: number): string | undefined {
    return this.hexById[id];
  }

  /** Ids of every live entry whose digest equals `hex` (ascending). @throws InvalidInputError `hash_hex_invalid`. */
  lookup(hex: string): number[] {
    const cur = this.byHex.get(this.normalize(hex));
    if (cur === undefined) return [];
    return typeof cur === 'number' ? [cur] : [...cur].sort((a, b) => a - b);
  }
}
