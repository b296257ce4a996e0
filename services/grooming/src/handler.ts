import { InvalidInputError, isSafeguardError } from '@safeguard/domain';
import type { ConversationAnalyzer, ConversationState, ParticipantMeta } from '@safeguard/grooming';
import { scopedKey, type ChatMessage, type ConversationState as StateRecordValue, type FanOutContact, type GroomingAlert } from '@safeguard/schemas';
import { buildAlertEvent, encodePendingAlert } from './alert';
import type { ConversationEntry, ConversationStore } from './conversation-store';
import type { SharedFanOutTracker } from './fan-out';
import { messageFingerprint, hasFingerprint, withFingerprint } from './message-fingerprints';
import type { DuplicateReason, GroomingMetrics, MessageOutcome } from './metrics';

/** One chat message as the handler sees it: the value plus where it sits in the input. */
export interface InputMessage {
  /** Record key; must be `<platformId>/<conversationId>` of the value. */
  key: string | null;
  /** Input partition; the conversation's changelog record goes to the same partition number. */
  partition: number;
  /** Input offset. */
  offset: number;
  value: ChatMessage;
}

/** A changelog record to write: a state, or `null` to tombstone the key. */
export interface StateRecord {
  key: string;
  partition: number;
  value: StateRecordValue | null;
}

/** What the handler needs; no Kafka types, so tests drive it directly. */
export interface GroomingDependencies {
  analyzer: ConversationAnalyzer;
  store: ConversationStore;
  /** Writes changelog records; resolves once acknowledged. Records of one call stay in order. */
  writeStates: (records: StateRecord[]) => Promise<void>;
  /** Publishes an alert; resolves once acknowledged. */
  publishAlert: (alert: GroomingAlert) => Promise<void>;
  /** Publishes fan-out contacts (shared fan-out only). */
  publishContacts?: (contacts: FanOutContact[]) => Promise<void>;
  /** The shared fan-out tracker the analyser was built with, if any. */
  fanOut?: SharedFanOutTracker;
  /** Platforms to analyse; empty = all. */
  platforms: ReadonlySet<string>;
  /** Most conversations held; beyond it the least recently active are evicted. */
  maxConversations: number;
  /** Idle time after which a conversation expires, ms. */
  stateTtlMs: number;
  /** Written into every alert. */
  detectorVersion: string;
  metrics: GroomingMetrics;
  /**
   * Whether this replica still owns an input partition. A message whose partition was revoked
   * while it was handled still publishes its alert, but its state is not kept in memory and not
   * written a second time (the new owner restored it). Default: always.
   */
  ownsPartition?: (partition: number) => boolean;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Logger for state resets (ids only, never text). */
  onStateReset?: (fields: { partition: number; offset: number; code: string }) => void;
}

const EMPTY = Buffer.alloc(0);

function ageBandOf(band: string): ParticipantMeta['ageBand'] {
  if (band === 'CHILD' || band === 'TEEN') return 'minor';
  if (band === 'ADULT') return 'adult';
  return undefined;
}

/** The changelog value of an entry. */
export function toRecordValue(entry: ConversationEntry, pendingAlert: GroomingAlert | null): StateRecordValue {
  return {
    platformId: entry.platformId,
    conversationId: entry.conversationId,
    stateBytes: entry.stateBytes,
    lastOffset: entry.lastOffset,
    updatedAtMs: entry.updatedAtMs,
    pendingAlert: pendingAlert === null ? null : encodePendingAlert(pendingAlert),
    recentMessageFingerprints: entry.recentMessageFingerprints,
  };
}

