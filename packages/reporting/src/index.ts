/**
 * @safeguard/reporting: cases, policy, human review, EU Centre and NCMEC reports with
 * idempotent delivery, a hash-chained audit log, retention, complaints and transparency.
 * Sub-path `@safeguard/reporting/sim`: local authority simulators.
 */
export * from './errors';
export { canonicalJson, sha256Hex, deterministicId } from './canonical';
export * from './events';
export * from './case';
export * from './policy';
export * from './review';
export * from './complaints';
export * from './audit';
export * from './audit-event';
export * from './keys';
export * from './retention';
export * from './transparency';
export * from './engine';
export * from './reports/xml';
export * from './reports/profile';
export * from './reports/eu-report';
export * from './reports/ncmec-report';
export * from './reports/case-file';
export * from './reports/upload-facts';
export * from './store/types';
export { MemoryReportingStore } from './store/memory';
export { SqliteReportingStore } from './store/sqlite';
export * from './delivery/backoff';
export { AmbiguousDeliveryError, certainlyNotSent } from './delivery/http';
export type { FetchLike } from './delivery/http';
export * from './delivery/ncmec-client';
export * from './delivery/eu-client';
export * from './delivery/runner';
