/**
 * The reporter service: cases from matcher results and grooming alerts, policy, an
 * authenticated review API, EU Centre and NCMEC delivery, the audit chain on Kafka, retention
 * and complaints, on top of `@safeguard/reporting`.
 */
export { reporterConfigSchema } from './config';
export { hashApiKey, MIN_API_KEY_LENGTH } from '@safeguard/service-runtime';
export type { ReporterConfig, ApiPrincipal, ApiRole, NcmecEndpoint, EuCentreEndpoint } from './config';
export { startReporter } from './service';
export type { ReporterService, ReporterDependencies } from './service';
export { InputHandler } from './handler';
export type { InputDependencies } from './handler';
export { AuditRelay, AuditDivergenceError } from './relay';
export type { RelayPublisher, RelayObserver, AuditRelayOptions } from './relay';
export { buildReviewApi } from './review-api';
export type { ReviewApiOptions } from './review-api';
export { FileMediaSource } from './media';
export type { MediaSkipReason } from './media';
export { PeriodicTask } from './periodic-task';
export { matchEventsOf, uploadOf, groomingEventOf, reviewDecisionEvent, indicatorFeedbackEvent, feedbackOutcomeOf, reportEmittedEvent, unknownUploaderId } from './mapping';
export type { UploadFieldDropReason, FeedbackOutcome } from './mapping';
