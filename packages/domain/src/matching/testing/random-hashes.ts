import { PDQ_WORDS } from '../hash-words';

/**
 * Seeded pseudo-random generator (mulberry32) returning uint32 values. Test and benchmark
 * helper: deterministic data so failures reproduce. The project's only implementation of the
 * generator: tests, fixtures and generated corpora depend on its exact sequences, so it must not
 * change.
 *
 * @param seed - any number; only its low 32 bits (`seed >>> 0`) count.
 * @returns a function giving the next value, an integer in [0, 2^32).
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

/**
 * The {@link mulberry32} sequence of `seed` scaled to [0, 1) (each value divided by 2^32), for
 * workloads and generators that want `Math.random`-like numbers that reproduce.
 *
 * @param seed - as for {@link mulberry32}.
 * @returns a function giving the next value, a float in [0, 1).
 */
export function seededUnitRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
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
