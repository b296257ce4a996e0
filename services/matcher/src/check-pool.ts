/**
 * The check API's hashing pool (Piscina) with a bounded number of admitted requests.
 *
 * Why a pool and not hashing on the main thread: decoding plus PDQ costs tens of milliseconds of
 * CPU per photograph (about 10 ms of it PDQ in JavaScript). On the main thread that would stall
 * everything else the replica does: applying indicator updates (the "effective within seconds"
 * promise), matching the Kafka stream, heartbeats. Worker threads keep the main thread free for
 * the sub-millisecond index lookups, and admission gives back-pressure: a request takes a slot
 * before its body is read; no slot means 503 with Retry-After instead of an ever longer queue.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
// sharp's docs: load it in the main thread before worker threads that use it.
import 'sharp';
import { Piscina } from 'piscina';
import type { HashImageOptions } from '@safeguard/hashing';
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
  const beside = join(__dirname, 'workers', 'check-hash.worker.js');
  if (existsSync(beside)) return beside;
  const built = join(__dirname, '..', 'dist', 'workers', 'check-hash.worker.js');
  if (existsSync(built)) return built;
  throw new Error(`check worker not built: ${built} is missing (run npm run build -w @safeguard/matcher)`);
}

/** The ArrayBuffer to transfer to a worker: `bytes`' own when the view covers all of it, else a copy. */
function transferable(bytes: Buffer): ArrayBuffer {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/** The pool. Start with {@link CheckPool.start}; close with {@link CheckPool.close}. */
export class CheckPool implements CheckExecutor {
  private admitted = 0;
  private closed = false;

  private constructor(
    private readonly piscina: Piscina<CheckHashTask, CheckHashResult>,
    private readonly options: CheckPoolOptions,
  ) {}

  /** Starts every worker thread (so a broken deployment fails at start, not on the first request). */
  static async start(options: CheckPoolOptions): Promise<CheckPool> {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError(`threads must be a positive integer, got ${options.threads}`);
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer, got ${options.maxQueue}`);
    const piscina = new Piscina<CheckHashTask, CheckHashResult>({
      filename: options.workerFile ?? defaultCheckWorkerFile(),
      minThreads: options.threads,
      maxThreads: options.threads,
      maxQueue: options.threads + options.maxQueue,
      idleTimeout: 2 ** 31 - 1,
    });
    try {
      // An empty image is refused by the worker: a cheap round trip that loads sharp in each thread.
      await Promise.all(Array.from({ length: options.threads }, () => piscina.run({ buffer: new ArrayBuffer(0), image: {} })));
    } catch (err) {
      await piscina.destroy();
      throw err;
    }
    return new CheckPool(piscina, options);
  }

  /** Most requests admitted at once (`threads + maxQueue`). */
  get capacity(): number {
    return this.options.threads + this.options.maxQueue;
  }

  get inFlight(): number {
    return this.admitted;
  }

  reserve(): CheckSlot | undefined {
    if (this.closed || this.admitted >= this.capacity) return undefined;
    this.admitted++;
    let released = false;
    return {
      hash: (bytes) => {
        const buffer = transferable(bytes);
        return this.piscina.run({ buffer, image: this.options.image }, { transferList: [buffer] });
      },
      release: () => {
        if (released) return;
        released = true;
        this.admitted--;
      },
    };
  }

  /** Waits for admitted tasks, then stops the threads. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close();
  }
}
