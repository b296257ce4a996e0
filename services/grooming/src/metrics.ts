import { Counter, Gauge, Histogram, type Registry } from '@safeguard/observability';

/** Outcome of one chat message (label `outcome` of `safeguard_grooming_messages_total`). */
export type MessageOutcome = 'analysed' | 'duplicate' | 'policy_excluded' | 'platform_excluded' | 'invalid';

/**
 * Why a message counted as `duplicate` was skipped (label `reason`, on that outcome only):
 * `offset`, its input offset is at or below the conversation's stored one (a re-delivery after a
 * crash or rebalance); `message_id`, the conversation already applied a message with its id at
 * an earlier offset (a repeat a producer upstream published again).
 */
export type DuplicateReason = 'offset' | 'message_id';

/** Why a conversation left memory (label `reason`). */
export type ExpiryReason = 'idle' | 'evicted';

/** What happened to a changelog record during a restore (label `outcome`). */
export type RestoreOutcome = 'loaded' | 'expired' | 'pending_alert' | 'pending_alert_unreadable' | 'corrupt';

/** Every metric the grooming service owns (transport metrics come from @safeguard/kafka). No ids in labels. */
export interface GroomingMetrics {
  /** Chat messages by outcome; duplicates also by reason. */
  messages: Counter<'outcome' | 'reason'>;
  /** Alerts published, by stage (lowercase stage id). Re-publications of the same alert count again. */
  alerts: Counter<'stage'>;
  /** Pending alerts found in restored state and published again (same alertId). */
  alertsRepublished: Counter<string>;
  /** Conversations held in memory by this replica. */
  activeConversations: Gauge<string>;
  /** Serialised state size after each analysed message, bytes. */
  stateBytes: Histogram<string>;
  /** Conversation score after each analysed message. */
  score: Histogram<string>;
  /** Duration of one restore (reading the changelog for newly assigned partitions), seconds. */
  restoreSeconds: Histogram<string>;
  /** Changelog records seen by restores, by outcome. */
  restored: Counter<'outcome'>;
  /** Conversations dropped from memory and tombstoned, by reason (idle, evicted). */
  expired: Counter<'reason'>;
  /** State records per changelog produce request (group commit across partitions). */
  changelogBatchRecords: Histogram<string>;
  /** Senders known to the fan-out tracker (shared mode). */
  fanOutSenders: Gauge<string>;
}

/** Declares the grooming metrics on `registry`. */
export function createGroomingMetrics(registry: Registry): GroomingMetrics {
  return {
    messages: new Counter({
      name: 'safeguard_grooming_messages_total',
      help: 'Chat messages by outcome: analysed, duplicate (skipped, with reason offset: offset already applied, or message_id: a message with this id already applied at an earlier offset), policy_excluded, platform_excluded, invalid.',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    }),
    alerts: new Counter({
      name: 'safeguard_grooming_alerts_total',
      help: 'Grooming alerts published, by stage.',
      labelNames: ['stage'],
      registers: [registry],
    }),
    alertsRepublished: new Counter({
      name: 'safeguard_grooming_alerts_republished_total',
      help: 'Pending alerts found in restored state and published again with the same alertId.',
      registers: [registry],
    }),
    activeConversations: new Gauge({
      name: 'safeguard_grooming_active_conversations',
      help: 'Conversations held in memory by this replica.',
      registers: [registry],
    }),
    stateBytes: new Histogram({
      name: 'safeguard_grooming_state_bytes',
      help: 'Serialised conversation state size after each analysed message, bytes.',
      buckets: [64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048],
      registers: [registry],
    }),
    score: new Histogram({
      name: 'safeguard_grooming_score',
      help: 'Conversation risk score after each analysed message.',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      registers: [registry],
    }),
    restoreSeconds: new Histogram({
      name: 'safeguard_grooming_restore_seconds',
      help: 'Duration of restoring state for newly assigned partitions from the changelog, seconds.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    restored: new Counter({
      name: 'safeguard_grooming_restored_records_total',
      help: 'Conversations seen by restores: loaded, expired (tombstoned), pending_alert (published again), pending_alert_unreadable; corrupt: a state this build cannot read (the conversation starts over).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    expired: new Counter({
      name: 'safeguard_grooming_conversations_expired_total',
      help: 'Conversations dropped from memory and tombstoned: idle (TTL) or evicted (replica at GROOMING_MAX_CONVERSATIONS).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    changelogBatchRecords: new Histogram({
      name: 'safeguard_grooming_changelog_batch_records',
      help: 'State records per changelog produce request.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
    fanOutSenders: new Gauge({
      name: 'safeguard_grooming_fan_out_senders',
      help: 'Senders known to the fan-out tracker of this replica.',
      registers: [registry],
    }),
  };
}
