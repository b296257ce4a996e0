import { seededUnitRandom } from '@safeguard/domain/testing';

/**
 * A seeded pseudo-random generator (mulberry32, from `@safeguard/domain/testing`) in [0, 1): the
 * same seed gives the same workload.
 */
export function seededRandom(seed: number): () => number {
  return seededUnitRandom(seed);
}
