import { Deduplicator } from './dedup';

describe('Deduplicator', () => {
  it('publishes once within the window and again after it', async () => {
    let now = 1_000;
    const dedup = new Deduplicator({ windowMs: 100, maxEntries: 10, now: () => now });
    const publish = jest.fn(async () => 'ok');
    expect(await dedup.once('a', publish)).toEqual({ duplicate: false, value: 'ok' });
    expect(await dedup.once('a', publish)).toEqual({ duplicate: true });
    now += 100;
    expect(await dedup.once('a', publish)).toEqual({ duplicate: false, value: 'ok' });
    expect(publish).toHaveBeenCalledTimes(2);
  });

  it('does not remember a key whose publication failed', async () => {
    const dedup = new Deduplicator({ windowMs: 1_000, maxEntries: 10 });
    await expect(dedup.once('a', async () => Promise.reject(new Error('broker down')))).rejects.toThrow('broker down');
    expect(await dedup.once('a', async () => 1)).toEqual({ duplicate: false, value: 1 });
  });

  it('makes concurrent submissions of one key wait for the first', async () => {
    const dedup = new Deduplicator({ windowMs: 1_000, maxEntries: 10 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const publish = jest.fn(async () => gate);
    const first = dedup.once('a', publish);
    const second = dedup.once('a', publish);
    release();
    expect(await first).toEqual({ duplicate: false, value: undefined });
    expect(await second).toEqual({ duplicate: true });
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('retries for a waiting submission when the first one failed', async () => {
    const dedup = new Deduplicator({ windowMs: 1_000, maxEntries: 10 });
    let fail: (e: Error) => void = () => undefined;
    const first = dedup.once('a', () => new Promise<string>((_, reject) => (fail = reject)));
    const second = dedup.once('a', async () => 'second');
    fail(new Error('x'));
    await expect(first).rejects.toThrow('x');
    expect(await second).toEqual({ duplicate: false, value: 'second' });
  });

  it('forgets the oldest keys beyond maxEntries', async () => {
    const dedup = new Deduplicator({ windowMs: 60_000, maxEntries: 2 });
    for (const k of ['a', 'b', 'c']) await dedup.once(k, async () => undefined);
    expect(dedup.size).toBe(2);
    expect(dedup.has('a')).toBe(false);
    expect(dedup.has('b')).toBe(true);
    expect(dedup.has('c')).toBe(true);
  });
});