/**
 * Analyses chat messages conversation by conversation, keeping each conversation's state in
 * memory and in the changelog, and publishes alerts with an exactly-once effect.
 *
 * Per message, in this order:
 * 1. skip it if its offset is at or below the conversation's `lastOffset` (already applied: a
 *    re-delivery after a crash or rebalance), or if the fingerprint of its platform message id
 *    is among those of the conversation's latest 64 applied messages (a repeat at a later
 *    offset: a producer upstream published the same message again after a crash), publishing a
 *    still-pending alert first; nothing is written;
 * 2. analyse it (pure; no output yet);
 * 3. write the new state with `lastOffset` = this offset, its message id's fingerprint added
 *    and, if the message raised an alert, the alert itself as `pendingAlert`; only then update
 *    memory;
 * 4. publish the pending alert (deterministic `alertId`), then write the state again without it.
 *
 * A crash before 3 loses nothing (the message comes again and is analysed from the old state);
 * after 3 the message is skipped and the alert, decided once and stored with the state, is
 * published from the stored copy (on restore, or when the next message of the conversation
 * arrives); between 4's publication and its second write, the alert is published twice with the
 * same id and the reporter de-duplicates it. Decision and publication never diverge, even though
 * `update` is not deterministic across replicas (fan-out counts move).
 */
export class GroomingHandler {
  private readonly now: () => number;
  private readonly owns: (partition: number) => boolean;

  constructor(private readonly deps: GroomingDependencies) {
    this.now = deps.now ?? Date.now;
    this.owns = deps.ownsPartition ?? (() => true);
  }

  /** Handles one message; resolves with its outcome once every output is acknowledged. */
  async handle(message: InputMessage): Promise<MessageOutcome> {
    const v = message.value;
    const { metrics, store } = this.deps;
    if (this.deps.platforms.size > 0 && !this.deps.platforms.has(v.platformId)) return this.count('platform_excluded');
    const key = scopedKey(v.platformId, v.conversationId);
    if (message.key !== key) {
      this.count('invalid');
      throw new InvalidInputError('key_mismatch', 'record key must be <platformId>/<conversationId> of the message');
    }
    store.pin(key);
    try {
      const entry = store.get(key);
      if (entry !== undefined) store.touch(key, this.now());
      if (entry !== undefined && message.offset <= entry.lastOffset) {
        await this.flushPending(entry);
        return this.count('duplicate', 'offset');
      }
      const fingerprint = messageFingerprint(v.messageId);
      if (entry !== undefined && hasFingerprint(entry.recentMessageFingerprints, fingerprint)) {
        await this.flushPending(entry);
        return this.count('duplicate', 'message_id');
      }
      const state = entry === undefined ? this.deps.analyzer.createState(this.metaOf(key, v)) : this.restoreState(entry, key, v, message);
      if (!state.analysed && entry === undefined) return this.count('policy_excluded');

      let result;
      try {
        result = this.deps.analyzer.update(state, { id: v.messageId, senderId: v.senderId, sentAtMs: v.sentAtMs, text: v.text });
      } catch (err) {
        if (isSafeguardError(err) && !err.retriable) this.count('invalid');
        throw err;
      }
      await this.publishContacts();

      const alert =
        result.alert === undefined
          ? null
          : buildAlertEvent({
              platformId: v.platformId,
              conversationId: v.conversationId,
              conversationKey: key,
              alert: result.alert,
              state: result.state,
              raisedAtMs: v.sentAtMs,
              config: this.deps.analyzer.config,
              detectorVersion: this.deps.detectorVersion,
            });
      const nowMs = this.now();
      const next: ConversationEntry = {
        key,
        platformId: v.platformId,
        conversationId: v.conversationId,
        partition: message.partition,
        stateBytes: Buffer.from(this.deps.analyzer.serialize(result.state)),
        lastOffset: message.offset,
        recentMessageFingerprints: withFingerprint(entry?.recentMessageFingerprints ?? EMPTY, fingerprint),
        updatedAtMs: nowMs,
        lastActiveAtMs: nowMs,
        pendingAlert: alert,
      };
      await this.deps.writeStates([{ key, partition: message.partition, value: toRecordValue(next, alert) }]);
      if (this.owns(message.partition)) store.set(next);
      metrics.stateBytes.observe(next.stateBytes.length);
      if (result.analysed) metrics.score.observe(result.score);
      await this.flushPending(next);
      await this.evictOverflow();
      return this.count('analysed');
    } finally {
      store.unpin(key);
      metrics.activeConversations.set(store.size);
    }
  }

