/**
 * Hamming distance between PDQ hashes.
 *
 * Why: matching is "distance ≤ threshold", done millions of times per second by the matcher, so
 * the core is a branch-free 32-bit popcount over typed arrays that never allocates. Because every
 * form ({@link PdqHash} bytes, {@link PdqWords}, hex) keeps the same bit order, distances agree
 * across forms.
 */
import { PDQ_HASH_BYTES, PDQ_HASH_WORDS, isPdqHex } from './layout';
import type { PdqHash, PdqWords } from './layout';

/** Number of set bits in the low 32 bits of `v` (SWAR popcount, no table, no allocation). */
export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  v = (v + (v >>> 4)) & 0x0f0f0f0f;
  return Math.imul(v, 0x01010101) >>> 24;
}

/**
 * Hamming distance between two {@link PdqHash} byte arrays (0..256).
 * @throws RangeError when either is not 32 bytes.
 */
export function pdqDistance(a: PdqHash, b: PdqHash): number {
  if (a.length !== PDQ_HASH_BYTES || b.length !== PDQ_HASH_BYTES) throw new RangeError('PDQ hashes must be 32 bytes');
  let d = 0;
  for (let i = 0; i < PDQ_HASH_BYTES; i += 4) {
    const x = ((a[i] ^ b[i]) << 24) | ((a[i + 1] ^ b[i + 1]) << 16) | ((a[i + 2] ^ b[i + 2]) << 8) | (a[i + 3] ^ b[i + 3]);
    d += popcount32(x);
  }
  return d;
}

/**
 * Hamming distance between two hashes stored as {@link PdqWords}, optionally at offsets inside
 * larger packed arrays (`n` hashes stored as `8n` consecutive words). Does not check bounds:
 * callers index their own arrays.
 * @param aOffset index of the first word of hash `a` (default 0).
 * @param bOffset index of the first word of hash `b` (default 0).
 */
export function pdqDistanceWords(a: PdqWords, b: PdqWords, aOffset = 0, bOffset = 0): number {
  return (
    popcount32(a[aOffset] ^ b[bOffset]) +
    popcount32(a[aOffset + 1] ^ b[bOffset + 1]) +
    popcount32(a[aOffset + 2] ^ b[bOffset + 2]) +
    popcount32(a[aOffset + 3] ^ b[bOffset + 3]) +
    popcount32(a[aOffset + 4] ^ b[bOffset + 4]) +
    popcount32(a[aOffset + 5] ^ b[bOffset + 5]) +
    popcount32(a[aOffset + 6] ^ b[bOffset + 6]) +
    popcount32(a[aOffset + 7] ^ b[bOffset + 7])
  );
}

/**
 * Like {@link pdqDistanceWords} but stops early: returns a number greater than `limit` as soon
 * as the partial distance exceeds it (the exact value is then unspecified). For threshold scans.
 */
export function pdqDistanceWordsWithin(a: PdqWords, b: PdqWords, limit: number, aOffset = 0, bOffset = 0): number {
  let d = 0;
  for (let w = 0; w < PDQ_HASH_WORDS; w++) {
    d += popcount32(a[aOffset + w] ^ b[bOffset + w]);
    if (d > limit) return d;
  }
  return d;
}

/**
 * Hamming distance between two hashes in the reference's hex text (either case).
 * @throws RangeError when either is not 64 hex digits.
 */
export function pdqDistanceHex(a: string, b: string): number {
  if (!isPdqHex(a) || !isPdqHex(b)) throw new RangeError('PDQ hex must be 64 hex digits');
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    d += popcount32(parseInt(a.substring(i, i + 8), 16) ^ parseInt(b.substring(i, i + 8), 16));
  }
  return d;
}
