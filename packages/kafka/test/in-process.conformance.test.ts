import { createTransport, InProcessBroker } from '../src';
import { conformanceSuite } from './conformance';
import { waitFor } from '@safeguard/testkit';

let broker = new InProcessBroker();

beforeEach(() => {
  broker = new InProcessBroker();
});

conformanceSuite({
  name: 'in-process',
  waitMs: 5_000,
  consumerDefaults: { heartbeatIntervalMs: 200, lagRefreshMs: 50 },
  createTransport: ({ clientId, metricsRegistry, logger }) =>
    createTransport({ kind: 'in-process', broker, clientId, metricsRegistry, logger: logger ?? (process.env.DEBUG_TRANSPORT ? { info: (o, m) => console.log(m, JSON.stringify(o)), warn: (o, m) => console.log(m, JSON.stringify(o)), error: (o, m) => console.log(m, JSON.stringify(o)) } : undefined) }),
  produceRaw: async (topic, records) => {
    for (const r of records) {
      broker.append(topic, r.partition ?? 0, [{ key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers: {}, timestampMs: Date.now() }]);
    }
  },
  readRaw: async (topic, count) => {
    const read = () => {
      const out = [];
      for (let p = 0; p < broker.partitionCount(topic); p++) {
        for (const r of broker.read(topic, p, 0, Number.MAX_SAFE_INTEGER)) {
          out.push({ partition: p, offset: String(r.offset), key: r.key?.toString('utf8') ?? null, value: r.value, headers: { ...r.headers } });
        }
      }
      return out;
    };
    await waitFor(() => read().length >= count, { description: `${count} records on ${topic}`, timeoutMs: 5_000, intervalMs: 20 });
    return read().slice(0, count);
  },
  compact: async (topic) => broker.compact(topic),
  close: async () => undefined,
});

describe('in-process broker specifics', () => {
  it('compaction keeps the latest record per key with its offset, and the last record', () => {
    const b = new InProcessBroker();
    b.createTopic('c', 1, { cleanupPolicy: 'compact', config: {} });
    const rec = (key: string, value: string | null) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), headers: {}, timestampMs: 0 });
    b.append('c', 0, [rec('a', '1'), rec('b', '1'), rec('a', '2'), rec('b', null), rec('c', '1'), rec('c', '2')]);
    b.compact('c');
    expect(b.read('c', 0, 0, 100).map((r) => [r.offset, r.key?.toString(), r.value?.toString() ?? null])).toEqual([
      [2, 'a', '2'],
      [3, 'b', null],
      [5, 'c', '2'],
    ]);
    b.compact('c', { dropTombstones: true });
    expect(b.read('c', 0, 0, 100).map((r) => r.offset)).toEqual([2, 5]);
    expect(b.watermarks('c', 0)).toEqual({ low: 2, high: 6 });
    expect(() => {
      b.createTopic('d', 1, { cleanupPolicy: 'delete', config: {} });
      b.compact('d');
    }).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });

  it('shares one broker between transports (services of the embedded demo)', async () => {
    const shared = new InProcessBroker();
    const a = createTransport({ kind: 'in-process', broker: shared });
    const b = createTransport({ kind: 'in-process', broker: shared });
    await a.admin().ensureTopics([{ topic: 't', partitions: 2 }]);
    expect(await b.admin().listTopics()).toEqual(['t']);
    expect(a.broker).toBe(b.broker);
    await Promise.all([a.close(), b.close()]);
  });
});
