import type { Logger } from '@safeguard/observability';

/** Options of {@link PeriodicTask}. */
export interface PeriodicTaskOptions {
  /** Stable lowercase name (log field and metric label). */
  name: string;
  /** Pause between the end of one run and the start of the next, ms. */
  intervalMs: number;
  /** One run. `signal` aborts when the task stops: stop at the next safe point. */
  run: (signal: AbortSignal) => Promise<void>;
  logger: Logger;
  /** Called when a run fails (the task keeps going). */
  onError?: (name: string) => void;
}

/**
 * Runs a job every `intervalMs`, never overlapping itself, and at once when kicked. Why not
 * `setInterval`: a slow run (an authority answering slowly) must not pile up runs, and a
 * shutdown must wait for the run in flight, which stops at its next safe point.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private kicked = false;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly opts: PeriodicTaskOptions) {}

  /** Starts the schedule; the first run happens after `delayMs` (default at once). */
  start(delayMs = 0): void {
    this.schedule(delayMs);
  }

  /** Runs as soon as the run in flight (if any) ends. */
  kick(): void {
    if (this.stopped) return;
    if (this.current) {
      this.kicked = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops the schedule, aborts the run in flight at its next safe point, and waits for it. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.current;
  }

  /** Runs now (after the run in flight, if any) and resolves when that run ends. */
  async runNow(): Promise<void> {
    while (this.current) await this.current;
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.begin();
  }

  private begin(): Promise<void> {
    const run = this.once().finally(() => {
      this.current = undefined;
      const again = this.kicked;
      this.kicked = false;
      this.schedule(again ? 0 : this.opts.intervalMs);
    });
    this.current = run;
    return run;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.current) void this.begin();
    }, delayMs);
    this.timer.unref?.();
  }

  private async once(): Promise<void> {
    try {
      await this.opts.run(this.abort.signal);
    } catch (err) {
      this.opts.onError?.(this.opts.name);
      this.opts.logger.error({ task: this.opts.name, code: (err as { code?: unknown }).code ?? 'unexpected_error', err }, 'periodic task failed');
    }
  }
}
