import type { AvroSchema } from './avro-schema';
import {
  AuditRecordSchema,
  ChatMessageSchema,
  ContentHashedSchema,
  ContentSubmittedSchema,
  ConversationStateSchema,
  FanOutContactSchema,
  GroomingAlertSchema,
  IndicatorFeedbackSchema,
  IndicatorUpdatedSchema,
  MatchFoundSchema,
  ReportEmittedSchema,
  ReviewDecisionSchema,
} from './generated/schemas';
import type {
  AuditRecord,
  ChatMessage,
  ContentHashed,
  ContentSubmitted,
  ConversationState,
  FanOutContact,
  GroomingAlert,
  IndicatorFeedback,
  IndicatorUpdated,
  MatchFound,
  ReportEmitted,
  ReviewDecision,
} from './generated/types';

/**
 * A Kafka topic of Safeguard events: its name, the Avro schema of its values, how a value maps
 * to its key, and how the topic is created. Plain data, so this package needs no Kafka client;
 * `@safeguard/kafka` accepts it as a topic binding.
 *
 * `V` is the decoded value type. Keys are UTF-8 strings; records with the same key land on the
 * same partition, which keeps one content's or one conversation's events in order.
 */
export interface EventTopic<V> {
  /** Topic name, `<domain>.<entity>.<past-tense-event>.v<major>`. */
  readonly topic: string;
  /** Self-contained Avro schema of the values (registered under `<topic>-value`). */
  readonly valueSchema: AvroSchema;
  /** The record key for a value. */
  readonly key: (value: V) => string;
  /** Partitions to create: the upper bound of consumer parallelism. */
  readonly partitions: number;
  /** True for log-compacted topics (latest value per key is the state; null value deletes). */
  readonly compacted: boolean;
  /** Retention in ms for non-compacted topics; undefined keeps the broker default. */
  readonly retentionMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Default partition count of the event topics: enough for 6 replicas of each consumer. */
export const DEFAULT_PARTITIONS = 6;

/** Joins a platform id and a platform-scoped id into one key (ids are unique per platform only). */
export function scopedKey(platformId: string, id: string): string {
  return `${platformId}/${id}`;
}

/** Key of an indicator entry on the compacted indicator topic: `<bank>/<entryId>`. */
export function indicatorKey(bank: string, entryId: string): string {
  return `${bank}/${entryId}`;
}

/** Name of the dead-letter topic of `topic`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Every Safeguard event topic. */
export const topics = {
  /**
   * platform → ingest: uploads from platforms already on Kafka, in the ContentSubmitted schema
   * (ingest validates, de-duplicates, stamps channel and time, and republishes).
   */
  platformContentUploaded: {
    topic: 'platform.content.uploaded.v1',
    valueSchema: ContentSubmittedSchema,
    key: (v: ContentSubmitted) => scopedKey(v.platformId, v.contentId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 3 * DAY_MS,
  } satisfies EventTopic<ContentSubmitted>,
  /** platform → ingest: chat messages from platforms already on Kafka, in the ChatMessage schema. */
  platformMessageSent: {
    topic: 'platform.message.sent.v1',
    valueSchema: ChatMessageSchema,
    key: (v: ChatMessage) => scopedKey(v.platformId, v.conversationId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 3 * DAY_MS,
  } satisfies EventTopic<ChatMessage>,
  /** ingest → hasher: a content to check. */
  contentSubmitted: {
    topic: 'media.content.submitted.v1',
    valueSchema: ContentSubmittedSchema,
    key: (v: ContentSubmitted) => scopedKey(v.platformId, v.contentId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 7 * DAY_MS,
  } satisfies EventTopic<ContentSubmitted>,
  /** hasher → matcher: the content's hashes. */
  contentHashed: {
    topic: 'media.content.hashed.v1',
    valueSchema: ContentHashedSchema,
    key: (v: ContentHashed) => scopedKey(v.platformId, v.contentId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 7 * DAY_MS,
  } satisfies EventTopic<ContentHashed>,
  /** matcher → reporter: matches with provenance. */
  contentMatched: {
    topic: 'matching.content.matched.v1',
    valueSchema: MatchFoundSchema,
    key: (v: MatchFound) => scopedKey(v.platformId, v.contentId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 30 * DAY_MS,
  } satisfies EventTopic<MatchFound>,
  /** bank import / reporter / matcher → every matcher replica: current state of each bank entry. */
  indicatorUpdated: {
    topic: 'matching.indicator.updated.v1',
    valueSchema: IndicatorUpdatedSchema,
    key: (v: IndicatorUpdated) => indicatorKey(v.bank.name, v.entryId),
    partitions: DEFAULT_PARTITIONS,
    compacted: true,
  } satisfies EventTopic<IndicatorUpdated>,
  /** reporter → list suppliers: up/down votes on entries. */
  indicatorFeedback: {
    topic: 'matching.indicator.feedback.v1',
    valueSchema: IndicatorFeedbackSchema,
    key: (v: IndicatorFeedback) => indicatorKey(v.bank.name, v.entryId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 90 * DAY_MS,
  } satisfies EventTopic<IndicatorFeedback>,
  /** ingest → grooming: chat messages, one conversation per key. */
  chatMessageSent: {
    topic: 'chat.message.sent.v1',
    valueSchema: ChatMessageSchema,
    key: (v: ChatMessage) => scopedKey(v.platformId, v.conversationId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 3 * DAY_MS,
  } satisfies EventTopic<ChatMessage>,
  /** grooming → reporter: conversations that crossed the alert threshold. */
  conversationFlagged: {
    topic: 'grooming.conversation.flagged.v1',
    valueSchema: GroomingAlertSchema,
    key: (v: GroomingAlert) => scopedKey(v.platformId, v.conversationId),
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 30 * DAY_MS,
  } satisfies EventTopic<GroomingAlert>,
  /**
   * grooming → grooming: the changelog of per-conversation analyser state (compacted; a tombstone
   * when a conversation expires). Must have the input topic's partition count: partition N holds
   * the state of the conversations of input partition N (the service creates it that way).
   */
  conversationState: {
    topic: 'grooming.conversation.state.v1',
    valueSchema: ConversationStateSchema,
    key: (v: ConversationState) => scopedKey(v.platformId, v.conversationId),
    partitions: DEFAULT_PARTITIONS,
    compacted: true,
  } satisfies EventTopic<ConversationState>,
  /**
   * grooming → every grooming replica: senders active in conversations with a known minor
   * (fan-out). Retention is the fan-out window plus its refresh interval (8 days by default).
   */
  contactObserved: {
    topic: 'grooming.contact.observed.v1',
    valueSchema: FanOutContactSchema,
    key: (v: FanOutContact) => `${scopedKey(v.platformId, v.senderId)}/${v.conversationId}`,
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 8 * DAY_MS,
  } satisfies EventTopic<FanOutContact>,
  /** reporter: human review decisions. */
  caseDecided: {
    topic: 'review.case.decided.v1',
    valueSchema: ReviewDecisionSchema,
    key: (v: ReviewDecision) => v.caseId,
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 365 * DAY_MS,
  } satisfies EventTopic<ReviewDecision>,
  /** reporter: reports delivered to authorities. */
  caseReported: {
    topic: 'report.case.reported.v1',
    valueSchema: ReportEmittedSchema,
    key: (v: ReportEmitted) => v.caseId,
    partitions: DEFAULT_PARTITIONS,
    compacted: false,
    retentionMs: 365 * DAY_MS,
  } satisfies EventTopic<ReportEmitted>,
  /** reporter: the hash-chained audit log; one partition keeps the chain in order. */
  auditRecorded: {
    topic: 'audit.decision.recorded.v1',
    valueSchema: AuditRecordSchema,
    key: (v: AuditRecord) => v.chainId,
    partitions: 1,
    compacted: false,
    retentionMs: -1,
  } satisfies EventTopic<AuditRecord>,
} as const;

/** The same binding under another topic name (tests use random names per run). */
export function renameTopic<V>(binding: EventTopic<V>, topic: string): EventTopic<V> {
  return { ...binding, topic };
}
