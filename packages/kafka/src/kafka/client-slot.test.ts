import { ClientSlot } from './client-slot';

/** A client that records its life and lets the test decide when connect settles. */
class FakeClient {
  static made: FakeClient[] = [];
  readonly id = FakeClient.made.length + 1;
  connects = 0;
  disconnects = 0;
  constructor(private readonly failConnect = false) {
    FakeClient.made.push(this);
  }
  async connect(): Promise<void> {
    this.connects++;
    if (this.failConnect) throw new Error('connect refused');
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ClientSlot', () => {
  beforeEach(() => {
    FakeClient.made = [];
  });

  it('connects one client lazily and shares it between concurrent calls', async () => {
    const slot = new ClientSlot(() => new FakeClient());
    expect(FakeClient.made).toHaveLength(0);
    const ids = await Promise.all([1, 2, 3].map(() => slot.run(async (c) => c.id)));
    expect(ids).toEqual([1, 1, 1]);
    expect(FakeClient.made).toHaveLength(1);
    expect(FakeClient.made[0].connects).toBe(1);
  });

  it('renews a stale client: running calls finish on it, it disconnects after the last, new calls get a new one', async () => {
    const slot = new ClientSlot(() => new FakeClient());
    const hold = deferred();
    const running = slot.run(async (c) => {
      await hold.promise;
      return c.id;
    });
    let renewedOnce: boolean[] = [];
    const failing = slot.run(async (_c, gen) => {
      renewedOnce = [slot.renew(gen), slot.renew(gen)];
      throw new Error('stale metadata');
    });
    await expect(failing).rejects.toThrow('stale metadata');
    expect(renewedOnce).toEqual([true, false]);
    expect(await slot.run(async (c) => c.id)).toBe(2);
    expect(FakeClient.made[0].disconnects).toBe(0); // a call still runs on it
    hold.resolve();
    expect(await running).toBe(1);
    await flush();
    expect(FakeClient.made[0].disconnects).toBe(1);
    expect(FakeClient.made[1].disconnects).toBe(0);
  });

  it('does not keep a client whose connect failed', async () => {
    let fail = true;
    const slot = new ClientSlot(() => new FakeClient(fail));
    await expect(slot.run(async (c) => c.id)).rejects.toThrow('connect refused');
    fail = false;
    expect(await slot.run(async (c) => c.id)).toBe(2);
  });

  it('close() disconnects the current client and retired ones still in use; the next call connects again', async () => {
    const slot = new ClientSlot(() => new FakeClient());
    const hold = deferred();
    const running = slot.run(async (_c, gen) => {
      slot.renew(gen);
      await hold.promise;
    });
    await flush();
    await slot.run(async () => undefined);
    await slot.close();
    expect(FakeClient.made.map((c) => c.disconnects)).toEqual([1, 1]);
    hold.resolve();
    await running;
    await flush();
    expect(FakeClient.made.map((c) => c.disconnects)).toEqual([1, 1]);
    expect(await slot.run(async (c) => c.id)).toBe(3);
  });

  it('a sealed slot connects nothing any more', async () => {
    const slot = new ClientSlot(() => new FakeClient(), () => new Error('closed for good'));
    await slot.run(async () => undefined);
    await slot.close({ seal: true });
    await expect(slot.run(async (c) => c.id)).rejects.toThrow('closed for good');
    expect(FakeClient.made).toHaveLength(1);
    expect(FakeClient.made[0].disconnects).toBe(1);
  });
});
