// Pieces of the fault test that need no broker: a gate that holds the HTTP clients while ingest is
// killed, retries of the test's own submissions, the repeats in grooming's input, and the
// recovery figures.

/**
 * Lets the test's HTTP clients in one request at a time and, while closed, holds new requests
 * back. `close()` resolves once every request already in flight has been answered.
 *
 * Why: ingest de-duplicates a platform's retry in the memory of its process, so a request whose
 * answer a `kill -9` cuts off may be published twice when the client retries it against the new
 * process (a second event id for one content id; documented in the ingest section). The fault
 * test kills ingest between requests, not in the middle of one.
 */
export class Gate {
  private inFlight = 0;
  private closed = false;
  private waiters: Array<() => void> = [];
  private drained: Array<() => void> = [];

  /** Waits until the gate is open and counts a request in. */
  async enter(): Promise<void> {
    while (this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight++;
  }

  /** Counts a request out. */
  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const d of this.drained.splice(0)) d();
  }

  /** Closes the gate; resolves once no request is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Opens the gate and lets the held requests go. */
  open(): void {
    this.closed = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * Calls `attempt` until it returns a value (not `undefined`), waiting `intervalMs` after each
 * `undefined` or throw; rethrows the last error once `timeoutMs` has passed.
 * @returns the value and how many attempts failed before it.
 */
export async function retrying<T>(attempt: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs: number; description: string }): Promise<{ value: T; failures: number }> {
  const deadline = Date.now() + options.timeoutMs;
  let failures = 0;
  let last: unknown;
  for (;;) {
    try {
      const v = await attempt();
      if (v !== undefined) return { value: v, failures };
      last = undefined;
    } catch (err) {
      last = err;
    }
    failures++;
    if (Date.now() > deadline) throw new Error(`${options.description}: no success within ${options.timeoutMs} ms after ${failures} attempts${last ? `: ${(last as Error).message}` : ''}`, { cause: last });
    await new Promise((r) => setTimeout(r, options.intervalMs));
  }
}

/** Splits `items` into `n` slices of nearly equal length, keeping the order. */
export function slices<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => out[Math.floor((i * n) / items.length)]!.push(item));
  return out;
}

/** One record of grooming's input (chat.message.sent.v1), as far as repeats are concerned. */
export interface ChatRecordRef {
  conversationId: string;
  /** The platform's message id: grooming's identity of a message within its conversation. */
  messageId: string;
  /** Record timestamp, epoch ms. */
  timestampMs: number;
}

/**
 * Splits grooming's input, in offset order per conversation, into each conversation's message ids
 * at their first appearance and the repeats: records of a message id the conversation already
 * had (ingest re-publishes what its Kafka input had not committed when it was killed). Grooming
 * must skip the repeats (`safeguard_grooming_messages_total{outcome="duplicate",reason="message_id"}`).
 */
export function chatRepeats(records: Iterable<ChatRecordRef>): { firstIds: Map<string, string[]>; repeatedAtMs: number[]; repeatsByConversation: Map<string, number> } {
  const firstIds = new Map<string, string[]>();
  const seen = new Set<string>();
  const repeatedAtMs: number[] = [];
  const repeatsByConversation = new Map<string, number>();
  for (const r of records) {
    const id = `${r.conversationId}\u0000${r.messageId}`;
    if (seen.has(id)) {
      repeatedAtMs.push(r.timestampMs);
      repeatsByConversation.set(r.conversationId, (repeatsByConversation.get(r.conversationId) ?? 0) + 1);
      continue;
    }
    seen.add(id);
    const ids = firstIds.get(r.conversationId);
    if (ids === undefined) firstIds.set(r.conversationId, [r.messageId]);
    else ids.push(r.messageId);
  }
  return { firstIds, repeatedAtMs, repeatsByConversation };
}

/** The recovery figures of one fault. */
export interface FaultTiming {
  /** `kill -9 <service>` or `broker restart`. */
  fault: string;
  /** Seconds from the start of the test's stream to the fault. */
  atSeconds: number;
  /**
   * Fault → the new process answered `/readyz` (a service), or → the broker answered again
   * (`infra.sh restart-kafka`: controlled shutdown, JVM start, log recovery).
   */
  readySeconds: number;
  /**
   * Fault → the consumer group of each affected service committed past where it stood when the
   * fault ended (the process was dead / the broker answered again), i.e. it processes again.
   * `null` for a group that received no new input within the deadline (nothing to show).
   */
  resumedSeconds: Record<string, number | null>;
}

/** Rounds seconds to 0.1 s for the report. */
export const round1 = (s: number): number => Math.round(s * 10) / 10;
