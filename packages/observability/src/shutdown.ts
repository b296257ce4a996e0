/** One step of an orderly shutdown. */
export interface ShutdownStep {
  /** Stable name, logged with the outcome. */
  name: string;
  run: () => Promise<void> | void;
}

/** Outcome of one step. */
export interface ShutdownStepResult {
  name: string;
  ok: boolean;
  durationMs: number;
  error?: unknown;
}

/** Options for {@link ShutdownCoordinator}. */
export interface ShutdownOptions {
  /**
   * Upper bound for the whole shutdown, in ms. Default 25000: below Kubernetes' default 30 s
   * grace period so the process exits on its own before SIGKILL. Steps still running when the
   * budget is spent are abandoned and reported as failed.
   */
  timeoutMs?: number;
  /** Receives each step's outcome (for logging). */
  onStep?: (result: ShutdownStepResult) => void;
}

/**
 * Runs registered shutdown steps once, in registration order (stop fetching, drain, close the
 * pool, flush the producer, commit, disconnect). Why a coordinator: every step must run even if
 * an earlier one throws, the whole sequence must be bounded in time, and a second signal must
 * not start a second sequence. It never calls `process.exit`; `main.ts` does.
 */
export class ShutdownCoordinator {
  private readonly steps: ShutdownStep[] = [];
  private running: Promise<ShutdownStepResult[]> | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: ShutdownOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 25_000;
  }

  /** Adds a step to run at shutdown, after those added before it. */
  add(name: string, run: ShutdownStep['run']): void {
    this.steps.push({ name, run });
  }

  /** True once {@link shutdown} has been called. */
  get started(): boolean {
    return this.running !== undefined;
  }

  /** Runs every step (once; later calls return the same promise). Never rejects. */
  shutdown(): Promise<ShutdownStepResult[]> {
    this.running ??= this.runAll();
    return this.running;
  }

  private async runAll(): Promise<ShutdownStepResult[]> {
    const deadline = Date.now() + this.timeoutMs;
    const results: ShutdownStepResult[] = [];
    for (const step of this.steps) {
      const started = Date.now();
      const remaining = Math.max(0, deadline - started);
      let result: ShutdownStepResult;
      try {
        await withTimeout(Promise.resolve().then(step.run), remaining, step.name);
        result = { name: step.name, ok: true, durationMs: Date.now() - started };
      } catch (error) {
        result = { name: step.name, ok: false, durationMs: Date.now() - started, error };
      }
      results.push(result);
      this.options.onStep?.(result);
    }
    return results;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`shutdown step ${name} exceeded the remaining budget of ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
