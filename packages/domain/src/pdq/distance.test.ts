import { pdqDistance, pdqDistanceHex, pdqDistanceWords, pdqDistanceWordsWithin, popcount32 } from './distance';
import { pdqBytesToHex, pdqBytesToWords } from './layout';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function naive(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) for (let bit = 0; bit < 8; bit++) d += ((a[i] ^ b[i]) >> bit) & 1;
  return d;
}

describe('PDQ distance', () => {
  it('popcounts 32-bit values', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(0xffffffff)).toBe(32);
    expect(popcount32(0x80000001)).toBe(2);
    expect(popcount32(-1)).toBe(32);
  });

  it('agrees with a bit-by-bit count in every representation', () => {
    const next = rng(7);
    for (let t = 0; t < 200; t++) {
      const a = Uint8Array.from({ length: 32 }, () => next() & 0xff);
      const b = Uint8Array.from({ length: 32 }, () => next() & 0xff);
      const expected = naive(a, b);
      expect(pdqDistance(a, b)).toBe(expected);
      expect(pdqDistanceHex(pdqBytesToHex(a), pdqBytesToHex(b))).toBe(expected);
      const packed = new Uint32Array(24);
      pdqBytesToWords(a, packed.subarray(8, 16));
      pdqBytesToWords(b, packed.subarray(16, 24));
      expect(pdqDistanceWords(packed, packed, 8, 16)).toBe(expected);
      const within = pdqDistanceWordsWithin(packed, packed, 31, 8, 16);
      if (expected <= 31) expect(within).toBe(expected);
      else expect(within).toBeGreaterThan(31);
    }
  });

  it('is 0 for equal hashes and 256 for complements', () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i * 37);
    const c = a.map((x) => 255 - x);
    expect(pdqDistance(a, a)).toBe(0);
    expect(pdqDistance(a, c)).toBe(256);
  });
});
