import { TopicNotFoundError, TransportConfigError } from '../errors';
import type {
  ConsumerSession,
  Driver,
  ProcessFn,
  RawMessage,
  RawRecord,
  ReaderSession,
  SessionHandlers,
  SessionOptions,
} from '../core/driver';
import { tpKey, UnsentRecordsError } from '../core/driver';
import type { SchemaRegistryClient } from '../registry/schema-registry';
import type { Admin, EnsureTopicsResult, PartitionOffsets, RecordPosition, TopicPartition, TopicSpec, TransportLogger } from '../types';
import type { GroupMember, InProcessGroup, StoredRecord } from './in-process-broker';
import { InProcessBroker } from './in-process-broker';

/** Records handed to the policy per partition before the member looks at other partitions. */
const MAX_BATCH = 100;

let memberCounter = 0;

/** The in-process driver: the broker's logs, groups and registry behind the {@link Driver} contract. */
export class InProcessDriver implements Driver {
  readonly kind = 'in-process' as const;
  readonly registry: SchemaRegistryClient;
  readonly admin: Admin;

  constructor(readonly broker: InProcessBroker, private readonly clientId: string, private readonly logger: TransportLogger) {
    this.registry = broker.registry;
    this.admin = new InProcessAdmin(broker, logger);
  }

  async send(topic: string, records: readonly RawRecord[]): Promise<RecordPosition[]> {
    const count = this.broker.partitionCount(topic);
    for (const r of records) if (!Number.isInteger(r.partition) || r.partition < 0) throw new RangeError(`partition ${r.partition} is not a partition number`);
    // Like a Kafka client whose metadata lacks the partition (the topic was re-created with fewer
    // partitions): nothing of this batch is written, and the sender re-partitions it.
    if (records.some((r) => r.partition >= count)) throw new UnsentRecordsError(topic, records.map(() => undefined));
    const now = Date.now();
    // One append per record keeps the positions simple; the broker is synchronous, so the batch
    // is still atomic with respect to consumers (they run only when this function returns).
    return records.map((r) => {
      const offset = this.broker.append(topic, r.partition, [{ key: r.key, value: r.value, headers: { ...r.headers }, timestampMs: r.timestampMs ?? now }]);
      return { topic, partition: r.partition, offset: String(offset) };
    });
  }

  async disconnectProducer(): Promise<void> {}

  consumerSession(options: SessionOptions): ConsumerSession {
    return new InProcessConsumerSession(this.broker, options, `${this.clientId}-${++memberCounter}`, this.logger);
  }

  readerSession(options: { stopTimeoutMs: number }): ReaderSession {
    return new InProcessReaderSession(this.broker, options.stopTimeoutMs);
  }

  async close(): Promise<void> {}
}

class InProcessAdmin implements Admin {
  constructor(private readonly broker: InProcessBroker, private readonly logger: TransportLogger) {}

  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const names = new Set<string>();
    for (const s of specs) {
      if (names.has(s.topic)) throw new TransportConfigError(`topic ${s.topic} is listed twice`);
      names.add(s.topic);
    }
    const result: EnsureTopicsResult = { created: [], existing: [] };
    for (const spec of specs) {
      const partitions = spec.partitions ?? 1;
      const created = this.broker.createTopic(spec.topic, partitions, {
        cleanupPolicy: spec.cleanupPolicy ?? 'delete',
        retentionMs: spec.retentionMs,
        config: { ...(spec.config ?? {}) },
      });
      if (created) {
        result.created.push(spec.topic);
      } else {
        result.existing.push(spec.topic);
        const actual = this.broker.partitionCount(spec.topic);
        if (actual !== partitions) this.logger.warn({ topic: spec.topic, expected: partitions, actual }, 'existing topic has a different partition count');
      }
    }
    return result;
  }

  async listTopics(): Promise<string[]> {
    return this.broker.topicNames();
  }

  async partitionCount(topic: string): Promise<number> {
    return this.broker.partitionCount(topic);
  }

  async listOffsets(topic: string): Promise<PartitionOffsets[]> {
    const count = this.broker.partitionCount(topic);
    return Array.from({ length: count }, (_, partition) => {
      const { low, high } = this.broker.watermarks(topic, partition);
      return { partition, low: String(low), high: String(high) };
    });
  }

  async committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>> {
    const count = this.broker.partitionCount(topic);
    const group = this.broker.group(groupId);
    const out: Array<{ partition: number; offset: string }> = [];
    for (let partition = 0; partition < count; partition++) {
      const offset = group.committedOffset(topic, partition);
      if (offset !== undefined) out.push({ partition, offset: String(offset) });
    }
    return out;
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    for (const t of topics) this.broker.deleteTopic(t);
  }
}

