/**
 * The hashing worker pool (the shared `WorkerPool` of @safeguard/service-runtime, on Piscina) with
 * a bounded number of admitted tasks.
 *
 * Why slots: back-pressure must act before the media is fetched, not after (a full queue of
 * fetched 64 MiB images is the memory problem we avoid). A handler takes a slot first; no slot
 * means `CapacityError`, and the consumer pauses that partition and re-delivers later. A slot
 * covers fetching, waiting and hashing, so at most `threads + maxQueue` media are held in memory
 * at once. Releasing a slot after a refusal notifies the service, which resumes the consumer.
 */
// sharp's docs: load it in the main thread before worker threads that use it, so its shared
// libraries stay loaded while workers come and go.
import 'sharp';
import type { HashImageOptions, VideoHashOptions } from '@safeguard/hashing';
import { builtWorkerFile, transferableBuffer, WorkerPool, type WorkerSlot } from '@safeguard/service-runtime/worker-pool';
import type { HasherVersions, HashTask, HashTaskResult } from './workers/hash.worker';

/** Settings of {@link HashPool}. */
export interface HashPoolOptions {
  /** Worker threads (each hashes one medium at a time with one libvips thread). */
  threads: number;
  /** Admitted tasks beyond one per thread (fetching or queued). */
  maxQueue: number;
  /** Options for still images. */
  image: HashImageOptions;
  /** Options for videos. */
  video: VideoHashOptions;
  /** The compiled worker module; default `dist/workers/hash.worker.js` of this package. */
  workerFile?: string;
}

/** A reserved place in the pool: hash with it once, then release it (idempotent). */
export interface PoolSlot {
  /**
   * Hashes `bytes` on a worker. With `owned` (the caller holds the only reference to the whole
   * ArrayBuffer, as the fetchers' results do) the memory is transferred and `bytes` is empty
   * afterwards (read its length first); otherwise (inline bytes: a view into a Kafka batch) it
   * is copied once.
   */
  hash(bytes: Buffer, owned: boolean): Promise<HashTaskResult>;
  release(): void;
}

/** What the handler needs from a pool (tests substitute their own). */
export interface HashExecutor {
  /** A slot, or undefined when `threads + maxQueue` tasks are already admitted. */
  reserve(): PoolSlot | undefined;
}

/** The compiled worker next to this module (dist), or the package's dist when running from src (tests). */
export function defaultWorkerFile(): string {
  return builtWorkerFile(__dirname, 'hash.worker.js', 'hash worker', '@safeguard/hasher');
}

/** The pool. Start with {@link HashPool.start}; close with {@link HashPool.close}. */
export class HashPool implements HashExecutor {
  private busySeconds = 0;

  private constructor(
    private readonly pool: WorkerPool<HashTask, HashTaskResult>,
    private readonly options: HashPoolOptions,
    /** sharp and libvips versions the workers run, and their JPEG decoder. */
    readonly versions: HasherVersions,
  ) {}

  /**
   * Starts every worker thread and waits until each has loaded the hashing code (so a broken
   * deployment fails at start, not on the first message).
   */
  static async start(options: HashPoolOptions): Promise<HashPool> {
    const pool = await WorkerPool.start<HashTask, HashTaskResult>({
      filename: options.workerFile ?? defaultWorkerFile(),
      threads: options.threads,
      maxQueue: options.maxQueue,
      // Between tasks, workers wait on their event loop (not in Atomics.wait), so timers and
      // child-process events of a finished task (ffmpeg exit, temp file removal) still run.
      atomics: 'async',
      warmUp: { task: {} as HashTask, name: 'versions' },
    });
    return new HashPool(pool, options, pool.warmUpAnswers[0] as HasherVersions);
  }

  /** Worker threads. */
  get threads(): number {
    return this.pool.threads;
  }

  /** Most tasks admitted at once (`threads + maxQueue`). */
  get capacity(): number {
    return this.pool.capacity;
  }

  /** Admitted tasks (fetching, queued or hashing). */
  get inFlight(): number {
    return this.pool.inFlight;
  }

  /** Tasks handed to the pool and waiting for a free worker. */
  get queueDepth(): number {
    return this.pool.queueDepth;
  }

  /** Fraction of the threads hashing right now, 0..1. */
  get utilization(): number {
    return this.pool.utilization;
  }

  /** Sum of the workers' busy time since start, seconds. */
  get totalBusySeconds(): number {
    return this.busySeconds;
  }

  /** True until {@link HashPool.close}. */
  get isOpen(): boolean {
    return this.pool.isOpen;
  }

  /** Calls `listener` whenever a slot is released (capacity came back). Returns an unsubscribe. */
  onSlotFreed(listener: () => void): () => void {
    return this.pool.onSlotFreed(listener);
  }

  reserve(): PoolSlot | undefined {
    const slot = this.pool.reserve();
    if (!slot) return undefined;
    let released = false;
    let used = false;
    return {
      hash: (bytes, owned) => {
        if (released || used) throw new Error('a pool slot hashes once, before it is released');
        used = true;
        return this.run(slot, bytes, owned);
      },
      release: () => {
        released = true;
        slot.release();
      },
    };
  }

  private async run(slot: WorkerSlot<HashTask, HashTaskResult>, bytes: Buffer, owned: boolean): Promise<HashTaskResult> {
    const buffer = transferableBuffer(bytes, owned);
    const task: HashTask = { buffer, image: this.options.image, video: this.options.video };
    const out = await slot.run(task, [buffer]);
    this.busySeconds += out.busySeconds;
    return out;
  }

  /** Waits for admitted tasks to finish, then stops the threads. Idempotent. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
