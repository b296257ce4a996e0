/**
 * The ingest service: an authenticated HTTP gateway and a Kafka input that validate,
 * de-duplicate and publish content-submitted and chat-message events.
 */
export { ingestConfigSchema } from './config';
export { hashApiKey, MIN_API_KEY_LENGTH } from '@safeguard/service-runtime';
export type { IngestConfig, IngestLimits } from './config';
export { startIngest } from './service';
export type { IngestService } from './service';
export { IngestHandler } from './handler';
export type { Channel, IngestDependencies, SubmitResult } from './handler';
export { Deduplicator } from './dedup';
export { RejectedInputError, RejectionCodes } from './validation';
