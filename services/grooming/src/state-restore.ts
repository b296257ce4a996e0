import type { ConsumedMessage, TopicBinding, Transport } from '@safeguard/kafka';
import type { Logger } from '@safeguard/observability';
import type { ConversationState } from '@safeguard/schemas';
import { decodePendingAlert } from './alert';
import type { ConversationEntry, ConversationStore } from './conversation-store';
import type { GroomingHandler, StateRecord } from './handler';
import type { GroomingMetrics } from './metrics';

/** What a restore needs. */
export interface RestoreDependencies {
  transport: Transport;
  /** The changelog binding (topic prefix applied). */
  changelog: TopicBinding<ConversationState>;
  store: ConversationStore;
  handler: GroomingHandler;
  writeStates: (records: StateRecord[]) => Promise<void>;
  stateTtlMs: number;
  metrics: GroomingMetrics;
  logger: Logger;
  now?: () => number;
}

/** What one restore did. */
export interface RestoreResult {
  partitions: number[];
  /** Changelog records read (all partitions: the reader cannot pick partitions). */
  recordsRead: number;
  /** Conversations now held for these partitions. */
  loaded: number;
  /** Conversations found idle beyond the TTL and tombstoned. */
  expired: number;
  /** Pending alerts published again. */
  pendingAlerts: number;
  seconds: number;
}

/**
 * Restores the conversations of newly assigned input partitions from the changelog, before any
 * of their messages is handled (the transport holds them until `onPartitionsAssigned` resolves):
 * reads the changelog to the end, keeps the latest record per key of the wanted partitions
 * (tombstones delete), tombstones the ones idle beyond the TTL, loads the rest, publishes the
 * alerts that were decided but not confirmed, and evicts beyond the replica's cap.
 *
 * The transport's reader reads every partition of a topic, so a restore costs a read of the
 * whole changelog (compacted: about one record per live conversation plus the updates since the
 * last compaction); records of other partitions are decoded and dropped.
 */
export async function restorePartitions(deps: RestoreDependencies, partitions: readonly number[]): Promise<RestoreResult> {
  const startedAt = performance.now();
  const now = deps.now ?? Date.now;
  const wanted = new Set(partitions);
  const latest = new Map<string, ConsumedMessage<ConversationState>>();
  let recordsRead = 0;
  const reader = await deps.transport.reader({
    binding: deps.changelog,
    handle: (m) => {
      recordsRead++;
      if (m.key === null || !wanted.has(m.partition)) return;
      if (m.value === null) latest.delete(m.key);
      else latest.set(m.key, m);
    },
  });
  try {
    await reader.caughtUp();
  } finally {
    await reader.stop();
  }

  const cutoff = now() - deps.stateTtlMs;
  const tombstones: StateRecord[] = [];
  const rewrites: StateRecord[] = [];
  const pending: ConversationEntry[] = [];
  let loaded = 0;
  // Oldest first, so the least recently active are evicted first if the cap is reached.
  const records = [...latest.values()].sort((a, b) => a.value!.updatedAtMs - b.value!.updatedAtMs);
  for (const m of records) {
    const v = m.value!;
    if (v.updatedAtMs < cutoff) {
      tombstones.push({ key: m.key!, partition: m.partition, value: null });
      continue;
    }
    let pendingAlert = null;
    if (v.pendingAlert !== null) {
      try {
        pendingAlert = decodePendingAlert(v.pendingAlert);
      } catch (err) {
        deps.metrics.restored.inc({ outcome: 'pending_alert_unreadable' });
        deps.logger.error({ err, partition: m.partition, offset: m.offset }, 'pending alert in the changelog is unreadable, dropped');
        rewrites.push({ key: m.key!, partition: m.partition, value: { ...v, pendingAlert: null } });
      }
    }
    const entry: ConversationEntry = {
      key: m.key!,
      platformId: v.platformId,
      conversationId: v.conversationId,
      partition: m.partition,
      stateBytes: v.stateBytes,
      lastOffset: v.lastOffset,
      recentMessageFingerprints: v.recentMessageFingerprints,
      updatedAtMs: v.updatedAtMs,
      lastActiveAtMs: v.updatedAtMs,
      pendingAlert,
    };
    deps.store.set(entry);
    loaded++;
    if (pendingAlert !== null) pending.push(entry);
  }
  await deps.writeStates([...tombstones, ...rewrites]);
  await Promise.all(pending.map((e) => deps.handler.flushPending(e)));
  await deps.handler.evictOverflow();

  const seconds = (performance.now() - startedAt) / 1000;
  deps.metrics.restoreSeconds.observe(seconds);
  deps.metrics.restored.inc({ outcome: 'loaded' }, loaded);
  deps.metrics.restored.inc({ outcome: 'expired' }, tombstones.length);
  deps.metrics.restored.inc({ outcome: 'pending_alert' }, pending.length);
  deps.metrics.alertsRepublished.inc(pending.length);
  deps.metrics.expired.inc({ reason: 'idle' }, tombstones.length);
  deps.metrics.activeConversations.set(deps.store.size);
  return { partitions: [...partitions], recordsRead, loaded, expired: tombstones.length, pendingAlerts: pending.length, seconds };
}
