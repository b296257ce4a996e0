/**
 * Counts how many distinct conversations with minors one adult account has been active in
 * recently ("fan-out"): an account writing to many children at once is a strong grooming
 * indicator that no single conversation shows.
 *
 * Why an interface: this is the only cross-conversation state. The in-memory implementation
 * suits one process (and tests); a horizontally scaled service that partitions by conversation
 * needs a shared or re-keyed implementation (e.g. a second topic keyed by sender).
 */
export interface FanOutTracker {
  /**
   * Records that `senderId` wrote in `conversationId` (which includes a minor) at `atMs`, and
   * returns the number of distinct such conversations of this sender within the window,
   * including this one (≥ 1).
   */
  record(senderId: string, conversationId: string, atMs: number): number;
}

/** Options of {@link InMemoryFanOutTracker}. */
export interface InMemoryFanOutTrackerOptions {
  /** Window in milliseconds (default 7 days). */
  windowMs?: number;
  /** Most senders remembered; the least recently active are forgotten first (default 100,000). */
  maxSenders?: number;
  /** Most conversations remembered per sender; the oldest are forgotten first (default 64). */
  maxConversationsPerSender?: number;
}

/**
 * Bounded in-memory {@link FanOutTracker}: per sender a small map of conversation id → last
 * activity, evicting by age, per-sender cap and least-recently-active sender.
 */
export class InMemoryFanOutTracker implements FanOutTracker {
  private readonly windowMs: number;
  private readonly maxSenders: number;
  private readonly maxPerSender: number;
  private readonly senders = new Map<string, Map<string, number>>();

  constructor(options: InMemoryFanOutTrackerOptions = {}) {
    this.windowMs = options.windowMs ?? 7 * 24 * 3600 * 1000;
    this.maxSenders = options.maxSenders ?? 100_000;
    this.maxPerSender = options.maxConversationsPerSender ?? 64;
  }

  /** Number of senders currently remembered. */
  get size(): number {
    return this.senders.size;
  }

  /** {@inheritDoc FanOutTracker.record} */
  record(senderId: string, conversationId: string, atMs: number): number {
    let convs = this.senders.get(senderId);
    if (convs === undefined) {
      convs = new Map();
    } else {
      this.senders.delete(senderId); // re-insert below: Map order = recency
    }
    this.senders.set(senderId, convs);
    convs.delete(conversationId);
    convs.set(conversationId, atMs);
    const cutoff = atMs - this.windowMs;
    for (const [id, t] of convs) {
      if (t < cutoff || convs.size > this.maxPerSender) convs.delete(id);
    }
    while (this.senders.size > this.maxSenders) {
      const oldest = this.senders.keys().next().value as string;
      this.senders.delete(oldest);
    }
    return convs.size;
  }
}
