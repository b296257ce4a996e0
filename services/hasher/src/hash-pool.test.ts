import { fixtureBytes, fixtures } from '../test/media';
import { HashPool } from './hash-pool';

jest.setTimeout(60_000);

describe('HashPool', () => {
  let pool: HashPool;

  beforeAll(async () => {
    pool = await HashPool.start({ threads: 1, maxQueue: 1, image: {}, video: {} });
  });

  afterAll(async () => {
    await pool.close();
  });

  it('reports the native versions its workers loaded', () => {
    expect(pool.versions.sharp).toMatch(/^\d+\.\d+/);
    expect(pool.versions.libvips).toMatch(/^\d+\.\d+/);
  });

  it('admits threads + maxQueue tasks and tells when a slot frees', () => {
    const freed = jest.fn();
    const unsubscribe = pool.onSlotFreed(freed);
    const a = pool.reserve();
    const b = pool.reserve();
    expect(a && b).toBeTruthy();
    expect(pool.inFlight).toBe(2);
    expect(pool.reserve()).toBeUndefined();
    a!.release();
    a!.release();
    expect(freed).toHaveBeenCalledTimes(1);
    const c = pool.reserve();
    expect(c).toBeDefined();
    b!.release();
    c!.release();
    expect(pool.inFlight).toBe(0);
    unsubscribe();
  });

  it('hashes on a worker, moving owned memory and copying borrowed memory', async () => {
    const [f] = fixtures();
    const owned = Buffer.allocUnsafeSlow(fixtureBytes(f!.file).length);
    fixtureBytes(f!.file).copy(owned);
    const slot = pool.reserve()!;
    const out = await slot.hash(owned, true);
    slot.release();
    expect(owned.length).toBe(0); // detached: the worker owns it now
    expect(out.outcome.ok && out.outcome.result.kind === 'image' && out.outcome.result.pdq).toBe(f!.pdq);

    const borrowed = Buffer.concat([Buffer.from('xx'), fixtureBytes(f!.file)]).subarray(2);
    const again = pool.reserve()!;
    const out2 = await again.hash(borrowed, true);
    again.release();
    expect(borrowed.length).toBeGreaterThan(0);
    expect(out2.outcome).toEqual(out.outcome);
    expect(pool.totalBusySeconds).toBeGreaterThan(0);
    expect(pool.utilization).toBe(0);
    expect(pool.queueDepth).toBe(0);
  });

  it('lets a slot hash once only', async () => {
    const slot = pool.reserve()!;
    await slot.hash(fixtureBytes('wee.jpg'), false);
    expect(() => slot.hash(fixtureBytes('wee.jpg'), false)).toThrow(/once/);
    slot.release();
  });

  it('refuses a missing worker module at start', async () => {
    await expect(HashPool.start({ threads: 1, maxQueue: 0, image: {}, video: {}, workerFile: '/nonexistent/hash.worker.js' })).rejects.toThrow();
  });

  it('admits nothing once closed', async () => {
    const other = await HashPool.start({ threads: 1, maxQueue: 0, image: {}, video: {} });
    await other.close();
    expect(other.isOpen).toBe(false);
    expect(other.reserve()).toBeUndefined();
  });
});
