import { Registry } from 'prom-client';
import { partitionForKey } from '../codec/murmur2';
import type { Admin, RecordPosition } from '../types';
import type { Driver, RawRecord } from './driver';
import { UnsentRecordsError } from './driver';
import { TransportMetrics } from './metrics';
import { PartitionedSender } from './partitioned-sender';

/** A driver whose topic has `partitions` partitions; records on others are not written, like kafkajs. */
function fakeDriver(state: { partitions: number; sends: RawRecord[][] }): Driver {
  const next = new Map<number, number>();
  return {
    send: async (topic: string, records: readonly RawRecord[]) => {
      state.sends.push([...records]);
      const positions: Array<RecordPosition | undefined> = records.map((r) => {
        if (r.partition >= state.partitions) return undefined;
        const offset = next.get(r.partition) ?? 0;
        next.set(r.partition, offset + 1);
        return { topic, partition: r.partition, offset: String(offset) };
      });
      if (positions.some((p) => p === undefined)) throw new UnsentRecordsError(topic, positions);
      return positions as RecordPosition[];
    },
  } as unknown as Driver;
}

function fakeAdmin(state: { partitions: number; counted: number }): Admin {
  return {
    partitionCount: async () => {
      state.counted++;
      return state.partitions;
    },
  } as unknown as Admin;
}

const rec = (key: string | null, partition?: number) => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from('v'), headers: {}, partition });

describe('PartitionedSender', () => {
  it('places again and resends only the records whose partition vanished (topic re-created with fewer partitions)', async () => {
    const state = { partitions: 4, counted: 0, sends: [] as RawRecord[][] };
    const registry = new Registry();
    const sender = new PartitionedSender(fakeDriver(state), fakeAdmin(state), new TransportMetrics(registry));
    await sender.send('t', [rec('warm-up')]);
    expect(state.counted).toBe(1);

    state.partitions = 2; // re-created; the sender's cached count still says 4
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const positions = await sender.send('t', keys.map((k) => rec(k)));
    expect(positions.map((p) => p.partition)).toEqual(keys.map((k) => partitionForKey(k, 2)));
    expect(state.counted).toBe(2);
    const [first, second] = state.sends.slice(1);
    expect(first.map((r) => r.partition)).toEqual(keys.map((k) => partitionForKey(k, 4)));
    const vanished = keys.filter((k) => partitionForKey(k, 4) >= 2);
    expect(second.map((r) => r.key?.toString())).toEqual(vanished);
    const metric = await registry.getSingleMetric('safeguard_messages_produced_total')?.get();
    expect(metric?.values.find((v) => v.labels.topic === 't')?.value).toBe(13);
  });

  it('reads the count again for an explicit partition beyond it, and refuses one that does not exist', async () => {
    const state = { partitions: 2, counted: 0, sends: [] as RawRecord[][] };
    const sender = new PartitionedSender(fakeDriver(state), fakeAdmin(state), new TransportMetrics(new Registry()));
    await sender.send('t', [rec(null, 1)]);
    state.partitions = 4; // partitions added
    expect((await sender.send('t', [rec(null, 3)]))[0].partition).toBe(3);
    await expect(sender.send('t', [rec(null, 4)])).rejects.toThrow(RangeError);
    await expect(sender.send('t', [rec(null, -1)])).rejects.toThrow(RangeError);
  });

  it('gives up with produce_failed when records keep landing on unknown partitions', async () => {
    const state = { partitions: 2, counted: 0, sends: [] as RawRecord[][] };
    const driver = fakeDriver({ partitions: 0, sends: state.sends });
    const sender = new PartitionedSender(driver, fakeAdmin(state), new TransportMetrics(new Registry()));
    await expect(sender.send('t', [rec('a'), rec('b')])).rejects.toMatchObject({ code: 'produce_failed', retriable: true });
    expect(state.sends).toHaveLength(3);
  });
});
