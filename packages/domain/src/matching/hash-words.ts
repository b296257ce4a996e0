import { InvalidInputError } from '../errors';

/** Number of 32-bit words in one 256-bit PDQ hash. */
export const PDQ_WORDS = 8;

/** Number of bits in one PDQ hash. */
export const PDQ_BITS = 256;

const HEX64 = /^[0-9a-fA-F]{64}$/;

/**
 * True when `hex` is a 256-bit PDQ hash in hex (64 hex digits; either case).
 */
export function isPdqHex(hex: string): boolean {
  return hex.length === 64 && HEX64.test(hex);
}

const PARSED = new Uint32Array(PDQ_WORDS);

/** Value of each ASCII hex digit (either case), -1 for every other character code below 128. */
const HEX_VALUE = ((): Int8Array => {
  const t = new Int8Array(128).fill(-1);
  for (let c = 0; c < 10; c++) t[48 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[65 + c] = 10 + c;
    t[97 + c] = 10 + c;
  }
  return t;
})();

/**
 * Parses a 64-digit hex PDQ hash into 8 unsigned 32-bit words, written to `out` at `offset`.
 *
 * The word order is this module's own: word `i` holds hex digits `8i .. 8i+7`. Only Hamming
 * distance is computed on these words, and any fixed bit order gives the same distance, so the
 * order does not follow PDQ's 16-bit word layout. {@link formatPdqWords} is the inverse.
 *
 * @param out - destination; a new `Uint32Array(8)` by default.
 * @param offset - first word written in `out`, in words (default 0).
 * @returns `out`.
 * @throws InvalidInputError `pdq_hex_invalid` when `hex` is not 64 hex digits.
 */
export function parsePdqHex(hex: string, out: Uint32Array = new Uint32Array(PDQ_WORDS), offset = 0): Uint32Array {
  if (hex.length !== 64) throw new InvalidInputError('pdq_hex_invalid', 'PDQ hash must be 64 hex digits');
  // Digit by digit (no regex, slices or parseInt: this runs once per indicator at start-up);
  // `out` is written only once the whole hash is valid.
  const w = PARSED;
  for (let i = 0; i < PDQ_WORDS; i++) {
    let x = 0;
    for (let k = i * 8; k < i * 8 + 8; k++) {
      const c = hex.charCodeAt(k);
      const v = c < 128 ? HEX_VALUE[c] : -1;
      if (v < 0) throw new InvalidInputError('pdq_hex_invalid', 'PDQ hash must be 64 hex digits');
      x = (x << 4) | v;
    }
    w[i] = x;
  }
  out.set(w, offset);
  return out;
}

/** Formats 8 words (as written by {@link parsePdqHex}) at `offset` back to 64 lowercase hex digits. */
export function formatPdqWords(words: Uint32Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < PDQ_WORDS; i++) s += (words[offset + i] >>> 0).toString(16).padStart(8, '0');
  return s;
}

/** Number of set bits in the low 32 bits of `x`. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  // Shift-add instead of a multiply: no global lookup (Math.imul), which is slow inside vm
  // contexts such as jest's; the same speed in plain Node.
  x += x >>> 8;
  x += x >>> 16;
  return x & 63;
}

/**
 * Hamming distance (0..256) between the 8-word hashes at `a[ai..ai+8)` and `b[bi..bi+8)`.
 */
export function hammingDistanceWords(a: Uint32Array, ai: number, b: Uint32Array, bi: number): number {
  return (
    popcount32(a[ai] ^ b[bi]) +
    popcount32(a[ai + 1] ^ b[bi + 1]) +
    popcount32(a[ai + 2] ^ b[bi + 2]) +
    popcount32(a[ai + 3] ^ b[bi + 3]) +
    popcount32(a[ai + 4] ^ b[bi + 4]) +
    popcount32(a[ai + 5] ^ b[bi + 5]) +
    popcount32(a[ai + 6] ^ b[bi + 6]) +
    popcount32(a[ai + 7] ^ b[bi + 7])
  );
}

/** Hamming distance between two PDQ hashes given in hex. @throws InvalidInputError `pdq_hex_invalid`. */
export function pdqHexDistance(a: string, b: string): number {
  return hammingDistanceWords(parsePdqHex(a), 0, parsePdqHex(b), 0);
}

/** A PDQ query or entry hash: hex text, or 8 words as produced by {@link parsePdqHex}. */
export type PdqHashInput = string | Uint32Array;

/** Normalises a {@link PdqHashInput} to 8 words. @throws InvalidInputError `pdq_hex_invalid`. */
export function toPdqWords(hash: PdqHashInput): Uint32Array {
  if (typeof hash === 'string') return parsePdqHex(hash);
  if (hash.length !== PDQ_WORDS) throw new InvalidInputError('pdq_hex_invalid', 'PDQ hash must be 8 words');
  return hash;
}
