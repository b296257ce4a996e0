import type { AvroCodec } from '../codec/avro-codec';
import { TransportConfigError, TransportErrorCodes } from '../errors';
import type { Admin, Consumer, ConsumedMessage, ConsumerOptions, RunOptions, TopicBinding, TopicPartition, TransportLogger } from '../types';
import type { ResolvedRetryOptions } from './backoff';
import { backoffDelayMs, resolveRetryOptions } from './backoff';
import { deadLetterHeaders, deadLetterTopic } from './dead-letter';
import type { ConsumerSession, Driver, MessageControl, ProcessResult, RawMessage, SessionOptions } from './driver';
import { tpKey } from './driver';
import { errorFields } from './logger';
import type { TransportMetrics } from './metrics';
import type { PartitionedSender } from './partitioned-sender';
import { classifyFailure, reasonOf, sleepWithHeartbeats, withHeartbeats } from './policy';

/** What consumers, readers and producers of one transport share. */
export interface TransportContext {
  readonly driver: Driver;
  readonly admin: Admin;
  readonly codec: AvroCodec;
  readonly sender: PartitionedSender;
  readonly metrics: TransportMetrics;
  readonly logger: TransportLogger;
  readonly clientId: string;
  /** Uniform [0, 1) source for jitter; injectable for tests. */
  readonly random: () => number;
}

const DLQ_RETENTION_MS = 14 * 24 * 3600 * 1000;

type AnyBinding = TopicBinding<never>;

/**
 * The consumer policy, shared by both drivers: decode → handler → commit; invalid input →
 * dead letter; transient or unknown → retry with backoff then dead letter; capacity → pause the
 * partition and deliver the same message again.
 */
export class TypedConsumer implements Consumer {
  private readonly retry: ResolvedRetryOptions;
  private readonly session: ConsumerSession;
  private readonly sessionOptions: SessionOptions;
  private readonly bindings = new Map<string, AnyBinding>();
  private handler: ((m: ConsumedMessage<unknown>) => Promise<void>) | undefined;
  private running = false;
  private started = false;
  private appPaused = false;
  private readonly capacityPaused = new Map<string, { tp: TopicPartition; timer: NodeJS.Timeout }>();
  private readonly positions = new Map<string, number>();
  private lagTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private crashedAlready = false;

  constructor(private readonly ctx: TransportContext, private readonly options: ConsumerOptions) {
    if (!options.groupId) throw new TransportConfigError('groupId is required');
    this.retry = resolveRetryOptions(options.retry);
    this.sessionOptions = {
      groupId: options.groupId,
      fromBeginning: options.fromBeginning ?? true,
      concurrency: positiveInt(options.concurrency ?? 1, 'concurrency'),
      sessionTimeoutMs: positiveInt(options.sessionTimeoutMs ?? 30_000, 'sessionTimeoutMs'),
      heartbeatIntervalMs: positiveInt(options.heartbeatIntervalMs ?? 3_000, 'heartbeatIntervalMs'),
      commitIntervalMs: positiveInt(options.commitIntervalMs ?? 1_000, 'commitIntervalMs'),
      stopTimeoutMs: positiveInt(options.stopTimeoutMs ?? 30_000, 'stopTimeoutMs'),
    };
    this.session = ctx.driver.consumerSession(this.sessionOptions);
  }

