import type { FanOutTracker } from '@safeguard/grooming';
import type { FanOutContact } from '@safeguard/schemas';

/** Options of {@link SharedFanOutTracker}. */
export interface SharedFanOutTrackerOptions {
  /** Window in which contacts count, ms. */
  windowMs: number;
  /** Most senders remembered (least recently active forgotten first). */
  maxSenders: number;
  /** Most conversations remembered per sender. Default 64 (fan-out counts saturate far below). */
  maxConversationsPerSender?: number;
  /**
   * A contact already shared is shared again once it is this much newer, ms. Default window / 7
   * (one day for the 7-day default): keeps a long conversation inside everyone's window while
   * writing at most a handful of records per sender and conversation.
   */
  refreshMs?: number;
}

interface Contact {
  /** Latest contact time known (own messages or other replicas'), epoch ms. */
  atMs: number;
  /** Latest contact time known to be on the topic (or being published), epoch ms. */
  sharedAtMs: number;
}

/**
 * Fan-out across replicas. Conversations are partitioned by conversation, so one adult's
 * conversations with different minors land on different replicas and no replica sees them all.
 * Every replica therefore publishes the contacts it observes (sender, conversation, time) to one
 * topic and reads the whole topic: each one counts every replica's contacts, a few hundred
 * milliseconds late at most. Contacts are facts keyed by sender and conversation, so concurrent
 * writers never conflict and re-publication is harmless.
 *
 * The analyser calls {@link record} synchronously inside `update` with the conversation key
 * `<platformId>/<conversationId>`; senders are scoped by the same platform. New contacts queue
 * until the handler {@link drainPending}s and publishes them; {@link observe} applies records
 * read from the topic (including this replica's own).
 */
export class SharedFanOutTracker implements FanOutTracker {
  private readonly senders = new Map<string, Map<string, Contact>>();
  private pending: FanOutContact[] = [];
  private readonly maxPerSender: number;
  private readonly refreshMs: number;

  constructor(private readonly options: SharedFanOutTrackerOptions) {
    this.maxPerSender = options.maxConversationsPerSender ?? 64;
    this.refreshMs = options.refreshMs ?? Math.floor(options.windowMs / 7);
  }

  /** Number of senders remembered. */
  get size(): number {
    return this.senders.size;
  }

  /** {@inheritDoc FanOutTracker.record} */
  record(senderId: string, conversationKey: string, atMs: number): number {
    const slash = conversationKey.indexOf('/');
    const platformId = slash > 0 ? conversationKey.slice(0, slash) : '';
    const conversations = this.sender(`${platformId}/${senderId}`);
    const contact = conversations.get(conversationKey) ?? { atMs, sharedAtMs: Number.NEGATIVE_INFINITY };
    contact.atMs = Math.max(contact.atMs, atMs);
    if (atMs - contact.sharedAtMs >= this.refreshMs) {
      contact.sharedAtMs = atMs;
      this.pending.push({ platformId, senderId, conversationId: conversationKey.slice(slash + 1), contactAtMs: atMs });
    }
    this.put(conversations, conversationKey, contact);
    const cutoff = atMs - this.options.windowMs;
    let count = 0;
    for (const c of conversations.values()) if (c.atMs >= cutoff) count++;
    return count;
  }

  /** Applies a contact read from the shared topic (this replica's own ones come back too). */
  observe(contact: FanOutContact): void {
    const conversations = this.sender(`${contact.platformId}/${contact.senderId}`);
    const key = `${contact.platformId}/${contact.conversationId}`;
    const known = conversations.get(key);
    const merged: Contact = known ?? { atMs: contact.contactAtMs, sharedAtMs: contact.contactAtMs };
    merged.atMs = Math.max(merged.atMs, contact.contactAtMs);
    merged.sharedAtMs = Math.max(merged.sharedAtMs, contact.contactAtMs);
    this.put(conversations, key, merged);
  }

  /** Takes the contacts recorded since the last call, to publish. */
  drainPending(): FanOutContact[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Puts contacts whose publication failed back (they are published with the next message). */
  requeue(contacts: readonly FanOutContact[]): void {
    this.pending.unshift(...contacts);
  }

  private sender(senderKey: string): Map<string, Contact> {
    let conversations = this.senders.get(senderKey);
    if (conversations === undefined) conversations = new Map();
    else this.senders.delete(senderKey); // re-inserted below: Map order = recency
    this.senders.set(senderKey, conversations);
    while (this.senders.size > this.options.maxSenders) this.senders.delete(this.senders.keys().next().value as string);
    return conversations;
  }

  private put(conversations: Map<string, Contact>, key: string, contact: Contact): void {
    conversations.delete(key);
    conversations.set(key, contact);
    // Forget the conversations seen longest ago beyond the per-sender cap.
    while (conversations.size > this.maxPerSender) {
      let oldestKey: string | undefined;
      let oldest = Number.POSITIVE_INFINITY;
      for (const [k, c] of conversations) {
        if (c.atMs < oldest) {
          oldest = c.atMs;
          oldestKey = k;
        }
      }
      conversations.delete(oldestKey as string);
    }
  }
}
