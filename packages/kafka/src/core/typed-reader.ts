import type { ConsumedMessage, Reader, ReaderOptions } from '../types';
import type { ResolvedRetryOptions } from './backoff';
import { backoffDelayMs, resolveRetryOptions } from './backoff';
import type { MessageControl, ProcessResult, RawMessage, ReaderSession } from './driver';
import { errorFields } from './logger';
import { classifyFailure, sleepWithHeartbeats } from './policy';
import type { TransportContext } from './typed-consumer';

/**
 * Reads a topic from the beginning and tails it. Caught up = every partition's position reached
 * the high watermark observed at start.
 */
export class TypedReader<V> implements Reader {
  private readonly retry: ResolvedRetryOptions;
  private readonly session: ReaderSession;
  private readonly targets = new Map<number, number>();
  private wanted: Set<number> | undefined;
  private handled = 0;
  private caught = false;
  private failed: Error | undefined;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (err: Error) => void;
  private readonly caughtUpPromise: Promise<void>;
  private stopping: Promise<void> | undefined;

  constructor(private readonly ctx: TransportContext, private readonly options: ReaderOptions<V>) {
    this.retry = resolveRetryOptions(options.retry);
    this.session = ctx.driver.readerSession({ heartbeatIntervalMs: 3_000, stopTimeoutMs: 30_000 });
    this.caughtUpPromise = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // Callers that never ask for caughtUp() must not see an unhandled rejection.
    this.caughtUpPromise.catch(() => undefined);
  }

  /** Snapshots the end offsets, then starts reading. */
  async start(): Promise<void> {
    const topic = this.options.binding.topic;
    const offsets = await this.ctx.admin.listOffsets(topic);
    const wanted = this.options.partitions;
    if (wanted) {
      for (const p of wanted) {
        if (!offsets.some((o) => o.partition === p)) throw new RangeError(`partition ${p} does not exist in ${topic}`);
      }
      this.wanted = new Set(wanted);
    }
    for (const o of offsets) {
      if (this.wanted && !this.wanted.has(o.partition)) continue;
      if (Number(o.high) > Number(o.low)) this.targets.set(o.partition, Number(o.high));
    }
    this.checkCaughtUp();
    await this.session.start(topic, (m, c) => this.process(m, c), (err) => this.fail(err), wanted);
  }

  caughtUp(): Promise<void> {
    return this.caughtUpPromise;
  }

  isCaughtUp(): boolean {
    return this.caught;
  }

  handledCount(): number {
    return this.handled;
  }

  stop(): Promise<void> {
    this.stopping ??= this.session.stop().catch((err) => {
      this.ctx.logger.warn({ topic: this.options.binding.topic, ...errorFields(err) }, 'reader stop failed');
    });
    return this.stopping;
  }

  private async process(raw: RawMessage, control: MessageControl): Promise<ProcessResult> {
    const topic = raw.topic;
    if (this.wanted && !this.wanted.has(raw.partition)) return 'done';
    for (let attempt = 1; ; attempt++) {
      try {
        const value = raw.value === null ? null : await this.ctx.codec.decode(this.options.binding, raw.value);
        const message: ConsumedMessage<V> = {
          topic,
          partition: raw.partition,
          offset: raw.offset,
          key: raw.key === null ? null : raw.key.toString('utf8'),
          value,
          headers: raw.headers,
          timestampMs: raw.timestampMs,
          attempt,
        };
        await this.options.handle(message);
        this.handled++;
        this.ctx.metrics.consumed.inc({ topic, outcome: 'ok' });
        this.advance(raw);
        return 'done';
      } catch (err) {
        const where = { topic, partition: raw.partition, offset: raw.offset, attempt };
        if (classifyFailure(err) === 'invalid') {
          this.ctx.metrics.consumed.inc({ topic, outcome: 'skipped' });
          this.ctx.logger.warn({ ...where, ...errorFields(err) }, 'reader skipped an invalid record');
          this.advance(raw);
          return 'done';
        }
        if (attempt >= this.retry.attempts) {
          this.fail(err instanceof Error ? err : new Error(String(err)));
          return 'abort';
        }
        this.ctx.metrics.consumed.inc({ topic, outcome: 'retried' });
        this.ctx.logger.warn({ ...where, ...errorFields(err) }, 'reader handler failed, retrying');
        if (!(await sleepWithHeartbeats(backoffDelayMs(attempt, this.retry, this.ctx.random), control, 3_000))) return 'abort';
      }
    }
  }

  private advance(raw: RawMessage): void {
    const target = this.targets.get(raw.partition);
    if (target !== undefined && Number(raw.offset) + 1 >= target) {
      this.targets.delete(raw.partition);
      this.checkCaughtUp();
    }
  }

  private checkCaughtUp(): void {
    if (!this.caught && !this.failed && this.targets.size === 0) {
      this.caught = true;
      this.resolveCaughtUp();
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.ctx.logger.error({ topic: this.options.binding.topic, ...errorFields(err) }, 'reader failed');
    if (!this.caught) this.rejectCaughtUp(err);
    this.options.onError?.(err);
    void this.stop();
  }
}