  async run<B extends AnyBinding>(options: RunOptions<B>): Promise<void> {
    if (this.started) throw new TransportConfigError('run() may be called once per consumer');
    this.started = true;
    if (options.bindings.length === 0) throw new TransportConfigError('run() needs at least one binding');
    for (const b of options.bindings) {
      if (this.bindings.has(b.topic)) throw new TransportConfigError(`topic ${b.topic} is bound twice`);
      this.bindings.set(b.topic, b);
    }
    this.handler = options.handle as unknown as (m: ConsumedMessage<unknown>) => Promise<void>;
    const topics = [...this.bindings.keys()];
    for (const t of topics) await this.ctx.admin.partitionCount(t);
    await this.ctx.admin.ensureTopics(
      topics.map((t) => ({
        topic: deadLetterTopic(t),
        partitions: this.options.deadLetter?.partitions ?? 1,
        cleanupPolicy: 'delete' as const,
        retentionMs: this.options.deadLetter?.retentionMs ?? DLQ_RETENTION_MS,
      })),
    );
    try {
      await this.session.start({
        topics,
        process: (message, control) => this.process(message, control),
        onAssigned: (tps) => this.assigned(tps, options.onPartitionsAssigned),
        onRevoked: (tps) => this.revoked(tps, options.onPartitionsRevoked),
        onCrash: (err) => this.crashed(err),
      });
    } catch (err) {
      // Leave the group so the partitions this member got can move to others.
      await this.session.stop().catch(() => undefined);
      throw err;
    }
    this.running = true;
    const lagRefreshMs = this.options.lagRefreshMs ?? 15_000;
    this.lagTimer = setInterval(() => void this.refreshLag(), lagRefreshMs);
    this.lagTimer.unref?.();
    this.ctx.logger.info({ groupId: this.options.groupId, topics }, 'consumer started');
  }

  pause(): void {
    this.appPaused = true;
    this.session.pause(this.session.assignment());
  }

  resume(): void {
    this.appPaused = false;
    for (const { timer } of this.capacityPaused.values()) clearTimeout(timer);
    const tps = [...this.session.assignment(), ...[...this.capacityPaused.values()].map((c) => c.tp)];
    this.capacityPaused.clear();
    this.session.resume(tps);
  }

  assignment(): TopicPartition[] {
    return this.session.assignment();
  }

  isRunning(): boolean {
    return this.running;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.running = false;
    clearInterval(this.lagTimer);
    for (const { timer } of this.capacityPaused.values()) clearTimeout(timer);
    this.capacityPaused.clear();
    if (!this.started) return;
    try {
      await this.session.stop();
    } catch (err) {
      this.ctx.logger.warn({ groupId: this.options.groupId, ...errorFields(err) }, 'consumer stop failed');
    }
    this.ctx.logger.info({ groupId: this.options.groupId }, 'consumer stopped');
  }

  private async process(raw: RawMessage, control: MessageControl): Promise<ProcessResult> {
    const binding = this.bindings.get(raw.topic);
    const handler = this.handler;
    if (!binding || !handler) throw new Error(`message from unbound topic ${raw.topic}`);
    const key = raw.key === null ? null : raw.key.toString('utf8');
    const labels = { topic: raw.topic };
    // Failures that count towards retry.attempts, and consecutive outages (for their backoff).
    let failures = 0;
    let outages = 0;
    for (let attempt = 1; ; attempt++) {
      const startedAt = process.hrtime.bigint();
      let failure: unknown;
      try {
        const value = raw.value === null ? null : await this.ctx.codec.decode(binding, raw.value);
        const message: ConsumedMessage<unknown> = {
          topic: raw.topic,
          partition: raw.partition,
          offset: raw.offset,
          key,
          value,
          headers: raw.headers,
          timestampMs: raw.timestampMs,
          attempt,
        };
        await withHeartbeats(control, this.sessionOptions.heartbeatIntervalMs, () => handler(message));
        this.observe(labels, startedAt);
        this.ctx.metrics.consumed.inc({ topic: raw.topic, outcome: 'ok' });
        this.advance(raw);
        return 'done';
      } catch (err) {
        failure = err;
        this.observe(labels, startedAt);
      }
      const kind = classifyFailure(failure);
      const where = { topic: raw.topic, partition: raw.partition, offset: raw.offset, groupId: this.options.groupId, attempt };
      if (kind === 'capacity') {
        this.ctx.metrics.consumed.inc({ topic: raw.topic, outcome: 'paused' });
        this.ctx.logger.info({ ...where, ...errorFields(failure) }, 'at capacity, pausing partition');
        // Paused here, synchronously, so that a resume() arriving any time after it wins.
        const tp = { topic: raw.topic, partition: raw.partition };
        this.session.pause([tp]);
        this.scheduleCapacityResume(tp);
        return 'pause';
      }
      if (kind === 'outage') outages++;
      else {
        failures++;
        outages = 0;
      }
      if (kind === 'invalid' || failures >= this.retry.attempts) {
        return this.deadLetter(raw, failure, attempt, control);
      }
      this.ctx.metrics.consumed.inc({ topic: raw.topic, outcome: 'retried' });
      const waitMs = backoffDelayMs(kind === 'outage' ? outages : failures, this.retry, this.ctx.random);
      if (kind === 'outage') {
        // The broker or the registry is away: not the message's fault. Retry until they are
        // back (or the consumer stops or loses the partition); never dead-letter for it.
        this.ctx.logger.warn({ ...where, retryInMs: waitMs, ...errorFields(failure) }, 'output unavailable, retrying until it is back');
      } else if (isUnexpected(failure)) {
        this.ctx.logger.error({ ...where, retryInMs: waitMs, ...errorFields(failure, { stack: true }) }, 'handler failed with an unexpected error, retrying');
      } else {
        this.ctx.logger.warn({ ...where, retryInMs: waitMs, ...errorFields(failure) }, 'handler failed, retrying');
      }
      if (!(await sleepWithHeartbeats(waitMs, control, this.sessionOptions.heartbeatIntervalMs))) return 'abort';
    }
  }