function toRaw(topic: string, partition: number, r: StoredRecord, high: number): RawMessage {
  return {
    topic,
    partition,
    offset: String(r.offset),
    key: r.key,
    value: r.value,
    headers: { ...r.headers },
    timestampMs: r.timestampMs,
    highWatermark: String(high),
  };
}

interface OwnedPartition {
  readonly tp: TopicPartition;
  position: number;
  paused: boolean;
  busy: boolean;
  abort: AbortController;
}

/**
 * A group member. Workers (as many as `concurrency`) pick owned, unpaused partitions with records
 * and hand messages to the policy one by one; a rebalance revokes partitions between messages.
 */
class InProcessConsumerSession implements ConsumerSession, GroupMember {
  topics: string[] = [];
  private readonly group: InProcessGroup;
  private readonly owned = new Map<string, OwnedPartition>();
  private readonly pausedKeys = new Set<string>();
  private handlers: SessionHandlers | undefined;
  private running = false;
  private syncedGeneration = -1;
  private syncing: Promise<void> | undefined;
  private workers: Array<Promise<void>> = [];
  private readonly stopSignal = new AbortController();
  /** Resolves once stop() begins; one promise, so idle waits add no listeners. */
  private readonly stopRequested = new Promise<void>((resolve) => this.stopSignal.signal.addEventListener('abort', () => resolve(), { once: true }));
  private joined = false;
  private idleWaiters: Array<() => void> = [];
  private rr = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly broker: InProcessBroker,
    private readonly options: SessionOptions,
    readonly memberId: string,
    private readonly logger: TransportLogger,
  ) {
    this.group = broker.group(options.groupId);
  }

  async start(handlers: SessionHandlers): Promise<void> {
    for (const t of handlers.topics) if (!this.broker.hasTopic(t)) throw new TopicNotFoundError(t);
    this.handlers = handlers;
    this.topics = [...handlers.topics];
    this.running = true;
    this.joined = true;
    this.group.join(this);
    await this.sync();
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(this.work());
  }

  onRebalance(): void {
    // Abort retry back-offs on partitions this member is about to lose; their messages stay uncommitted.
    for (const p of this.owned.values()) {
      if (!this.group.isAssigned(this.memberId, p.tp.topic, p.tp.partition)) p.abort.abort();
    }
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const key = tpKey(tp.topic, tp.partition);
      this.pausedKeys.add(key);
      const owned = this.owned.get(key);
      if (owned) owned.paused = true;
    }
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const key = tpKey(tp.topic, tp.partition);
      this.pausedKeys.delete(key);
      const owned = this.owned.get(key);
      if (owned) owned.paused = false;
    }
    this.broker.notify();
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map((p) => ({ ...p.tp }));
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // Also after a crash (running already false): the member must still leave its group.
    if (!this.joined) return;
    this.running = false;
    this.stopSignal.abort();
    for (const p of this.owned.values()) p.abort.abort();
    this.broker.notify();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.stopTimeoutMs);
      timer.unref?.();
    });
    await Promise.race([Promise.allSettled(this.workers), timeout]);
    clearTimeout(timer);
    const revoked = this.assignment();
    if (revoked.length > 0) {
      try {
        await this.handlers?.onRevoked(revoked);
      } catch {
        // The policy layer logs callback failures; stopping continues regardless.
      }
    }
    for (const p of this.owned.values()) this.group.release(this.memberId, p.tp.topic, p.tp.partition);
    this.owned.clear();
    this.group.leave(this.memberId);
    this.joined = false;
  }

  private async work(): Promise<void> {
    try {
      await this.workLoop();
    } catch (err) {
      // onPartitionsAssigned failed for good: the policy layer has reported the crash.
      this.running = false;
      this.handlers?.onCrash(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async workLoop(): Promise<void> {
    while (this.running) {
      if (this.syncedGeneration !== this.group.generation) {
        await this.sync();
        continue;
      }
      const next = this.pick();
      if (next) {
        await this.drain(next);
        continue;
      }
      await Promise.race([this.broker.changed(), this.stopped()]);
    }
  }

  private stopped(): Promise<void> {
    return this.stopRequested;
  }

  private pick(): OwnedPartition | undefined {
    const candidates = [...this.owned.values()];
    for (let i = 0; i < candidates.length; i++) {
      const p = candidates[(this.rr + i) % candidates.length];
      if (p.busy || p.paused) continue;
      if (!this.group.isAssigned(this.memberId, p.tp.topic, p.tp.partition)) continue;
      if (this.broker.read(p.tp.topic, p.tp.partition, p.position, 1).length === 0) continue;
      this.rr = (this.rr + i + 1) % candidates.length;
      return p;
    }
    return undefined;
  }

  private async drain(p: OwnedPartition): Promise<void> {
    const handlers = this.handlers as SessionHandlers;
    p.busy = true;
    try {
      const { topic, partition } = p.tp;
      const records = this.broker.read(topic, partition, p.position, MAX_BATCH);
      for (const r of records) {
        if (!this.running || p.paused || p.abort.signal.aborted) break;
        if (!this.group.isAssigned(this.memberId, topic, partition)) break;
        const high = this.broker.watermarks(topic, partition).high;
        const result = await handlers.process(toRaw(topic, partition, r, high), { heartbeat: async () => undefined, signal: p.abort.signal });
        if (result === 'done') {
          p.position = r.offset + 1;
          this.group.commit(this.memberId, topic, partition, p.position);
        } else {
          break; // 'pause': the policy has paused the partition already; 'abort': leave it uncommitted
        }
      }
    } catch (err) {
      this.logger.error({ groupId: this.options.groupId }, 'in-process consumer crashed');
      this.running = false;
      handlers.onCrash(err instanceof Error ? err : new Error(String(err)));
    } finally {
      p.busy = false;
      if (![...this.owned.values()].some((o) => o.busy)) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Brings owned partitions in line with the group's assignment (one sync at a time). */
  private sync(): Promise<void> {
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    const handlers = this.handlers as SessionHandlers;
    while (this.running && this.syncedGeneration !== this.group.generation) {
      const generation = this.group.generation;
      const target = this.group.assignmentOf(this.memberId);
      const targetKeys = new Set(target.map((tp) => tpKey(tp.topic, tp.partition)));
      const revoked = [...this.owned.values()].filter((p) => !targetKeys.has(tpKey(p.tp.topic, p.tp.partition)));
      if (revoked.length > 0) {
        for (const p of revoked) p.abort.abort();
        while (revoked.some((p) => p.busy)) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        try {
          await handlers.onRevoked(revoked.map((p) => ({ ...p.tp })));
        } catch {
          // Logged by the policy layer.
        }
        for (const p of revoked) {
          this.owned.delete(tpKey(p.tp.topic, p.tp.partition));
          this.group.release(this.memberId, p.tp.topic, p.tp.partition);
        }
      }
      const added: OwnedPartition[] = [];
      for (const tp of target) {
        const key = tpKey(tp.topic, tp.partition);
        if (this.owned.has(key)) continue;
        // Wait until the previous owner has finished its in-flight message and released it.
        while (this.running && generation === this.group.generation && !this.group.claim(this.memberId, tp.topic, tp.partition)) {
          await Promise.race([this.broker.changed(), this.stopped()]);
        }
        if (!this.running || generation !== this.group.generation) break;
        const { low, high } = this.broker.watermarks(tp.topic, tp.partition);
        const committed = this.group.committedOffset(tp.topic, tp.partition);
        const position = committed !== undefined ? Math.max(committed, low) : this.options.fromBeginning ? low : high;
        const owned: OwnedPartition = { tp: { ...tp }, position, paused: this.pausedKeys.has(key), busy: false, abort: new AbortController() };
        this.owned.set(key, owned);
        added.push(owned);
      }
      if (added.length > 0) await handlers.onAssigned(added.map((p) => ({ ...p.tp })));
      if (generation === this.group.generation) this.syncedGeneration = generation;
    }
  }
}

/** Reads every partition of a topic from its low watermark, without a group. */
class InProcessReaderSession implements ReaderSession {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();
  private readonly stopRequested = new Promise<void>((resolve) => this.stopSignal.signal.addEventListener('abort', () => resolve(), { once: true }));

  constructor(private readonly broker: InProcessBroker, private readonly stopTimeoutMs: number) {}

  async start(topic: string, process: ProcessFn, onCrash: (error: Error) => void, only?: readonly number[]): Promise<void> {
    const count = this.broker.partitionCount(topic);
    const partitions = only ? [...only] : Array.from({ length: count }, (_, p) => p);
    const positions = Array.from({ length: count }, (_, p) => this.broker.watermarks(topic, p).low);
    this.running = true;
    this.loop = (async () => {
      try {
        while (this.running) {
          let progressed = false;
          for (const partition of partitions) {
            if (!this.running) break;
            if (!this.broker.hasTopic(topic)) return;
            for (const r of this.broker.read(topic, partition, positions[partition], MAX_BATCH)) {
              if (!this.running) break;
              const high = this.broker.watermarks(topic, partition).high;
              const result = await process(toRaw(topic, partition, r, high), { heartbeat: async () => undefined, signal: this.stopSignal.signal });
              if (result !== 'done') break;
              positions[partition] = r.offset + 1;
              progressed = true;
            }
          }
          if (!progressed && this.running) {
            await Promise.race([this.broker.changed(), this.stopRequested]);
          }
        }
      } catch (err) {
        this.running = false;
        onCrash(err instanceof Error ? err : new Error(String(err)));
      }
    })();
  }

  async stop(): Promise<void> {
    if (!this.running && !this.loop) return;
    this.running = false;
    this.stopSignal.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.loop,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.stopTimeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
  }
}
