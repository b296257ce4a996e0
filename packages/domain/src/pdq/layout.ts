/**
 * PDQ hash layouts: hex text, bytes and 32-bit words.
 *
 * Why: the reference prints a hash as 64 hex digits, and matchers want a compact, fixed-size
 * binary form for popcount. We keep one canonical binary form, {@link PdqHash}, whose bytes are
 * the hex text read two digits at a time, so every conversion is a plain big-endian parse and
 * the Hamming distance is the same whichever form is compared.
 *
 * Reference layout (`pdqhashtypes` in Meta's C++): the hash is sixteen 16-bit words
 * `w[0..15]`; bit `k = 16*i + j` (DCT row `i`, column `j`) is `(w[k >> 4] >> (k & 15)) & 1`; the
 * hex text is `w[15]` first and `w[0]` last, four digits each. Therefore, in a {@link PdqHash}:
 * - bytes `2*(15-i)` and `2*(15-i)+1` hold DCT row `i` (high byte = columns 8..15, low byte =
 *   columns 0..7; column 0 is the least significant bit of the low byte);
 * - byte 0 is the first two hex digits (row 15, columns 8..15) and byte 31 the last two
 *   (row 0, columns 0..7).
 * The word form ({@link PdqWords}) groups those bytes four at a time, big-endian: word `n` is the
 * hex digits `8n .. 8n+7` read as one unsigned 32-bit number.
 */

/** Number of bits in a PDQ hash. */
export const PDQ_HASH_BITS = 256;
/** Number of bytes in a {@link PdqHash}. */
export const PDQ_HASH_BYTES = 32;
/** Number of 32-bit words in a {@link PdqWords}. */
export const PDQ_HASH_WORDS = 8;
/** Number of characters in the hex text of a PDQ hash. */
export const PDQ_HEX_LENGTH = 64;

/**
 * A PDQ hash as 32 bytes in hex-text order (byte 0 = first two hex digits). See the module
 * comment for where each DCT bit lives.
 */
export type PdqHash = Uint8Array;

/** A PDQ hash as 8 unsigned 32-bit words; word `n` = hex digits `8n .. 8n+7`, big-endian. */
export type PdqWords = Uint32Array;

const HEX_DIGITS = '0123456789abcdef';
const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15]);
const HEX_PATTERN = /^[0-9a-fA-F]{64}$/;

/** True when `hex` is 64 hex digits (either case), the reference's text form. */
export function isPdqHex(hex: string): boolean {
  return hex.length === PDQ_HEX_LENGTH && HEX_PATTERN.test(hex);
}

/**
 * Parses reference hex text into a {@link PdqHash}.
 * @param hex 64 hex digits, either case.
 * @throws RangeError when `hex` is not 64 hex digits (a programmer or input-validation error;
 *   validate untrusted text with {@link isPdqHex} first).
 */
