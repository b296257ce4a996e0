/**
 * @safeguard/domain: pure types and functions shared by every package and service.
 * Sub-paths: `@safeguard/domain/pdq` (perceptual hashing), `@safeguard/domain/matching`
 * (indexes and banks).
 */
export * from './errors';
