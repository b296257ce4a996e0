/**
 * `@safeguard/domain/matching`: exact hash indexes and banks of indicators.
 *
 * - {@link MihPdqIndex}: exact PDQ Hamming-radius search by multi-index hashing, with
 *   incremental add/remove; {@link BruteForcePdqIndex}: the reference scan.
 * - {@link ExactHashIndex}: MD5 / SHA-1 / SHA-256 exact lookup.
 * - {@link BankSet}: banks (indicator lists) with kinds, thresholds, allow-list suppression,
 *   per-entry disable, flood quarantine ({@link FloodDetector}); applies {@link BankEntryUpdate}s.
 * - {@link prepareBankImport}: validate a bank file (csv/tsv/jsonl), check its Ed25519
 *   signature, compute its list version and diff it into {@link BankEntryUpdate}s.
 */
export * from './hash-words';
export * from './pdq-index';
export * from './brute-force-pdq-index';
export * from './mih-layout';
export * from './mih-pdq-index';
export * from './exact-hash-index';
export * from './bank-types';
export * from './flood-detector';
export * from './bank-set';
export * from './bank-signature';
export * from './bank-file';
