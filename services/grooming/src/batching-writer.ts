/** Options of {@link BatchingWriter}. */
export interface BatchingWriterOptions<R> {
  /** Sends one batch; resolves when every record of it is acknowledged. */
  send: (records: R[]) => Promise<void>;
  /** Most records per send. Default 500: well under Kafka's default 1 MiB request at ~300-byte records. */
  maxBatch?: number;
  /** Called with the size of every batch sent (metrics). */
  onBatch?: (records: number) => void;
}

interface Pending<R> {
  records: R[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: writes that arrive while a send is in flight go out together in the next one,
 * and every caller resolves when its own records are acknowledged. One send at a time, in
 * arrival order, so a later write for a key never overtakes an earlier one (a tombstone cannot
 * land after the state that replaced it). Why: each chat message's state must be acknowledged
 * before its offset is committed; with several partitions in flight this turns one produce
 * round trip per message into one per batch, without delaying a lone write.
 */
export class BatchingWriter<R> {
  private queue: Array<Pending<R>> = [];
  private inFlight: Promise<void> | undefined;
  private readonly maxBatch: number;

  constructor(private readonly options: BatchingWriterOptions<R>) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** Queues `records`; resolves once they are acknowledged, rejects with the send's error. */
  write(records: R[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when everything queued before the call has settled. */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined || this.queue.length > 0) {
      await this.inFlight?.catch(() => undefined);
      if (this.inFlight === undefined && this.queue.length > 0) this.pump();
    }
  }

  private pump(): void {
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    const batch: Array<Pending<R>> = [];
    let count = 0;
    // A single write larger than maxBatch still goes out whole (its records belong together).
    while (this.queue.length > 0 && (batch.length === 0 || count + this.queue[0]!.records.length <= this.maxBatch)) {
      const next = this.queue.shift()!;
      batch.push(next);
      count += next.records.length;
    }
    const records = batch.flatMap((p) => p.records);
    this.options.onBatch?.(records.length);
    this.inFlight = this.options.send(records).then(
      () => {
        for (const p of batch) p.resolve();
      },
      (err: unknown) => {
        for (const p of batch) p.reject(err);
      },
    );
    void this.inFlight.finally(() => {
      this.inFlight = undefined;
      this.pump();
    });
  }
}
