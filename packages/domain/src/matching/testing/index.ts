/**
 * `@safeguard/domain/testing`: deterministic data for tests, fixtures and benchmarks: the seeded
 * generator {@link mulberry32} (and its [0, 1) form {@link seededUnitRandom}), random PDQ hashes
 * and hashes at a chosen Hamming distance. Not for production use: nothing here is
 * cryptographically random.
 */
export * from './random-hashes';
