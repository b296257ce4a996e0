import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtWorkerFile, transferableBuffer, WorkerPool } from './worker-pool';

jest.setTimeout(60_000);

const WORKER = join(__dirname, '..', 'test', 'fixtures', 'echo.worker.js');

interface Task {
  buffer?: ArrayBuffer;
  fail?: boolean;
}
interface Result {
  bytes: number;
  threadId: number;
}

describe('transferableBuffer', () => {
  it('moves an owned buffer and copies anything else', () => {
    const owned = Buffer.allocUnsafeSlow(100);
    expect(transferableBuffer(owned, true)).toBe(owned.buffer);
    expect(transferableBuffer(owned, false)).not.toBe(owned.buffer);
    const slice = owned.subarray(10, 20);
    const copy = transferableBuffer(slice, true);
    expect(copy).not.toBe(owned.buffer);
    expect(Buffer.from(copy).equals(slice)).toBe(true);
  });

  it('treats the buffer as owned unless told otherwise', () => {
    const owned = Buffer.allocUnsafeSlow(8);
    expect(transferableBuffer(owned)).toBe(owned.buffer);
  });
});

describe('WorkerPool', () => {
  let pool: WorkerPool<Task, Result>;

  beforeAll(async () => {
    pool = await WorkerPool.start<Task, Result>({ filename: WORKER, threads: 2, maxQueue: 1, warmUp: { task: {}, name: 'hello' } });
  });

  afterAll(async () => {
    await pool.close();
  });

  it('refuses a thread count or queue bound that is not a whole number in range', async () => {
    await expect(WorkerPool.start({ filename: WORKER, threads: 0, maxQueue: 0 })).rejects.toThrow(new RangeError('threads must be a positive integer, got 0'));
    await expect(WorkerPool.start({ filename: WORKER, threads: 1.5, maxQueue: 0 })).rejects.toThrow(RangeError);
    await expect(WorkerPool.start({ filename: WORKER, threads: 1, maxQueue: -1 })).rejects.toThrow(new RangeError('maxQueue must be a non-negative integer, got -1'));
  });

  it('runs the warm-up task on every thread and keeps the answers', () => {
    expect(pool.threads).toBe(2);
    expect(pool.warmUpAnswers).toHaveLength(2);
    for (const answer of pool.warmUpAnswers) expect(answer).toMatchObject({ hello: true, threadId: expect.any(Number) as number });
  });

  it('admits threads + maxQueue tasks, releases idempotently and tells when a slot frees', () => {
    const freed = jest.fn();
    const unsubscribe = pool.onSlotFreed(freed);
    expect(pool.capacity).toBe(3);
    const slots = [pool.reserve(), pool.reserve(), pool.reserve()];
    expect(slots.every((s) => s !== undefined)).toBe(true);
    expect(pool.inFlight).toBe(3);
    expect(pool.reserve()).toBeUndefined();
    slots[0]!.release();
    slots[0]!.release();
    expect(freed).toHaveBeenCalledTimes(1);
    expect(pool.inFlight).toBe(2);
    const again = pool.reserve();
    expect(again).toBeDefined();
    unsubscribe();
    again!.release();
    slots[1]!.release();
    slots[2]!.release();
    expect(freed).toHaveBeenCalledTimes(1);
    expect(pool.inFlight).toBe(0);
  });

  it('runs tasks on the workers, moving the transfer list', async () => {
    const slot = pool.reserve()!;
    const moved = new ArrayBuffer(64);
    const kept = new ArrayBuffer(32);
    expect(await slot.run({ buffer: moved }, [moved])).toMatchObject({ bytes: 64 });
    expect(moved.byteLength).toBe(0); // detached: it went to the worker
    expect(await slot.run({ buffer: kept })).toMatchObject({ bytes: 32 });
    expect(kept.byteLength).toBe(32); // copied
    await expect(slot.run({ fail: true })).rejects.toThrow('refused by the test worker');
    slot.release();
    expect(pool.utilization).toBe(0);
    expect(pool.queueDepth).toBe(0);
  });

  it('fails at start when the worker module cannot be loaded', async () => {
    await expect(WorkerPool.start({ filename: '/nonexistent/worker.js', threads: 1, maxQueue: 0, warmUp: { task: {} } })).rejects.toThrow();
  });

  it('admits nothing once closed, and closes once', async () => {
    const other = await WorkerPool.start<Task, Result>({ filename: WORKER, threads: 1, maxQueue: 0, atomics: 'async' });
    expect(other.warmUpAnswers).toEqual([]);
    expect(other.isOpen).toBe(true);
    await other.close();
    await other.close();
    expect(other.isOpen).toBe(false);
    expect(other.reserve()).toBeUndefined();
  });
});

describe('builtWorkerFile', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'safeguard-worker-file-'));
    mkdirSync(join(root, 'src'));
    mkdirSync(join(root, 'dist', 'workers'), { recursive: true });
    writeFileSync(join(root, 'dist', 'workers', 'w.worker.js'), '');
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('takes the worker beside the module (dist), else the package dist (running from src)', () => {
    expect(builtWorkerFile(join(root, 'dist'), 'w.worker.js', 'test worker', '@safeguard/x')).toBe(join(root, 'dist', 'workers', 'w.worker.js'));
    expect(builtWorkerFile(join(root, 'src'), 'w.worker.js', 'test worker', '@safeguard/x')).toBe(join(root, 'dist', 'workers', 'w.worker.js'));
  });

  it('says how to build a missing worker', () => {
    expect(() => builtWorkerFile(join(root, 'src'), 'missing.worker.js', 'test worker', '@safeguard/x')).toThrow(
      `test worker not built: ${join(root, 'dist', 'workers', 'missing.worker.js')} is missing (run npm run build -w @safeguard/x)`,
    );
  });
});
