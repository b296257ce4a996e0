/** What a {@link ClientSlot} needs from a client: kafkajs producers and admins fit. */
export interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** One client instance of a slot, with the calls running on it. */
export interface ClientGeneration<C> {
  readonly client: C;
  readonly ready: Promise<void>;
  inFlight: number;
  retired: boolean;
}

/**
 * Holds the one shared, lazily connected client of a kind (the producer, the admin) and lets it
 * be replaced while in use.
 *
 * Why: a kafkajs producer or admin keeps asking the broker about every topic it has used and has
 * no way to forget one; once such a topic is deleted its metadata requests fail for good. The
 * remedy is a fresh client. Calls already running on the old one finish there; the old one is
 * disconnected when its last call settles. A failed connect is not kept: the next call connects
 * again.
 */
export class ClientSlot<C extends Connectable> {
  private current: ClientGeneration<C> | undefined;
  private readonly live = new Set<ClientGeneration<C>>();
  private sealed = false;

  /**
   * @param create - makes a new, unconnected client.
   * @param closedError - what {@link run} throws once the slot is sealed.
   */
  constructor(
    private readonly create: () => C,
    private readonly closedError: () => Error = () => new Error('the client is closed'),
  ) {}

  /**
   * Runs `fn` with the current client, connected. `fn` receives the generation to hand to
   * {@link renew} if the client turned out to be stale.
   * @throws whatever connecting or `fn` throws; `closedError()` once the slot is sealed.
   */
  async run<T>(fn: (client: C, generation: ClientGeneration<C>) => Promise<T>): Promise<T> {
    if (this.sealed) throw this.closedError();
    const gen = this.acquire();
    gen.inFlight++;
    try {
      await gen.ready;
      return await fn(gen.client, gen);
    } finally {
      gen.inFlight--;
      if (gen.retired && gen.inFlight === 0) void this.dispose(gen);
    }
  }

  /**
   * Retires `generation` if it is still the current one (concurrent failures renew once): later
   * calls get a new client.
   * @returns true when this call retired it.
   */
  renew(generation: ClientGeneration<C>): boolean {
    if (this.current !== generation) return false;
    this.current = undefined;
    generation.retired = true;
    if (generation.inFlight === 0) void this.dispose(generation);
    return true;
  }

  /**
   * Disconnects every client of the slot (current and retired). The next call connects anew,
   * unless `seal` is set: then calls fail, so that nothing racing with a shutdown (a lag refresh,
   * a late send) opens a connection nobody would close.
   */
  async close(options: { seal?: boolean } = {}): Promise<void> {
    if (options.seal) this.sealed = true;
    this.current = undefined;
    const all = [...this.live];
    for (const gen of all) gen.retired = true;
    await Promise.allSettled(all.map((gen) => this.dispose(gen)));
  }

  private acquire(): ClientGeneration<C> {
    if (!this.current) {
      const client = this.create();
      const gen: ClientGeneration<C> = { client, ready: client.connect(), inFlight: 0, retired: false };
      this.live.add(gen);
      gen.ready.catch(() => {
        if (this.current === gen) this.current = undefined;
        this.live.delete(gen);
      });
      this.current = gen;
    }
    return this.current;
  }

  private async dispose(gen: ClientGeneration<C>): Promise<void> {
    if (!this.live.delete(gen)) return;
    try {
      await gen.ready;
    } catch {
      return;
    }
    await gen.client.disconnect().catch(() => undefined);
  }
}
