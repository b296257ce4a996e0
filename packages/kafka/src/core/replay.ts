import type { Admin } from '../types';
import type { DeadLetterInfo } from './dead-letter';
import { deadLetterTopic, parseDeadLetterHeaders, replayHeaders } from './dead-letter';
import type { Driver, ProcessResult, RawMessage } from './driver';
import { partitionForKey } from '../codec/murmur2';
import type { PartitionedSender } from './partitioned-sender';

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions {
  /** The source topic whose `<topic>.dlq` is replayed. */
  topic: string;
  /** Replay only dead letters with one of these reason codes. Default: all. */
  reasons?: readonly string[];
  /** Replay only dead letters this returns true for (e.g. `info.failedAtMs > since`). Default: all. */
  filter?: (info: DeadLetterInfo) => boolean;
  /** Stop after this many replayed records. Default: no limit. */
  limit?: number;
}

/** What a replay did. */
export interface ReplayResult {
  /** Records re-published to the source topic. */
  replayed: number;
  /** Records left in the DLQ by the filter, the reason list or the limit. */
  skipped: number;
  /** Records without dead-letter headers (not produced by this package), left alone. */
  foreign: number;
}

/**
 * Re-publishes the dead letters of `topic` that exist when the call starts (up to the DLQ's high
 * watermarks then) to `topic`: the original value bytes and key, the original headers without the
 * `safeguard.dlq.*` ones, plus `safeguard.dlq.replays` raised by one. Keyed records go to their
 * key's partition, keyless ones to their original partition. The DLQ itself is not changed, so
 * running it twice replays twice: narrow with `filter` (handlers are idempotent anyway).
 */
export async function runReplay(driver: Driver, admin: Admin, sender: PartitionedSender, options: ReplayOptions): Promise<ReplayResult> {
  const dlq = deadLetterTopic(options.topic);
  const targets = new Map<number, number>();
  for (const o of await admin.listOffsets(dlq)) if (Number(o.high) > Number(o.low)) targets.set(o.partition, Number(o.high));
  const result: ReplayResult = { replayed: 0, skipped: 0, foreign: 0 };
  if (targets.size === 0) return result;
  const sourcePartitions = await admin.partitionCount(options.topic);
  const session = driver.readerSession({ heartbeatIntervalMs: 3_000, stopTimeoutMs: 30_000 });
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const process = async (raw: RawMessage): Promise<ProcessResult> => {
    const target = targets.get(raw.partition);
    if (target === undefined || Number(raw.offset) >= target) return 'done';
    const info = parseDeadLetterHeaders(raw.headers);
    const wanted =
      info !== undefined &&
      info.sourceTopic === options.topic &&
      (options.reasons === undefined || options.reasons.includes(info.reason)) &&
      (options.filter === undefined || options.filter(info)) &&
      (options.limit === undefined || result.replayed < options.limit);
    if (info === undefined) result.foreign++;
    else if (!wanted) result.skipped++;
    else {
      const partition =
        raw.key !== null
          ? partitionForKey(raw.key, sourcePartitions)
          : info.sourcePartition >= 0 && info.sourcePartition < sourcePartitions
            ? info.sourcePartition
            : 0;
      await sender.send(options.topic, [{ key: raw.key, value: raw.value, headers: replayHeaders(raw.headers), partition }]);
      result.replayed++;
    }
    if (Number(raw.offset) + 1 >= target) {
      targets.delete(raw.partition);
      if (targets.size === 0) finish();
    }
    return 'done';
  };
  await session.start(dlq, process, (err) => fail(err));
  try {
    await done;
  } finally {
    await session.stop();
  }
  return result;
}
