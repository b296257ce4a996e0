import { randomUUID } from 'node:crypto';
import type { ChatMessage, ContentSubmitted } from '@safeguard/schemas';
import type { IngestLimits } from './config';
import type { Deduplicator } from './dedup';
import type { IngestMetrics } from './metrics';
import { validateContent, validateMessage, type ContentDraft, type MessageDraft } from './validation';

/** Where an event came from. */
export type Channel = 'http' | 'kafka';

/** What the handler needs; no Kafka or HTTP types, so both channels and tests share it. */
export interface IngestDependencies {
  /** Publishes a content event; resolves once the broker acknowledged it. */
  publishContent: (event: ContentSubmitted) => Promise<void>;
  /** Publishes a chat-message event; resolves once the broker acknowledged it. */
  publishMessage: (event: ChatMessage) => Promise<void>;
  dedup: Deduplicator;
  limits: IngestLimits;
  metrics: IngestMetrics;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Event id generator. */
  newId?: () => string;
}

/** The outcome of a submission. */
export interface SubmitResult {
  status: 'accepted' | 'duplicate';
  /** Id of the published event (absent for duplicates: the first one was published earlier). */
  eventId?: string;
}

/**
 * Validates, de-duplicates and publishes content and chat-message submissions from either
 * channel. Refusals throw `RejectedInputError` (HTTP: 4xx; Kafka: dead letter); publication
 * failures propagate (HTTP: 503; Kafka: retried by the transport).
 */
export class IngestHandler {
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly deps: IngestDependencies) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
  }

  /** Handles one content submission for `platformId`. */
  async submitContent(platformId: string, draft: ContentDraft, channel: Channel): Promise<SubmitResult> {
    const fields = validateContent(platformId, draft, this.deps.limits);
    const eventId = draft.eventId || this.newId();
    const outcome = await this.deps.dedup.once(`${platformId}/${fields.contentId}`, () =>
      this.deps.publishContent({ ...fields, eventId, channel, submittedAtMs: this.now() }),
    );
    return this.finish('content', channel, outcome.duplicate, eventId, fields.media.inlineBytes?.length);
  }

  /** Handles one chat message for `platformId`. */
  async submitMessage(platformId: string, draft: MessageDraft, channel: Channel): Promise<SubmitResult> {
    const fields = validateMessage(platformId, draft, this.deps.limits);
    const eventId = draft.eventId || this.newId();
    const outcome = await this.deps.dedup.once(`${platformId}/${fields.conversationId}/${fields.messageId}`, () =>
      this.deps.publishMessage({ ...fields, eventId, channel }),
    );
    return this.finish('message', channel, outcome.duplicate, eventId);
  }

  /** Counts a refused submission (called by the channel that refused or saw the refusal). */
  rejected(kind: 'content' | 'message', channel: Channel, reason: string): void {
    this.deps.metrics.events.inc({ kind, channel, outcome: 'rejected' });
    this.deps.metrics.rejections.inc({ reason });
  }

  private finish(kind: 'content' | 'message', channel: Channel, duplicate: boolean, eventId: string, inlineBytes?: number): SubmitResult {
    this.deps.metrics.events.inc({ kind, channel, outcome: duplicate ? 'duplicate' : 'accepted' });
    this.deps.metrics.dedupEntries.set(this.deps.dedup.size);
    if (duplicate) return { status: 'duplicate' };
    if (inlineBytes !== undefined) this.deps.metrics.inlineBytes.observe(inlineBytes);
    return { status: 'accepted', eventId };
  }
}