  /**
   * Publishes the entry's pending alert (if any), then writes its state again without it.
   * Safe to call twice: the alert id is fixed, and the second call finds nothing pending.
   */
  async flushPending(entry: ConversationEntry): Promise<void> {
    const alert = entry.pendingAlert;
    if (alert === null) return;
    await this.deps.publishAlert(alert);
    this.deps.metrics.alerts.inc({ stage: alert.stage.toLowerCase() });
    entry.pendingAlert = null;
    if (!this.owns(entry.partition)) return;
    await this.deps.writeStates([{ key: entry.key, partition: entry.partition, value: toRecordValue(entry, null) }]);
  }

  /** Drops the conversations idle for longer than the TTL and tombstones them; returns how many. */
  async expireIdle(): Promise<number> {
    const idle = this.deps.store.takeIdle(this.now() - this.deps.stateTtlMs);
    if (idle.length === 0) return 0;
    await this.deps.writeStates(idle.map((e) => ({ key: e.key, partition: e.partition, value: null })));
    this.deps.metrics.expired.inc({ reason: 'idle' }, idle.length);
    this.deps.metrics.activeConversations.set(this.deps.store.size);
    return idle.length;
  }

  /** Evicts the least recently active conversations beyond the cap and tombstones them; returns how many. */
  async evictOverflow(): Promise<number> {
    const evicted = this.deps.store.takeOverflow(this.deps.maxConversations);
    if (evicted.length === 0) return 0;
    await this.deps.writeStates(evicted.map((e) => ({ key: e.key, partition: e.partition, value: null })));
    this.deps.metrics.expired.inc({ reason: 'evicted' }, evicted.length);
    this.deps.metrics.activeConversations.set(this.deps.store.size);
    return evicted.length;
  }

  private metaOf(key: string, v: ChatMessage) {
    return {
      conversationId: key,
      language: v.language ?? undefined,
      participants: v.participants.map(
        (p): ParticipantMeta => ({
          id: p.accountId,
          ...(p.declaredAge === null ? {} : { declaredAge: p.declaredAge }),
          ...(ageBandOf(p.ageBand) === undefined ? {} : { ageBand: ageBandOf(p.ageBand) }),
        }),
      ),
    };
  }

  /** The entry's state; a state this build cannot read starts the conversation over (counted, logged by ids). */
  private restoreState(entry: ConversationEntry, key: string, v: ChatMessage, message: InputMessage): ConversationState {
    try {
      return this.deps.analyzer.deserialize(entry.stateBytes);
    } catch (err) {
      const code = isSafeguardError(err) ? err.code : 'state_unreadable';
      this.deps.metrics.restored.inc({ outcome: 'corrupt' });
      this.deps.onStateReset?.({ partition: message.partition, offset: message.offset, code });
      return this.deps.analyzer.createState(this.metaOf(key, v));
    }
  }

  private async publishContacts(): Promise<void> {
    const { fanOut, publishContacts } = this.deps;
    if (fanOut === undefined || publishContacts === undefined) return;
    const contacts = fanOut.drainPending();
    if (contacts.length === 0) return;
    try {
      await publishContacts(contacts);
    } catch (err) {
      fanOut.requeue(contacts);
      throw err;
    }
    this.deps.metrics.fanOutSenders.set(fanOut.size);
  }

  private count(outcome: MessageOutcome, reason?: DuplicateReason): MessageOutcome {
    this.deps.metrics.messages.inc(reason === undefined ? { outcome } : { outcome, reason });
    return outcome;
  }
}
