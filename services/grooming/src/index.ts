/**
 * The grooming service: scores chat conversations message by message with @safeguard/grooming,
 * keeps each conversation's state in memory and in a compacted changelog (restored on partition
 * assignment), and publishes grooming alerts, for human review only, with an exactly-once effect.
 */
export { groomingConfigSchema } from './config';
export type { FanOutMode, GroomingConfig } from './config';
export { startGrooming, detectorVersionOf } from './service';
export type { GroomingService, GroomingStartOptions } from './service';
export { GroomingHandler, toRecordValue } from './handler';
export type { GroomingDependencies, InputMessage, StateRecord } from './handler';
export { ConversationStore } from './conversation-store';
export type { ConversationEntry } from './conversation-store';
export { SharedFanOutTracker } from './fan-out';
export type { SharedFanOutTrackerOptions } from './fan-out';
export { BatchingWriter } from './batching-writer';
export type { BatchingWriterOptions } from './batching-writer';
export { alertIdOf, buildAlertEvent, decodePendingAlert, encodePendingAlert, stageSymbol } from './alert';
export type { AlertInput } from './alert';
export { restorePartitions } from './state-restore';
export type { RestoreDependencies, RestoreResult } from './state-restore';
export { createGroomingMetrics } from './metrics';
export type { ExpiryReason, GroomingMetrics, MessageOutcome, RestoreOutcome } from './metrics';
