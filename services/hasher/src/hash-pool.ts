/**
 * The hashing worker pool (Piscina) with a bounded number of admitted tasks.
 *
 * Why slots: back-pressure must act before the media is fetched, not after (a full queue of
 * fetched 64 MiB images is the memory problem we avoid). A handler takes a slot first; no slot
 * means `CapacityError`, and the consumer pauses that partition and re-delivers later. A slot
 * covers fetching, waiting and hashing, so at most `threads + maxQueue` media are held in memory
 * at once. Releasing a slot after a refusal notifies the service, which resumes the consumer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
// sharp's docs: load it in the main thread before worker threads that use it, so its shared
// libraries stay loaded while workers come and go.
import 'sharp';
import { Piscina } from 'piscina';
import type { HashImageOptions, VideoHashOptions } from '@safeguard/hashing';
import type { HashTask, HashTaskResult } from './workers/hash.worker';

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
  const beside = join(__dirname, 'workers', 'hash.worker.js');
  if (existsSync(beside)) return beside;
  const built = join(__dirname, '..', 'dist', 'workers', 'hash.worker.js');
  if (existsSync(built)) return built;
  throw new Error(`hash worker not built: ${built} is missing (run npm run build -w @safeguard/hasher)`);
}

/**
 * The ArrayBuffer to hand to a worker: `bytes`' own buffer when the caller owns all of it
 * (`owned`, and the view covers it exactly), else a copy. Transferring moves memory without
 * copying, but detaches every view of it, so only buffers nobody else holds may be moved.
 */
export function transferableBuffer(bytes: Uint8Array, owned: boolean): ArrayBuffer {
  const { buffer } = bytes;
  if (owned && buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/** The pool. Start with {@link HashPool.start}; close with {@link HashPool.close}. */
export class HashPool implements HashExecutor {
  private admitted = 0;
  private submitted = 0;
  private busySeconds = 0;
  private closed = false;
  private readonly freed = new Set<() => void>();

  private constructor(
    private readonly piscina: Piscina<HashTask, HashTaskResult>,
    private readonly options: HashPoolOptions,
    /** sharp and libvips versions the workers run. */
    readonly versions: { sharp: string; libvips: string },
  ) {}

  /**
   * Starts every worker thread and waits until each has loaded the hashing code (so a broken
   * deployment fails at start, not on the first message).
   */
  static async start(options: HashPoolOptions): Promise<HashPool> {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError(`threads must be a positive integer, got ${options.threads}`);
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer, got ${options.maxQueue}`);
    const piscina = new Piscina<HashTask, HashTaskResult>({
      filename: options.workerFile ?? defaultWorkerFile(),
      minThreads: options.threads,
      maxThreads: options.threads,
      maxQueue: options.threads + options.maxQueue,
      idleTimeout: 2 ** 31 - 1,
      // Between tasks, workers wait on their event loop (not in Atomics.wait), so timers and
      // child-process events of a finished task (ffmpeg exit, temp file removal) still run.
      atomics: 'async',
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: options.threads }, () => piscina.run({} as HashTask, { name: 'versions' }) as unknown as Promise<{ sharp: string; libvips: string }>),
      );
      return new HashPool(piscina, options, answers[0]!);
    } catch (err) {
      await piscina.destroy();
      throw err;
    }
  }

  /** Worker threads. */
  get threads(): number {
    return this.options.threads;
  }

  /** Most tasks admitted at once (`threads + maxQueue`). */
  get capacity(): number {
    return this.options.threads + this.options.maxQueue;
  }

  /** Admitted tasks (fetching, queued or hashing). */
  get inFlight(): number {
    return this.admitted;
  }

  /** Tasks handed to the pool and waiting for a free worker. */
  get queueDepth(): number {
    return this.piscina.queueSize;
  }

  /** Fraction of the threads hashing right now, 0..1. */
  get utilization(): number {
    const running = Math.max(0, this.submitted - this.piscina.queueSize);
    return Math.min(1, running / this.options.threads);
  }

  /** Sum of the workers' busy time since start, seconds. */
  get totalBusySeconds(): number {
    return this.busySeconds;
  }

  /** True until {@link HashPool.close}. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Calls `listener` whenever a slot is released (capacity came back). Returns an unsubscribe. */
  onSlotFreed(listener: () => void): () => void {
    this.freed.add(listener);
    return () => this.freed.delete(listener);
  }

  reserve(): PoolSlot | undefined {
    if (this.closed || this.admitted >= this.capacity) return undefined;
    this.admitted++;
    let released = false;
    let used = false;
    return {
      hash: (bytes, owned) => {
        if (released || used) throw new Error('a pool slot hashes once, before it is released');
        used = true;
        return this.run(bytes, owned);
      },
      release: () => {
        if (released) return;
        released = true;
        this.admitted--;
        for (const listener of this.freed) listener();
      },
    };
  }

  private async run(bytes: Buffer, owned: boolean): Promise<HashTaskResult> {
    const buffer = transferableBuffer(bytes, owned);
    const task: HashTask = { buffer, image: this.options.image, video: this.options.video };
    this.submitted++;
    try {
      const out = await this.piscina.run(task, { transferList: [buffer] });
      this.busySeconds += out.busySeconds;
      return out;
    } finally {
      this.submitted--;
    }
  }

  /** Waits for admitted tasks to finish, then stops the threads. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close();
  }
}
