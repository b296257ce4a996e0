import { PDQ_WORDS } from '../hash-words';

/**
 * Seeded pseudo-random generator (mulberry32) returning uint32 values. Test and benchmark
 * helper: deterministic data so failures reproduce.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A uniformly random 256-bit hash as 8 words. */
export function randomHash(rand: () => number): Uint32Array {
  const w = new Uint32Array(PDQ_WORDS);
  for (let i = 0; i < PDQ_WORDS; i++) w[i] = rand();
  return w;
}

/** A copy of `hash` with exactly `bits` distinct bits flipped (so at Hamming distance `bits`). */
export function flipBits(hash: Uint32Array, bits: number, rand: () => number): Uint32Array {
  const out = hash.slice();
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(rand() & 255);
  for (const b of chosen) out[b >>> 5] ^= 1 << (b & 31);
  return out;
}
