/**
 * The check API's hashing pool (the shared `WorkerPool` of @safeguard/service-runtime, on Piscina)
 * with a bounded number of admitted requests.
 *
 * Why a pool and not hashing on the main thread: decoding plus PDQ costs tens of milliseconds of
 * CPU per photograph (about 10 ms of it PDQ in JavaScript). On the main thread that would stall
 * everything else the replica does: applying indicator updates (the "effective within seconds"
 * promise), matching the Kafka stream, heartbeats. Worker threads keep the main thread free for
 * the sub-millisecond index lookups, and admission gives back-pressure: a request takes a slot
 * before its body is read; no slot means 503 with Retry-After instead of an ever longer queue.
 */
// sharp's docs: load it in the main thread before worker threads that use it.
import 'sharp';
import type { HashImageOptions } from '@safeguard/hashing';
import { builtWorkerFile, transferableBuffer, WorkerPool } from '@safeguard/service-runtime/worker-pool';
import type { CheckHashResult, CheckHashTask } from './workers/check-hash.worker';

/** Settings of {@link CheckPool}. */
export interface CheckPoolOptions {
  /** Worker threads. */
  threads: number;
  /** Requests admitted beyond one per thread. */
  maxQueue: number;
  /** Decoding limits, mode, dihedral. */
  image: HashImageOptions;
  /** The compiled worker module; default `dist/workers/check-hash.worker.js` of this package. */
  workerFile?: string;
}

/** A reserved place in the pool: hash with it once, then release it (idempotent). */
export interface CheckSlot {
  /** Hashes `bytes` on a worker (copied unless the view covers its whole ArrayBuffer, which is then transferred). */
  hash(bytes: Buffer): Promise<CheckHashResult>;
  release(): void;
}

/** What the check API needs from a pool (tests substitute their own). */
export interface CheckExecutor {
  /** A slot, or undefined when `threads + maxQueue` requests are already admitted. */
  reserve(): CheckSlot | undefined;
  /** Admitted requests. */
  readonly inFlight: number;
}

/** The compiled worker next to this module (dist), or the package's dist when running from src (tests). */
export function defaultCheckWorkerFile(): string {
  return builtWorkerFile(__dirname, 'check-hash.worker.js', 'check worker', '@safeguard/matcher');
}

/** The pool. Start with {@link CheckPool.start}; close with {@link CheckPool.close}. */
export class CheckPool implements CheckExecutor {
  private constructor(
    private readonly pool: WorkerPool<CheckHashTask, CheckHashResult>,
    private readonly options: CheckPoolOptions,
  ) {}

  /** Starts every worker thread (so a broken deployment fails at start, not on the first request). */
  static async start(options: CheckPoolOptions): Promise<CheckPool> {
    const pool = await WorkerPool.start<CheckHashTask, CheckHashResult>({
      filename: options.workerFile ?? defaultCheckWorkerFile(),
      threads: options.threads,
      maxQueue: options.maxQueue,
      // An empty image is refused by the worker: a cheap round trip that loads sharp in each thread.
      warmUp: { task: { buffer: new ArrayBuffer(0), image: {} } },
    });
    return new CheckPool(pool, options);
  }

  /** Most requests admitted at once (`threads + maxQueue`). */
  get capacity(): number {
    return this.pool.capacity;
  }

  get inFlight(): number {
    return this.pool.inFlight;
  }

  reserve(): CheckSlot | undefined {
    const slot = this.pool.reserve();
    if (!slot) return undefined;
    return {
      hash: (bytes) => {
        const buffer = transferableBuffer(bytes);
        return slot.run({ buffer, image: this.options.image }, [buffer]);
      },
      release: () => slot.release(),
    };
  }

  /** Waits for admitted tasks, then stops the threads. Idempotent. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