export function pdqHexToBytes(hex: string): PdqHash {
  if (!isPdqHex(hex)) throw new RangeError('PDQ hex must be 64 hex digits');
  const out = new Uint8Array(PDQ_HASH_BYTES);
  for (let i = 0; i < PDQ_HASH_BYTES; i++) out[i] = parseInt(hex.substring(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Formats a {@link PdqHash} as the reference's 64 lowercase hex digits.
 * @throws RangeError when `hash` is not 32 bytes.
 */
export function pdqBytesToHex(hash: Uint8Array): string {
  if (hash.length !== PDQ_HASH_BYTES) throw new RangeError('PDQ hash must be 32 bytes');
  let s = '';
  for (let i = 0; i < PDQ_HASH_BYTES; i++) s += BYTE_TO_HEX[hash[i]];
  return s;
}

/**
 * Packs a {@link PdqHash} into 8 big-endian words ({@link PdqWords}).
 * @param out optional destination (e.g. a slot of a larger array: `all.subarray(8*n, 8*n+8)`).
 * @throws RangeError when `hash` is not 32 bytes or `out` is shorter than 8 words.
 */
export function pdqBytesToWords(hash: Uint8Array, out: Uint32Array = new Uint32Array(PDQ_HASH_WORDS)): PdqWords {
  if (hash.length !== PDQ_HASH_BYTES) throw new RangeError('PDQ hash must be 32 bytes');
  if (out.length < PDQ_HASH_WORDS) throw new RangeError('destination must hold 8 words');
  for (let w = 0; w < PDQ_HASH_WORDS; w++) {
    const b = 4 * w;
    out[w] = ((hash[b] << 24) | (hash[b + 1] << 16) | (hash[b + 2] << 8) | hash[b + 3]) >>> 0;
  }
  return out;
}

/**
 * Unpacks 8 big-endian words ({@link PdqWords}) into a {@link PdqHash}.
 * @throws RangeError when `words` has fewer than 8 entries.
 */
export function pdqWordsToBytes(words: Uint32Array): PdqHash {
  if (words.length < PDQ_HASH_WORDS) throw new RangeError('PDQ words must hold 8 words');
  const out = new Uint8Array(PDQ_HASH_BYTES);
  for (let w = 0; w < PDQ_HASH_WORDS; w++) {
    const v = words[w];
    out[4 * w] = v >>> 24;
    out[4 * w + 1] = (v >>> 16) & 0xff;
    out[4 * w + 2] = (v >>> 8) & 0xff;
    out[4 * w + 3] = v & 0xff;
  }
  return out;
}

/**
 * Parses reference hex text straight into {@link PdqWords}.
 * @throws RangeError when `hex` is not 64 hex digits.
 */
export function pdqHexToWords(hex: string, out: Uint32Array = new Uint32Array(PDQ_HASH_WORDS)): PdqWords {
  if (!isPdqHex(hex)) throw new RangeError('PDQ hex must be 64 hex digits');
  if (out.length < PDQ_HASH_WORDS) throw new RangeError('destination must hold 8 words');
  for (let w = 0; w < PDQ_HASH_WORDS; w++) out[w] = parseInt(hex.substring(8 * w, 8 * w + 8), 16) >>> 0;
  return out;
}

/** Formats {@link PdqWords} as the reference's 64 lowercase hex digits. */
export function pdqWordsToHex(words: Uint32Array): string {
  if (words.length < PDQ_HASH_WORDS) throw new RangeError('PDQ words must hold 8 words');
  let s = '';
  for (let w = 0; w < PDQ_HASH_WORDS; w++) s += words[w].toString(16).padStart(8, '0');
  return s;
}

/** Byte index and bit mask of reference bit `k` (`k = 16*row + column`) inside a {@link PdqHash}. */
function bitAddress(k: number): [number, number] {
  if (!Number.isInteger(k) || k < 0 || k >= PDQ_HASH_BITS) throw new RangeError('bit index must be 0..255');
  const row = k >> 4;
  const col = k & 15;
  return [2 * (15 - row) + (col < 8 ? 1 : 0), 1 << (col & 7)];
}

/**
 * Reads reference bit `k` (`k = 16*row + column` of the 16×16 DCT) of a {@link PdqHash}.
 * @returns 0 or 1.
 * @throws RangeError when `k` is not an integer in 0..255.
 */
export function pdqGetBit(hash: Uint8Array, k: number): 0 | 1 {
  const [byte, mask] = bitAddress(k);
  return (hash[byte] & mask) === 0 ? 0 : 1;
}

/**
 * Sets reference bit `k` (`k = 16*row + column`) of a {@link PdqHash} to `value`, in place.
 * @throws RangeError when `k` is not an integer in 0..255.
 */
export function pdqSetBit(hash: Uint8Array, k: number, value: 0 | 1 | boolean): void {
  const [byte, mask] = bitAddress(k);
  if (value) hash[byte] |= mask;
  else hash[byte] &= ~mask;
}