  private async deadLetter(raw: RawMessage, error: unknown, attempts: number, control: MessageControl): Promise<ProcessResult> {
    const reason = reasonOf(error);
    const headers = deadLetterHeaders(raw, { reason, attempts, error, groupId: this.options.groupId, service: this.ctx.clientId, nowMs: Date.now() });
    const dlq = deadLetterTopic(raw.topic);
    // The source offset is committed only once the dead letter is acknowledged; keep trying until
    // it is or the consumer stops (the message is then delivered again later).
    for (let i = 1; ; i++) {
      try {
        await this.ctx.sender.send(dlq, [{ key: raw.key, value: raw.value, headers }]);
        break;
      } catch (err) {
        const waitMs = backoffDelayMs(i, this.retry, this.ctx.random);
        this.ctx.logger.error({ topic: raw.topic, partition: raw.partition, offset: raw.offset, retryInMs: waitMs, ...errorFields(err) }, 'dead-letter send failed');
        if (!(await sleepWithHeartbeats(waitMs, control, this.sessionOptions.heartbeatIntervalMs))) return 'abort';
      }
    }
    this.ctx.metrics.consumed.inc({ topic: raw.topic, outcome: 'dead_lettered' });
    this.ctx.metrics.deadLetters.inc({ topic: raw.topic, reason });
    const fields = { topic: raw.topic, partition: raw.partition, offset: raw.offset, groupId: this.options.groupId, reason, attempts };
    // A handler bug gave up on this message: an error with the stack, so it is found and fixed.
    if (isUnexpected(error)) this.ctx.logger.error({ ...fields, ...errorFields(error, { stack: true }) }, 'message dead-lettered');
    else this.ctx.logger.warn({ ...fields, ...errorFields(error) }, 'message dead-lettered');
    this.advance(raw);
    return 'done';
  }

  private observe(labels: { topic: string }, startedAt: bigint): void {
    this.ctx.metrics.processingSeconds.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
  }

  private advance(raw: RawMessage): void {
    const next = Number(raw.offset) + 1;
    this.positions.set(tpKey(raw.topic, raw.partition), next);
    if (raw.highWatermark !== undefined) {
      this.ctx.metrics.lag.set({ topic: raw.topic, partition: String(raw.partition) }, Math.max(0, Number(raw.highWatermark) - next));
    }
  }

