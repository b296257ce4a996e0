import { chatRepeats, Gate, retrying, slices } from './faults';

describe('Gate', () => {
  it('close() waits for the requests in flight and holds new ones until open()', async () => {
    const gate = new Gate();
    const order: string[] = [];
    await gate.enter();
    const closed = gate.close().then(() => order.push('closed'));
    const held = gate.enter().then(() => order.push('entered'));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    gate.leave();
    await closed;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['closed']);
    gate.open();
    await held;
    expect(order).toEqual(['closed', 'entered']);
    gate.leave();
    await gate.close();
  });
});

describe('retrying', () => {
  it('retries undefined results and errors, counting the failures', async () => {
    let n = 0;
    const r = await retrying(
      async () => {
        n++;
        if (n === 1) throw new Error('down');
        return n === 2 ? undefined : 'ok';
      },
      { timeoutMs: 5_000, intervalMs: 1, description: 'x' },
    );
    expect(r).toEqual({ value: 'ok', failures: 2 });
  });

  it('gives up after the deadline with the last error', async () => {
    await expect(retrying(() => Promise.reject(new Error('still down')), { timeoutMs: 0, intervalMs: 1, description: 'send' })).rejects.toThrow(/send: no success within 0 ms after \d+ attempts: still down/);
  });
});

describe('slices', () => {
  it('splits in order into nearly equal parts', () => {
    expect(slices([1, 2, 3, 4, 5, 6, 7], 3)).toEqual([[1, 2, 3], [4, 5], [6, 7]]);
    expect(slices([1], 3)).toEqual([[1], [], []]);
  });
});

describe('chatRepeats', () => {
  it('keeps the ids of each conversation in first-appearance order and reports later copies of an id as repeats', () => {
    const r = (conversationId: string, messageId: string, timestampMs: number) => ({ conversationId, messageId, timestampMs });
    const { firstIds, repeatedAtMs, repeatsByConversation } = chatRepeats([r('a', 'm0', 1), r('a', 'm1', 2), r('b', 'm0', 3), r('a', 'm0', 4), r('a', 'm2', 5), r('a', 'm1', 6), r('b', 'm1', 7)]);
    expect(Object.fromEntries(firstIds)).toEqual({ a: ['m0', 'm1', 'm2'], b: ['m0', 'm1'] });
    expect(repeatedAtMs).toEqual([4, 6]);
    expect(Object.fromEntries(repeatsByConversation)).toEqual({ a: 2 });
  });
});
