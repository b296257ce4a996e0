/**
 * The matcher service: banks built from the compacted indicator topic and kept current
 * incrementally, matching of content-hashed events with full provenance, flood quarantine,
 * reviewer feedback, and the synchronous check API.
 */
export { matcherConfigSchema } from './config';
export { hashApiKey, MIN_API_KEY_LENGTH } from '@safeguard/service-runtime';
export type { MatcherConfig, CheckApiConfig, FloodConfig } from './config';
export { startMatcher } from './service';
export type { MatcherService, MatcherHooks } from './service';
export { MatchHandler } from './handler';
export type { MatcherDependencies, ContentMatch, FeedbackOutcome, MatchChannel } from './handler';
export { IndicatorIndex } from './indicator-index';
export type { IndicatorRecord, IndicatorIndexOptions } from './indicator-index';
export { bankEntryUpdateOf, indicatorUpdatedOf, statusOf, schemaBankKind, libraryBankKind } from './indicator-mapping';
export { matchFoundOf, matchIdOf, prepareQueries, closestPerEntry } from './match-found';
export { buildCheckApi, hashValuesOfCheck } from './check-api';
export type { CheckApiOptions, CheckResponse, CheckMatch } from './check-api';
export { CheckPool } from './check-pool';
export { cpuLimit } from '@safeguard/service-runtime';
export type { CheckExecutor, CheckSlot, CheckPoolOptions } from './check-pool';
export { createMatcherMetrics } from './metrics';
export type { MatcherMetrics } from './metrics';
