/**
 * `@safeguard/service-runtime/worker-pool`: a Piscina worker pool with a bounded number of
 * admitted tasks, shared by the services that do CPU-bound work off the main thread (the hasher's
 * hashing pool, the matcher's check API). A subpath of its own so that services without a pool do
 * not load Piscina.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';

/** Settings of {@link WorkerPool}. */
export interface WorkerPoolOptions<Task> {
  /** The compiled worker module (absolute path). */
  filename: string;
  /** Worker threads, all started at once and kept (a positive integer; size it with `cpuLimit()`). */
  threads: number;
  /** Tasks admitted beyond one per thread (a non-negative integer). */
  maxQueue: number;
  /**
   * How an idle worker waits for its next task (Piscina's `atomics`); default Piscina's (`sync`).
   * `async` keeps the worker's event loop turning between tasks, so timers and child-process
   * events of a finished task still run.
   */
  atomics?: 'sync' | 'async' | 'disabled';
  /**
   * A task run once on every thread at start (with Piscina's `name` to pick another exported
   * function), so that a broken deployment fails at start, not on the first real task. The
   * answers are kept in {@link WorkerPool.warmUpAnswers}. A failure closes the pool and rejects
   * {@link WorkerPool.start}.
   */
  warmUp?: { task: Task; name?: string };
}

/** A reserved place in the pool: run tasks with it, then release it (idempotent). */
export interface WorkerSlot<Task, Result> {
  /** Runs `task` on a worker; `transferList` buffers are moved, not copied (they are detached afterwards). */
  run(task: Task, transferList?: ArrayBuffer[]): Promise<Result>;
  /** Gives the place back; the first call notifies {@link WorkerPool.onSlotFreed} listeners, later calls do nothing. */
  release(): void;
}

/**
 * The pool. Why admission slots and not Piscina's own queue: back-pressure has to act before the
 * caller commits memory to a task (fetching media, reading a request body). A caller takes a slot
 * first; no slot (`threads + maxQueue` already admitted, or the pool closed) means "full" now,
 * and the caller refuses or pauses instead of queueing ever more work.
 *
 * Start with {@link WorkerPool.start}; close with {@link WorkerPool.close}.
 */
export class WorkerPool<Task, Result> {
  private admitted = 0;
  private submitted = 0;
  private closed = false;
  private readonly freed = new Set<() => void>();

  private constructor(
    private readonly piscina: Piscina<Task, Result>,
    /** Worker threads. */
    readonly threads: number,
    /** Most tasks admitted at once (`threads + maxQueue`). */
    readonly capacity: number,
    /** The warm-up task's answers, one per thread (empty without a warm-up). */
    readonly warmUpAnswers: readonly unknown[],
  ) {}

  /**
   * Starts every worker thread and runs the warm-up task on each.
   * @throws RangeError when `threads` is not a positive integer or `maxQueue` not a non-negative one.
   * @throws whatever the warm-up task threw (a missing worker module, a library that fails to load).
   */
  static async start<Task, Result>(options: WorkerPoolOptions<Task>): Promise<WorkerPool<Task, Result>> {
    const { threads, maxQueue } = options;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer, got ${maxQueue}`);
    const piscina = new Piscina<Task, Result>({
      filename: options.filename,
      minThreads: threads,
      maxThreads: threads,
      maxQueue: threads + maxQueue,
      idleTimeout: 2 ** 31 - 1,
      ...(options.atomics === undefined ? {} : { atomics: options.atomics }),
    });
    let answers: unknown[] = [];
    try {
      const warmUp = options.warmUp;
      if (warmUp) {
        const runOptions = warmUp.name === undefined ? undefined : { name: warmUp.name };
        answers = await Promise.all(Array.from({ length: threads }, () => piscina.run(warmUp.task, runOptions) as Promise<unknown>));
      }
    } catch (err) {
      await piscina.destroy();
      throw err;
    }
    return new WorkerPool<Task, Result>(piscina, threads, threads + maxQueue, answers);
  }

  /** Admitted tasks (reserved slots not yet released). */
  get inFlight(): number {
    return this.admitted;
  }

  /** Tasks handed to the pool and waiting for a free worker. */
  get queueDepth(): number {
    return this.piscina.queueSize;
  }

  /** Fraction of the threads running a task right now, 0..1. */
  get utilization(): number {
    const running = Math.max(0, this.submitted - this.piscina.queueSize);
    return Math.min(1, running / this.threads);
  }

  /** True until {@link WorkerPool.close}. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Calls `listener` whenever a slot is released (capacity came back). Returns an unsubscribe. */
  onSlotFreed(listener: () => void): () => void {
    this.freed.add(listener);
    return () => this.freed.delete(listener);
  }

  /** A slot, or undefined when `capacity` tasks are already admitted or the pool is closed. */
  reserve(): WorkerSlot<Task, Result> | undefined {
    if (this.closed || this.admitted >= this.capacity) return undefined;
    this.admitted++;
    let released = false;
    return {
      run: (task, transferList) => this.run(task, transferList),
      release: () => {
        if (released) return;
        released = true;
        this.admitted--;
        for (const listener of this.freed) listener();
      },
    };
  }

  private async run(task: Task, transferList: ArrayBuffer[] | undefined): Promise<Result> {
    this.submitted++;
    try {
      return await this.piscina.run(task, transferList === undefined ? undefined : { transferList });
    } finally {
      this.submitted--;
    }
  }

  /** Waits for the tasks handed to the pool to finish, then stops the threads. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close();
  }
}

/**
 * A service's compiled worker module: `workers/<file>` beside the calling module when it runs
 * from `dist`, else the package's `dist/workers/<file>` (the caller runs from `src`, in tests).
 *
 * @param moduleDir - the calling module's `__dirname` (`src` or `dist` of the package).
 * @param file - the worker's file name, e.g. `hash.worker.js`.
 * @param what - how an error names the worker, e.g. `hash worker`.
 * @param packageName - the package to build when it is missing, e.g. `@safeguard/hasher`.
 * @throws Error `<what> not built: <path> is missing (run npm run build -w <packageName>)`.
 */
export function builtWorkerFile(moduleDir: string, file: string, what: string, packageName: string): string {
  const beside = join(moduleDir, 'workers', file);
  if (existsSync(beside)) return beside;
  const built = join(moduleDir, '..', 'dist', 'workers', file);
  if (existsSync(built)) return built;
  throw new Error(`${what} not built: ${built} is missing (run npm run build -w ${packageName})`);
}

/**
 * The ArrayBuffer to hand to a worker: `bytes`' own buffer when the caller owns all of it
 * (`owned`, and the view covers it exactly), else a copy. Transferring moves memory without
 * copying, but detaches every view of it, so only buffers nobody else holds may be moved.
 *
 * @param owned - the caller holds the only reference to the whole buffer; default true.
 */
export function transferableBuffer(bytes: Uint8Array, owned = true): ArrayBuffer {
  const { buffer } = bytes;
  if (owned && buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