  private scheduleCapacityResume(tp: TopicPartition): void {
    const key = tpKey(tp.topic, tp.partition);
    const previous = this.capacityPaused.get(key);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      this.capacityPaused.delete(key);
      if (!this.appPaused && this.running) this.session.resume([tp]);
    }, this.options.capacityPauseMs ?? 1_000);
    timer.unref?.();
    this.capacityPaused.set(key, { tp, timer });
  }

  private async assigned(tps: TopicPartition[], callback: RunOptions<AnyBinding>['onPartitionsAssigned']): Promise<void> {
    if (this.appPaused) this.session.pause(tps);
    this.ctx.logger.info({ groupId: this.options.groupId, partitions: tps }, 'partitions assigned');
    if (!callback) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await callback(tps);
        return;
      } catch (err) {
        const kind = classifyFailure(err);
        if (attempt >= this.retry.attempts || (kind !== 'retry' && kind !== 'outage')) {
          this.ctx.logger.error({ groupId: this.options.groupId, ...errorFields(err) }, 'onPartitionsAssigned failed');
          this.crashed(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, this.retry, this.ctx.random)));
      }
    }
  }

  private async revoked(tps: TopicPartition[], callback: RunOptions<AnyBinding>['onPartitionsRevoked']): Promise<void> {
    for (const tp of tps) {
      const key = tpKey(tp.topic, tp.partition);
      const paused = this.capacityPaused.get(key);
      if (paused) clearTimeout(paused.timer);
      this.capacityPaused.delete(key);
      this.positions.delete(key);
      this.ctx.metrics.lag.remove({ topic: tp.topic, partition: String(tp.partition) });
    }
    this.ctx.logger.info({ groupId: this.options.groupId, partitions: tps }, 'partitions revoked');
    if (!callback) return;
    try {
      await callback(tps);
    } catch (err) {
      this.ctx.logger.error({ groupId: this.options.groupId, ...errorFields(err) }, 'onPartitionsRevoked failed');
    }
  }

  private crashed(err: Error): void {
    if (this.crashedAlready || this.stopping) return;
    this.crashedAlready = true;
    this.running = false;
    this.ctx.logger.error({ groupId: this.options.groupId, ...errorFields(err) }, 'consumer crashed');
    this.options.onCrash?.(err);
  }

  private async refreshLag(): Promise<void> {
    if (!this.running) return;
    try {
      const byTopic = new Map<string, number[]>();
      for (const tp of this.session.assignment()) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      for (const [topic, partitions] of byTopic) {
        const [offsets, committed] = await Promise.all([this.ctx.admin.listOffsets(topic), this.ctx.admin.committedOffsets(this.options.groupId, topic)]);
        for (const partition of partitions) {
          const o = offsets.find((x) => x.partition === partition);
          if (!o) continue;
          const c = committed.find((x) => x.partition === partition);
          const position =
            this.positions.get(tpKey(topic, partition)) ?? (c ? Number(c.offset) : this.sessionOptions.fromBeginning ? Number(o.low) : Number(o.high));
          this.ctx.metrics.lag.set({ topic, partition: String(partition) }, Math.max(0, Number(o.high) - position));
        }
      }
    } catch (err) {
      if (this.running) this.ctx.logger.warn({ groupId: this.options.groupId, ...errorFields(err) }, 'lag refresh failed');
    }
  }
}

/**
 * A failure that is not a SafeguardError (TypeError, RangeError, ...): a bug in the handler. STYLE.md
 * lets programmer errors crash the process, but a message that always triggers one would then
 * stall its partition for good (crash, restart, same message); so it is retried like a transient
 * failure, then dead-lettered as `unexpected_error`, and logged at error level with its stack.
 */
function isUnexpected(err: unknown): boolean {
  return reasonOf(err) === TransportErrorCodes.unexpectedError;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new TransportConfigError(`${name} must be a positive integer, got ${value}`);
  return value;
}
