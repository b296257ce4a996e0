import type { GroomingAlert } from '@safeguard/schemas';

/** What one replica remembers about one conversation. */
export interface ConversationEntry {
  /** `<platformId>/<conversationId>`: the input key and the changelog key. */
  readonly key: string;
  readonly platformId: string;
  readonly conversationId: string;
  /** Input partition (= changelog partition) of the conversation. */
  readonly partition: number;
  /** The analyser state, serialised (what the changelog holds; ~200 bytes instead of a few KB of objects). */
  readonly stateBytes: Buffer;
  /** Offset of the input message that produced `stateBytes`. */
  readonly lastOffset: number;
  /**
   * Fingerprints of the latest message ids applied to the state (see `message-fingerprints.ts`),
   * oldest first; empty for a state restored from a record written before they existed.
   */
  readonly recentMessageFingerprints: Buffer;
  /** When `stateBytes` was written, epoch ms. */
  readonly updatedAtMs: number;
  /** Last time this replica saw a message of the conversation (or restored it), epoch ms; idle time counts from here. */
  lastActiveAtMs: number;
  /** An alert decided with this state and not yet confirmed as published. */
  pendingAlert: GroomingAlert | null;
}

/**
 * The conversations one replica holds, in least-recently-active-first order (a `Map` re-inserted
 * on every touch), so eviction takes from the front without a heap.
 *
 * Why bytes and not state objects: deserialising costs ~6 µs against ~25 µs for analysing the
 * message and a produce round trip for the changelog, while it keeps a conversation at a few
 * hundred bytes, so a replica can hold a million of them.
 *
 * Conversations with a message in flight are pinned: neither expiry nor eviction takes them, so
 * a tombstone never overtakes the state write of a message being handled.
 */
export class ConversationStore {
  private readonly entries = new Map<string, ConversationEntry>();
  private readonly pinned = new Map<string, number>();

  /** Number of conversations held. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry of `key`, without changing its recency. */
  get(key: string): ConversationEntry | undefined {
    return this.entries.get(key);
  }

  /** Marks `key` active at `nowMs` (most recent in eviction order). */
  touch(key: string, nowMs: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.lastActiveAtMs = nowMs;
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /** Stores (or replaces) an entry as the most recently active. */
  set(entry: ConversationEntry): void {
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Protects `key` from expiry and eviction until a matching {@link unpin}. */
  pin(key: string): void {
    this.pinned.set(key, (this.pinned.get(key) ?? 0) + 1);
  }

  /** Releases one {@link pin}. */
  unpin(key: string): void {
    const n = (this.pinned.get(key) ?? 0) - 1;
    if (n <= 0) this.pinned.delete(key);
    else this.pinned.set(key, n);
  }

  /**
   * Removes and returns the conversations idle since before `cutoffMs` (full scan: restored
   * conversations keep their own activity times, so the map is not strictly time-ordered).
   * Pinned conversations and those with a pending alert stay.
   */
  takeIdle(cutoffMs: number): ConversationEntry[] {
    const out: ConversationEntry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.lastActiveAtMs < cutoffMs && entry.pendingAlert === null && !this.pinned.has(entry.key)) out.push(entry);
    }
    for (const entry of out) this.entries.delete(entry.key);
    return out;
  }

  /**
   * Removes and returns the least recently active conversations until at most `max` remain
   * (pinned ones and those with a pending alert are skipped).
   */
  takeOverflow(max: number): ConversationEntry[] {
    const out: ConversationEntry[] = [];
    if (this.entries.size <= max) return out;
    let excess = this.entries.size - max;
    for (const entry of this.entries.values()) {
      if (excess === 0) break;
      if (entry.pendingAlert !== null || this.pinned.has(entry.key)) continue;
      out.push(entry);
      excess--;
    }
    for (const entry of out) this.entries.delete(entry.key);
    return out;
  }

  /** Drops every conversation of the given partitions (they were revoked); returns how many. */
  dropPartitions(partitions: ReadonlySet<number>): number {
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (partitions.has(entry.partition)) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Entries with an unconfirmed alert, in the given partitions. */
  pendingAlerts(partitions: ReadonlySet<number>): ConversationEntry[] {
    return [...this.entries.values()].filter((e) => e.pendingAlert !== null && partitions.has(e.partition));
  }
}
