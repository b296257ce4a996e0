import { BatchingWriter } from './batching-writer';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BatchingWriter', () => {
  it('sends a lone write at once and groups writes that arrive while a send is in flight, in order', async () => {
    const sends: number[][] = [];
    const gates: Array<ReturnType<typeof deferred>> = [];
    const writer = new BatchingWriter<number>({
      send: (records) => {
        sends.push(records);
        const gate = deferred();
        gates.push(gate);
        return gate.promise;
      },
    });
    const first = writer.write([1]);
    expect(sends).toEqual([[1]]);
    const second = writer.write([2, 3]);
    const third = writer.write([4]);
    expect(sends).toHaveLength(1);
    gates[0]!.resolve();
    await first;
    await new Promise((r) => setImmediate(r)); // the next batch starts once the previous one settled
    expect(sends).toEqual([[1], [2, 3, 4]]);
    gates[1]!.resolve();
    await Promise.all([second, third]);
    await writer.flush();
  });

  it('rejects every caller of a failed batch and carries on with the next', async () => {
    let fail = true;
    const sent: number[] = [];
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const writer = new BatchingWriter<number>({
      send: async (records) => {
        if (records[0] === 0) return hold;
        if (fail) {
          fail = false;
          throw new Error('unavailable');
        }
        sent.push(...records);
      },
    });
    const blocker = writer.write([0]);
    const a = writer.write([1]);
    const b = writer.write([2]);
    release();
    await blocker;
    await expect(a).rejects.toThrow('unavailable');
    await expect(b).rejects.toThrow('unavailable');
    await writer.write([3]);
    expect(sent).toEqual([3]);
  });

  it('caps a batch at maxBatch records and reports batch sizes; flush waits for everything queued', async () => {
    const sizes: number[] = [];
    const sends: number[][] = [];
    const writer = new BatchingWriter<number>({ send: async (r) => void sends.push(r), maxBatch: 3, onBatch: (n) => sizes.push(n) });
    const writes = [writer.write([1]), writer.write([2, 3]), writer.write([4, 5]), writer.write([6])];
    await writer.flush();
    await Promise.all(writes);
    expect(sends).toEqual([[1], [2, 3], [4, 5, 6]]);
    expect(sizes).toEqual([1, 2, 3]);
  });
});
