import { CapacityError, InvalidInputError, TransientError } from '@safeguard/domain';
import { Registry } from 'prom-client';
import {
  DeadLetterHeaders,
  deadLetterTopic,
  encodeWireFrame,
  partitionForKey,
  replayDeadLetters,
  TransportMetricNames,
} from '../src';
import type { ConsumedMessage, Consumer, ConsumerOptions, TopicBinding, TopicPartition, TopicSpec, Transport, TransportLogger } from '../src';
import { uniqueName, waitFor as waitUntil } from '@safeguard/testkit';
import { TOPIC_CREATION_ERROR_TEXTS } from '../src/kafka/kafka-driver';
import { deferred } from './helpers';

/** testkit's waitFor with this suite's argument order (what, deadline) and a short poll interval. */
function waitFor<T>(condition: () => T | Promise<T>, description: string, timeoutMs: number): Promise<unknown> {
  return waitUntil(condition, { description, timeoutMs, intervalMs: 20 });
}

/** A record as stored on the broker, for assertions on raw bytes and headers. */
export interface RawView {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * What the suite needs from an implementation. Why: the same cases must pass on the real broker
 * and on the in-process one, so everything broker-specific (raw access, compaction) is injected.
 */
export interface ConformanceHarness {
  readonly name: string;
  /** Deadline of each wait, ms. */
  readonly waitMs: number;
  /** Consumer options every test uses (short session timeouts on a real broker). */
  readonly consumerDefaults: Partial<ConsumerOptions>;
  /** A new transport, as if in another process, on the same broker. */
  createTransport(options: { clientId: string; metricsRegistry?: Registry; logger?: TransportLogger }): Transport;
  /** Produces bytes as they are, bypassing the codec (poison messages). */
  produceRaw(topic: string, records: Array<{ key: string | null; value: Buffer | null; partition?: number }>): Promise<void>;
  /** Reads the first `count` records of a topic (all partitions), waiting for them. */
  readRaw(topic: string, count: number): Promise<RawView[]>;
  /** Forgets registry subjects of deleted test topics (a real registry keeps them otherwise). */
  forgetSubjects?(topics: string[]): Promise<void>;
  /** Compacts a compacted topic now where the implementation can (no-op on a real broker). */
  compact(topic: string): Promise<void>;
  /** Releases harness resources (called once after all tests). */
  close(): Promise<void>;
}

/** The test schema's value. */
export interface Item {
  id: string;
  seq: number;
}

/** Version 2 adds a field with a default (BACKWARD compatible). */
export interface ItemV2 extends Item {
  note: string;
}

const itemSchemaV1 = {
  type: 'record',
  name: 'Item',
  namespace: 'safeguard.test.kafka',
  doc: 'A test record for the transport conformance suite.',
  fields: [
    { name: 'id', type: 'string', doc: 'Opaque id; also the key.' },
    { name: 'seq', type: 'long', doc: 'Sequence number within the id.' },
  ],
};

const itemSchemaV2 = {
  ...itemSchemaV1,
  fields: [...itemSchemaV1.fields, { name: 'note', type: 'string', default: 'none', doc: 'Added in v2.' }],
};

const itemBinding = (topic: string): TopicBinding<Item> => ({ topic, valueSchema: itemSchemaV1, key: (v) => v.id });
const itemBindingV2 = (topic: string): TopicBinding<ItemV2> => ({ topic, valueSchema: itemSchemaV2, key: (v) => v.id });

/** Resources of one test, released in afterEach. */
class TestEnv {
  private readonly transports: Transport[] = [];
  private readonly topics: string[] = [];
  readonly cleanups: Array<() => void> = [];

  constructor(readonly harness: ConformanceHarness) {}

  transport(clientId = uniqueName('client'), metricsRegistry?: Registry, logger?: TransportLogger): Transport {
    const t = this.harness.createTransport({ clientId, metricsRegistry, logger });
    this.transports.push(t);
    return t;
  }

  /** Deletes this topic (and its dead-letter topic) after the test. */
  track(topic: string): string {
    this.topics.push(topic, deadLetterTopic(topic));
    return topic;
  }

  async topic(partitions: number, extra: Partial<TopicSpec> = {}): Promise<string> {
    const topic = this.track(uniqueName('sg-conf'));
    const admin = (this.transports[0] ?? this.transport()).admin();
    await admin.ensureTopics([{ topic, partitions, ...extra }]);
    return topic;
  }

  consumer(t: Transport, options: Partial<ConsumerOptions> & { groupId: string }): Consumer {
    return t.consumer({ ...this.harness.consumerDefaults, ...options });
  }

  async cleanup(): Promise<void> {
    for (const c of this.cleanups) c();
    await Promise.allSettled(this.transports.map((t) => t.close()));
    if (this.topics.length > 0) {
      const t = this.harness.createTransport({ clientId: 'cleanup' });
      await t.admin().deleteTopics(this.topics).catch(() => undefined);
      await t.close();
      await this.harness.forgetSubjects?.(this.topics);
    }
  }
}

/** A logger that keeps every line, for assertions on levels and fields. */
class LogCapture {
  readonly lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> }> = [];
  readonly logger: TransportLogger = {
    debug: (fields, msg) => void this.lines.push({ level: 'debug', msg, fields }),
    info: (fields, msg) => void this.lines.push({ level: 'info', msg, fields }),
    warn: (fields, msg) => void this.lines.push({ level: 'warn', msg, fields }),
    error: (fields, msg) => void this.lines.push({ level: 'error', msg, fields }),
  };
}

/** Collects messages a handler received. */
class Collector<V> {
  readonly messages: Array<ConsumedMessage<V>> = [];
  push = (m: ConsumedMessage<V>): void => {
    this.messages.push(m);
  };
  ids(): string[] {
    return this.messages.map((m) => (m.value as { id?: string } | null)?.id ?? `<${m.key}>`);
  }
  wait(count: number, ms: number, what = `${count} messages`): Promise<unknown> {
    return waitFor(() => this.messages.length >= count, what, ms);
  }
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const base = name.replace(/_(count|sum|bucket)$/, '');
  const metric = await registry.getSingleMetric(base)?.get();
  const match = metric?.values.find(
    (v) => ((v as { metricName?: string }).metricName ?? base) === name && Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return match?.value ?? 0;
}

function sameSet(a: TopicPartition[], b: TopicPartition[]): boolean {
  const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
  return a.length === b.length && a.every((tp) => b.some((x) => key(x) === key(tp)));
}

/** Registers the conformance cases for one implementation. */
export function conformanceSuite(harness: ConformanceHarness): void {
  describe(`transport conformance: ${harness.name}`, () => {
    const W = harness.waitMs;
    let env: TestEnv;

    beforeEach(() => {
      env = new TestEnv(harness);
    });
    afterEach(async () => {
      await env.cleanup();
    });
    afterAll(async () => {
      await harness.close();
    });

    it('puts a key on its murmur2 partition and keeps order within a partition; headers survive', async () => {
      const t = env.transport();
      const topic = await env.topic(6);
      const binding = itemBinding(topic);
      const keys = Array.from({ length: 12 }, (_, i) => `content-${i}`);
      const batch: Array<{ value: Item }> = [];
      for (let seq = 0; seq < 4; seq++) for (const id of keys) batch.push({ value: { id, seq } });
      const positions = await t.producer().send(binding, batch);
      positions.forEach((p, i) => expect(p.partition).toBe(partitionForKey(batch[i].value.id, 6)));
      for (const id of keys) {
        await t.producer().send(binding, [{ value: { id, seq: 4 }, headers: { trace: `trace-${id}`, 'grüße': 'välue ✓' } }]);
      }

      const got = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g') });
      await consumer.run({ bindings: [binding], handle: async (m) => got.push(m) });
      await got.wait(60, W);

      for (const m of got.messages) {
        expect(m.key).toBe(m.value?.id);
        expect(m.partition).toBe(partitionForKey(m.key as string, 6));
      }
      for (const id of keys) {
        const mine = got.messages.filter((m) => m.key === id);
        expect(mine.map((m) => m.value?.seq)).toEqual([0, 1, 2, 3, 4]);
        expect(mine[4].headers).toMatchObject({ trace: `trace-${id}`, 'grüße': 'välue ✓' });
      }
      for (let p = 0; p < 6; p++) {
        const offsets = got.messages.filter((m) => m.partition === p).map((m) => BigInt(m.offset));
        expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)));
      }
      // The positions send() reported are where the records really are.
      const first = got.messages.find((m) => m.key === batch[0].value.id && m.value?.seq === 0);
      expect(first && { partition: first.partition, offset: first.offset }).toEqual({ partition: positions[0].partition, offset: positions[0].offset });
    });

    it('splits partitions between the members of a group; another group gets everything', async () => {
      const topic = await env.topic(4);
      const binding = itemBinding(topic);
      const group = uniqueName('g');
      const [a, b, c] = [new Collector<Item>(), new Collector<Item>(), new Collector<Item>()];
      const memberA = env.consumer(env.transport('member-a'), { groupId: group });
      const memberB = env.consumer(env.transport('member-b'), { groupId: group });
      const other = env.consumer(env.transport('other-group'), { groupId: uniqueName('g') });

      await memberA.run({ bindings: [binding], handle: async (m) => a.push(m) });
      await waitFor(() => memberA.assignment().length === 4, 'member A to own all 4 partitions', W);
      await memberB.run({ bindings: [binding], handle: async (m) => b.push(m) });
      await waitFor(() => {
        const pa = memberA.assignment();
        const pb = memberB.assignment();
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4 && !pa.some((x) => pb.some((y) => y.partition === x.partition));
      }, 'the two members to split the partitions', W);
      await other.run({ bindings: [binding], handle: async (m) => c.push(m) });

      const producer = env.transport('producer').producer();
      const ids = Array.from({ length: 40 }, (_, i) => `k-${i}`);
      await producer.send(binding, ids.map((id) => ({ value: { id, seq: 0 } })));

      await waitFor(() => a.messages.length + b.messages.length >= 40 && c.messages.length >= 40, 'both groups to receive 40 messages', W);
      expect(new Set([...a.ids(), ...b.ids()])).toEqual(new Set(ids));
      expect(a.ids().filter((id) => b.ids().includes(id))).toEqual([]);
      expect(new Set(c.ids())).toEqual(new Set(ids));
      const own = (m: ConsumedMessage<Item>, tps: TopicPartition[]) => tps.some((tp) => tp.partition === m.partition);
      expect(a.messages.every((m) => own(m, memberA.assignment()))).toBe(true);
      expect(b.messages.every((m) => own(m, memberB.assignment()))).toBe(true);

      // When a member leaves, the other takes its partitions over and continues where it committed.
      await memberB.stop();
      await waitFor(() => memberA.assignment().length === 4, 'member A to own all partitions again', W);
      const later = Array.from({ length: 20 }, (_, i) => `later-${i}`);
      await producer.send(binding, later.map((id) => ({ value: { id, seq: 1 } })));
      await waitFor(() => later.every((id) => a.ids().includes(id)), 'member A to receive every later record', W);
      expect(a.ids().filter((id) => ids.includes(id) && b.ids().includes(id))).toEqual([]);
    });

    it('processes partitions concurrently while keeping each partition in order', async () => {
      const t = env.transport();
      const topic = await env.topic(3);
      const binding = itemBinding(topic);
      const keys = ['p-a', 'p-b', 'p-c', 'p-d', 'p-e', 'p-f'];
      const records: Array<{ value: Item }> = [];
      for (let seq = 0; seq < 10; seq++) for (const id of keys) records.push({ value: { id, seq } });
      await t.producer().send(binding, records);
      const got = new Collector<Item>();
      let inFlight = 0;
      let maxInFlight = 0;
      const consumer = env.consumer(t, { groupId: uniqueName('g'), concurrency: 3 });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) => setImmediate(resolve));
          inFlight--;
          got.push(m);
        },
      });
      await got.wait(60, W);
      expect(got.messages).toHaveLength(60);
      for (const id of keys) expect(got.messages.filter((m) => m.key === id).map((m) => m.value?.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(maxInFlight).toBeLessThanOrEqual(3);
    });

    it('pause() holds every partition until resume()', async () => {
      const t = env.transport();
      const topic = await env.topic(2);
      const binding = itemBinding(topic);
      const paused = new Collector<Item>();
      const witness = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g') });
      await consumer.run({ bindings: [binding], handle: async (m) => paused.push(m) });
      consumer.pause();
      await t.producer().send(binding, ['a', 'b', 'c', 'd'].map((id) => ({ value: { id, seq: 0 } })));
      const other = env.consumer(t, { groupId: uniqueName('g') });
      await other.run({ bindings: [binding], handle: async (m) => witness.push(m) });
      await witness.wait(4, W, 'another group to see the records');
      expect(paused.messages).toHaveLength(0);
      consumer.resume();
      await paused.wait(4, W, 'the records after resume()');
    });

    it('commits only after the handler resolved: an unfinished message comes again after a restart', async () => {
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      const group = uniqueName('g');
      await env.transport('producer').producer().send(binding, [0, 1, 2, 3, 4, 5].map((seq) => ({ value: { id: 'conv', seq } })));

      const blocked = deferred();
      const started = deferred();
      env.cleanups.push(() => blocked.resolve());
      const first: number[] = [];
      const crashed = env.consumer(env.transport('crashing'), { groupId: group, stopTimeoutMs: 300, sessionTimeoutMs: 2_500 });
      await crashed.run({
        bindings: [binding],
        handle: async (m) => {
          if (m.value?.seq === 3) {
            started.resolve();
            await blocked.promise; // never finishes while the test runs: the "process" dies here
          }
          first.push(m.value?.seq ?? -1);
        },
      });
      await started.promise;
      await crashed.stop(); // bounded by stopTimeoutMs although the handler is stuck

      const committed = await env.transport().admin().committedOffsets(group, topic);
      expect(Number(committed[0]?.offset ?? 0)).toBeLessThanOrEqual(3);

      const again = new Collector<Item>();
      const restarted = env.consumer(env.transport('restarted'), { groupId: group });
      await restarted.run({ bindings: [binding], handle: async (m) => again.push(m) });
      await waitFor(() => again.messages.some((m) => m.value?.seq === 5), 'the restarted member to reach seq 5', W);
      const seqs = again.messages.map((m) => m.value?.seq);
      expect(seqs).toContain(3);
      expect(new Set([...first, ...(seqs as number[])])).toEqual(new Set([0, 1, 2, 3, 4, 5]));
      expect(seqs).toEqual([...(seqs as number[])].sort((x, y) => x - y));
    });

    it('dead-letters poison messages with a reason and headers, keeps consuming, and replays them', async () => {
      const registry = new Registry();
      const t = env.transport('dlq-service', registry);
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      const producer = t.producer();
      await producer.send(binding, [{ value: { id: 'a', seq: 0 } }]);
      await harness.produceRaw(topic, [{ key: 'poison-1', value: Buffer.from('not avro at all') }]);
      await producer.send(binding, [{ value: { id: 'b', seq: 0 } }]);
      await harness.produceRaw(topic, [{ key: 'poison-2', value: encodeWireFrame(0x7ffffff0, Buffer.from([2, 0x61, 0])) }]);
      await producer.send(binding, [{ value: { id: 'reject-me', seq: 0 } }, { value: { id: 'c', seq: 0 } }, { value: { id: 'always-fails', seq: 0 } }, { value: { id: 'd', seq: 0 } }]);

      const ok = new Collector<Item>();
      const group = uniqueName('g');
      const consumer = env.consumer(t, { groupId: group, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          if (m.value?.id === 'reject-me' && m.headers[DeadLetterHeaders.replays] === undefined) throw new InvalidInputError('test_rejected', 'rejected by the test');
          if (m.value?.id === 'always-fails') throw new TypeError('a bug that never goes away');
          ok.push(m);
        },
      });
      await ok.wait(4, W);
      expect(ok.ids()).toEqual(['a', 'b', 'c', 'd']);

      const source = await harness.readRaw(topic, 8);
      const dead = await harness.readRaw(deadLetterTopic(topic), 4);
      const byKey = new Map(dead.map((d) => [d.key, d]));
      const expectations: Array<[string, string, string, string]> = [
        ['poison-1', 'deserialization_failed', '1', 'DeserializationError'],
        ['poison-2', 'deserialization_failed', '1', 'DeserializationError'],
        ['reject-me', 'test_rejected', '1', 'InvalidInputError'],
        ['always-fails', 'unexpected_error', '3', 'TypeError'],
      ];
      for (const [key, reason, attempts, errorClass] of expectations) {
        const d = byKey.get(key);
        const original = source.find((s) => s.key === key);
        expect(d).toBeDefined();
        expect(d?.value).toEqual(original?.value);
        expect(d?.headers).toMatchObject({
          [DeadLetterHeaders.reason]: reason,
          [DeadLetterHeaders.attempts]: attempts,
          [DeadLetterHeaders.sourceTopic]: topic,
          [DeadLetterHeaders.sourcePartition]: '0',
          [DeadLetterHeaders.sourceOffset]: original?.offset,
          [DeadLetterHeaders.group]: group,
          [DeadLetterHeaders.service]: 'dlq-service',
          [DeadLetterHeaders.errorClass]: errorClass,
        });
        expect(Number(d?.headers[DeadLetterHeaders.failedAtMs])).toBeGreaterThan(1_600_000_000_000);
      }

      const labels = { topic };
      expect(await metricValue(registry, TransportMetricNames.deadLetters, { ...labels, reason: 'deserialization_failed' })).toBe(2);
      expect(await metricValue(registry, TransportMetricNames.deadLetters, { ...labels, reason: 'test_rejected' })).toBe(1);
      expect(await metricValue(registry, TransportMetricNames.deadLetters, { ...labels, reason: 'unexpected_error' })).toBe(1);
      expect(await metricValue(registry, TransportMetricNames.consumed, { ...labels, outcome: 'ok' })).toBe(4);
      expect(await metricValue(registry, TransportMetricNames.consumed, { ...labels, outcome: 'retried' })).toBe(2);
      expect(await metricValue(registry, TransportMetricNames.consumed, { ...labels, outcome: 'dead_lettered' })).toBe(4);
      expect(await metricValue(registry, TransportMetricNames.produced, { topic: deadLetterTopic(topic) })).toBe(4);
      expect(await metricValue(registry, `${TransportMetricNames.processingSeconds}_count`, labels)).toBeGreaterThanOrEqual(6);
      await waitFor(async () => (await metricValue(registry, TransportMetricNames.lag, { ...labels, partition: '0' })) === 0 && ok.messages.length === 4, 'lag 0', W);

      const result = await replayDeadLetters(t, { topic, reasons: ['test_rejected'] });
      expect(result).toEqual({ replayed: 1, skipped: 3, foreign: 0 });
      await ok.wait(5, W, 'the replayed record');
      expect(ok.messages[4].value?.id).toBe('reject-me');
      expect(ok.messages[4].headers[DeadLetterHeaders.replays]).toBe('1');
      expect(ok.messages[4].key).toBe('reject-me');
    });

    it('retries a handler bug (not a SafeguardError), then dead-letters it as unexpected_error, logging it at error level with the stack', async () => {
      const lines = new LogCapture();
      const t = env.transport('buggy-service', undefined, lines.logger);
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      await t.producer().send(binding, [{ value: { id: 'poison', seq: 0 } }, { value: { id: 'fine', seq: 0 } }]);
      const attempts: number[] = [];
      const ok = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g'), retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          if (m.value?.id === 'poison') {
            attempts.push(m.attempt);
            (m.value as unknown as { missing: { field: string } }).missing.field.trim(); // a bug: TypeError
          }
          ok.push(m);
        },
      });
      await ok.wait(1, W, 'the message after the poison one');
      expect(attempts).toEqual([1, 2, 3]);
      const [dead] = await harness.readRaw(deadLetterTopic(topic), 1);
      expect(dead.headers).toMatchObject({ [DeadLetterHeaders.reason]: 'unexpected_error', [DeadLetterHeaders.attempts]: '3', [DeadLetterHeaders.errorClass]: 'TypeError' });

      const own = lines.lines.filter((l) => l.fields.component !== 'kafkajs');
      const errors = own.filter((l) => l.level === 'error');
      expect(errors.map((l) => l.msg)).toEqual(['handler failed with an unexpected error, retrying', 'handler failed with an unexpected error, retrying', 'message dead-lettered']);
      for (const e of errors) {
        expect(e.fields).toMatchObject({ topic, partition: 0, offset: '0', err: { type: 'TypeError', stack: expect.stringContaining('conformance') } });
      }
      expect(errors[2].fields).toMatchObject({ reason: 'unexpected_error', attempts: 3 });
      // Keys and values never reach the log.
      expect(JSON.stringify(own)).not.toContain('poison');
    });

    it('retries transient errors with backoff until the handler succeeds, in order', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      await t.producer().send(binding, [{ value: { id: 'flaky', seq: 0 } }, { value: { id: 'after', seq: 0 } }]);
      const attempts: number[] = [];
      const ok = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g'), retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 50 } });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          if (m.value?.id === 'flaky') {
            attempts.push(m.attempt);
            if (m.attempt < 3) throw new TransientError('dependency_timeout', 'the dependency timed out');
          }
          ok.push(m);
        },
      });
      await ok.wait(2, W);
      expect(attempts).toEqual([1, 2, 3]);
      expect(ok.ids()).toEqual(['flaky', 'after']);
      const dlq = await t.admin().listOffsets(deadLetterTopic(topic));
      expect(dlq.every((o) => o.high === o.low)).toBe(true);
    });

    it('retries a broker or registry outage (produce_failed, schema_registry_unavailable) past the attempt limit and never dead-letters it; other failures still count', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      await t.producer().send(binding, ['outage', 'mixed', 'after'].map((id) => ({ key: id, value: { id, seq: 0 } })));
      const seen: string[] = [];
      const ok = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g'), retry: { attempts: 3, baseDelayMs: 2, maxDelayMs: 10 } });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          const id = m.value?.id ?? '';
          seen.push(`${id}@${m.attempt}`);
          // Seven outages, more than twice the attempt limit, then success.
          if (id === 'outage' && m.attempt <= 7) throw new TransientError(m.attempt % 2 ? 'produce_failed' : 'schema_registry_unavailable', 'the broker is away');
          // Outages in between do not use up the two retries other failures get.
          if (id === 'mixed' && m.attempt <= 4) throw new TransientError(m.attempt === 1 || m.attempt === 4 ? 'dependency_timeout' : 'produce_failed', 'x');
          if (id === 'after') throw new TransientError('dependency_timeout', 'always');
          ok.push(m);
        },
      });
      await ok.wait(2, W);
      const dead = await harness.readRaw(deadLetterTopic(topic), 1);
      expect(ok.ids()).toEqual(['outage', 'mixed']);
      expect(seen.filter((s) => s.startsWith('outage@'))).toHaveLength(8);
      expect(seen.filter((s) => s.startsWith('mixed@'))).toEqual(['mixed@1', 'mixed@2', 'mixed@3', 'mixed@4', 'mixed@5']);
      // The failure that is not an outage still ends in the dead-letter topic after 3 attempts.
      expect(dead.map((d) => [d.key, d.headers[DeadLetterHeaders.reason], d.headers[DeadLetterHeaders.attempts]])).toEqual([['after', 'dependency_timeout', '3']]);
    });

    it('pauses on CapacityError and delivers the same message again, after the pause or on resume()', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      await t.producer().send(binding, ['busy', 'next-1', 'next-2'].map((id) => ({ value: { id, seq: 0 } })));
      const log: string[] = [];
      let refused = false;
      const consumer = env.consumer(t, { groupId: uniqueName('g'), capacityPauseMs: 20 });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          if (m.value?.id === 'busy' && !refused) {
            refused = true;
            log.push('busy:refused');
            throw new CapacityError('pool_full', 'the worker pool is full');
          }
          log.push(`${m.value?.id}:ok@${m.offset}`);
        },
      });
      await waitFor(() => log.length >= 4, 'all three handled', W);
      expect(log).toEqual(['busy:refused', 'busy:ok@0', 'next-1:ok@1', 'next-2:ok@2']);

      // Now with a pause long enough that only resume() can end it.
      const topic2 = await env.topic(1);
      const binding2 = itemBinding(topic2);
      await t.producer().send(binding2, ['busy', 'next'].map((id) => ({ value: { id, seq: 0 } })));
      const log2: string[] = [];
      let refused2 = false;
      const consumer2 = env.consumer(t, { groupId: uniqueName('g'), capacityPauseMs: 600_000 });
      await consumer2.run({
        bindings: [binding2],
        handle: async (m) => {
          if (m.value?.id === 'busy' && !refused2) {
            refused2 = true;
            log2.push('busy:refused');
            throw new CapacityError('pool_full', 'the worker pool is full');
          }
          log2.push(`${m.value?.id}:ok`);
        },
      });
      await waitFor(() => log2.length === 1, 'the refusal', W);
      consumer2.resume();
      await waitFor(() => log2.length >= 3, 'the re-delivery after resume()', W);
      expect(log2).toEqual(['busy:refused', 'busy:ok', 'next:ok']);
    });

    it('carries tombstones; a reader catches up on a compacted topic and then tails it', async () => {
      const t = env.transport();
      const topic = await env.topic(3, { cleanupPolicy: 'compact' });
      const binding = itemBinding(topic);
      const p = t.producer();
      await p.send(binding, [
        { value: { id: 'k1', seq: 1 } },
        { value: { id: 'k2', seq: 1 } },
        { value: { id: 'k3', seq: 1 } },
        { value: { id: 'k1', seq: 2 } },
        { key: 'k2', value: null },
        { value: { id: 'k4', seq: 1 } },
        { key: 'k4', value: null },
        { value: { id: 'k4', seq: 2 } },
      ]);
      await expect(p.send(binding, [{ value: null }])).rejects.toMatchObject({ code: 'tombstone_without_key' });
      await harness.compact(topic);

      const state = new Map<string, number>();
      const reader = await t.reader({
        binding,
        handle: (m) => {
          if (m.value === null) state.delete(m.key as string);
          else state.set(m.key as string, m.value.seq);
        },
      });
      await reader.caughtUp();
      expect(reader.isCaughtUp()).toBe(true);
      expect(Object.fromEntries(state)).toEqual({ k1: 2, k3: 1, k4: 2 });

      await p.send(binding, [{ value: { id: 'k5', seq: 1 } }, { key: 'k1', value: null }]);
      await waitFor(() => state.has('k5') && !state.has('k1'), 'the reader to tail new records', W);
      expect(reader.handledCount()).toBeGreaterThanOrEqual(4);

      const tombstones = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g') });
      await consumer.run({ bindings: [binding], handle: async (m) => void (m.value === null && tombstones.push(m)) });
      await waitFor(() => tombstones.messages.some((m) => m.key === 'k1'), 'a tombstone delivered to a consumer', W);
      expect(tombstones.messages.every((m) => m.value === null && m.key !== null)).toBe(true);

      const onlyOne: Array<ConsumedMessage<Item>> = [];
      const partitionReader = await t.reader({ binding, partitions: [1], handle: (m) => void onlyOne.push(m) });
      await partitionReader.caughtUp();
      const expectedOnOne = ['k1', 'k2', 'k3', 'k4', 'k5'].filter((k) => partitionForKey(k, 3) === 1);
      expect(onlyOne.length).toBeGreaterThan(0);
      expect(onlyOne.every((m) => m.partition === 1)).toBe(true);
      expect(new Set(onlyOne.map((m) => m.key))).toEqual(new Set(expectedOnOne));
      await expect(t.reader({ binding, partitions: [7], handle: () => undefined })).rejects.toThrow(RangeError);

      const empty = await env.topic(2, { cleanupPolicy: 'compact' });
      const emptyReader = await t.reader({ binding: itemBinding(empty), handle: () => undefined });
      await emptyReader.caughtUp();
      expect(emptyReader.handledCount()).toBe(0);
    });

    it('reads records written with schema v1 through a v2 reader schema (added field with default)', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      await t.producer().send(itemBinding(topic), [{ value: { id: 'old', seq: 1 } }]);
      await t.producer().send(itemBindingV2(topic), [{ value: { id: 'new', seq: 2, note: 'hello' } }]);
      const got = new Collector<ItemV2>();
      const consumer = env.consumer(env.transport('v2-reader'), { groupId: uniqueName('g') });
      await consumer.run({ bindings: [itemBindingV2(topic)], handle: async (m) => got.push(m) });
      await got.wait(2, W);
      expect(got.messages.map((m) => m.value)).toEqual([
        { id: 'old', seq: 1, note: 'none' },
        { id: 'new', seq: 2, note: 'hello' },
      ]);
      const oldReader = new Collector<Item>();
      const v1Consumer = env.consumer(t, { groupId: uniqueName('g') });
      await v1Consumer.run({ bindings: [itemBinding(topic)], handle: async (m) => oldReader.push(m) });
      await oldReader.wait(2, W);
      expect(oldReader.messages.map((m) => m.value)).toEqual([
        { id: 'old', seq: 1 },
        { id: 'new', seq: 2 },
      ]);
    });

    it('stops gracefully: finishes the in-flight handler, commits it, revokes, and stops fetching', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      const group = uniqueName('g');
      await t.producer().send(binding, [0, 1, 2].map((seq) => ({ value: { id: 'x', seq } })));
      const started = deferred();
      const release = deferred();
      const events: string[] = [];
      const revoked: TopicPartition[][] = [];
      const consumer = env.consumer(t, { groupId: group });
      await consumer.run({
        bindings: [binding],
        handle: async (m) => {
          if (m.value?.seq === 1) {
            started.resolve();
            await release.promise;
          }
          events.push(`handled-${m.value?.seq}`);
        },
        onPartitionsRevoked: (tps) => void revoked.push(tps),
      });
      await started.promise;
      const stopping = consumer.stop().then(() => events.push('stopped'));
      const timer = setTimeout(() => {
        events.push('released');
        release.resolve();
      }, 100);
      env.cleanups.push(() => clearTimeout(timer));
      await stopping;
      expect(events).toEqual(['handled-0', 'released', 'handled-1', 'stopped']);
      expect(consumer.isRunning()).toBe(false);
      await consumer.stop();
      expect(revoked).toHaveLength(1);
      expect(sameSet(revoked[0], [{ topic, partition: 0 }])).toBe(true);
      expect(await t.admin().committedOffsets(group, topic)).toEqual([{ partition: 0, offset: '2' }]);

      const next = new Collector<Item>();
      const successor = env.consumer(env.transport(), { groupId: group });
      await successor.run({ bindings: [binding], handle: async (m) => next.push(m) });
      await next.wait(1, W);
      expect(next.messages[0].value?.seq).toBe(2);
    });

    it('starts a new group at the end of the topic when fromBeginning is false', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      const binding = itemBinding(topic);
      await t.producer().send(binding, [0, 1, 2].map((seq) => ({ value: { id: 'old', seq } })));
      const got = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g'), fromBeginning: false });
      await consumer.run({ bindings: [binding], handle: async (m) => got.push(m) });
      // The "latest" position is fixed when the member first fetches; probe until it is.
      await waitFor(async () => {
        await t.producer().send(binding, [{ value: { id: 'probe', seq: 0 } }]);
        return got.messages.length > 0;
      }, 'a probe record after the start', W);
      expect(got.ids().every((id) => id === 'probe')).toBe(true);
    });

    it('fails clearly on topics that do not exist', async () => {
      const t = env.transport();
      const missing = uniqueName('sg-missing');
      await expect(t.producer().send(itemBinding(missing), [{ value: { id: 'a', seq: 0 } }])).rejects.toMatchObject({ code: 'topic_not_found' });
      const consumer = env.consumer(t, { groupId: uniqueName('g') });
      await expect(consumer.run({ bindings: [itemBinding(missing)], handle: async () => undefined })).rejects.toMatchObject({ code: 'topic_not_found' });
    });

    it('fails run() and reports a crash when onPartitionsAssigned fails for good', async () => {
      const t = env.transport();
      const topic = await env.topic(1);
      const crashes: Error[] = [];
      const group = uniqueName('g');
      const consumer = env.consumer(t, { groupId: group, onCrash: (err) => void crashes.push(err) });
      await expect(
        consumer.run({
          bindings: [itemBinding(topic)],
          handle: async () => undefined,
          onPartitionsAssigned: () => {
            throw new InvalidInputError('state_corrupt', 'the stored state cannot be read');
          },
        }),
      ).rejects.toMatchObject({ code: 'state_corrupt' });
      expect(crashes.map((e) => (e as { code?: string }).code)).toEqual(['state_corrupt']);
      // The failed member left the group: another one gets the partition.
      const successor = env.consumer(env.transport(), { groupId: group });
      await successor.run({ bindings: [itemBinding(topic)], handle: async () => undefined });
      expect(successor.assignment()).toEqual([{ topic, partition: 0 }]);
    });

    it('ensureTopics from several transports at once: each topic is created once and usable by every caller right away', async () => {
      const specs = [6, 3, 1, 6].map((partitions) => ({ topic: env.track(uniqueName('sg-conf')), partitions }));
      const logs = new LogCapture();
      const callers = [0, 1, 2, 3].map((i) => env.transport(`creator-${i}`, undefined, logs.logger));
      const results = await Promise.all(
        callers.map(async (t) => {
          const result = await t.admin().ensureTopics(specs);
          // Right away, through the same transport: metadata, offsets and a produce.
          for (const s of specs) {
            expect(await t.admin().partitionCount(s.topic)).toBe(s.partitions);
            expect((await t.admin().listOffsets(s.topic)).map((o) => o.partition)).toEqual(Array.from({ length: s.partitions }, (_, p) => p));
          }
          await t.producer().send(itemBinding(specs[0].topic), [{ value: { id: 'x', seq: 0 } }]);
          return result;
        }),
      );
      for (const s of specs) {
        expect(results.filter((r) => r.created.includes(s.topic))).toHaveLength(1);
        for (const r of results) expect([...r.created, ...r.existing].filter((t) => t === s.topic)).toEqual([s.topic]);
      }
      const again = await callers[0].admin().ensureTopics(specs);
      expect(again).toEqual({ created: [], existing: specs.map((s) => s.topic) });
      await expect(callers[0].admin().ensureTopics([specs[0], specs[0]])).rejects.toMatchObject({ code: 'invalid_config' });
      // The client's transient complaints while topics appear ("does not host this
      // topic-partition", "already exists" from a concurrent creator) are not errors or warnings.
      const creationTexts = Object.values(TOPIC_CREATION_ERROR_TEXTS);
      expect(logs.lines.filter((l) => (l.level === 'error' || l.level === 'warn') && creationTexts.includes(l.fields.error as string))).toEqual([]);
    });

    it('two transports registering the same new schema at the same moment both send, with one schema id', async () => {
      const topic = await env.topic(2);
      const schema = { ...itemSchemaV1, name: `Item${uniqueName('s').replace(/[^A-Za-z0-9]/g, '')}` };
      const binding: TopicBinding<Item> = { topic, valueSchema: schema, key: (v) => v.id };
      const senders = [env.transport('replica-a'), env.transport('replica-b'), env.transport('replica-c')];
      await Promise.all(senders.flatMap((t, i) => [0, 1, 2].map((n) => t.producer().send(binding, [{ value: { id: `r${i}-${n}`, seq: n } }]))));
      const raw = await harness.readRaw(topic, 9);
      expect(new Set(raw.map((r) => r.value?.readUInt32BE(1))).size).toBe(1);
    });

    it('a producer keeps working after a topic it produced to is deleted, and after it is re-created', async () => {
      const t = env.transport('long-lived');
      const doomed = await env.topic(3);
      await t.producer().send(itemBinding(doomed), [{ value: { id: 'a', seq: 0 } }]);
      await t.admin().listOffsets(doomed);
      // Someone else deletes it (tests and operators do).
      const other = env.transport('deleter');
      await other.admin().deleteTopics([doomed]);
      await waitFor(async () => !(await t.admin().listTopics()).includes(doomed), 'the deletion to be visible', W);

      // Other topics, old and new, are unaffected; so is the admin.
      const fresh = env.track(uniqueName('sg-conf'));
      await other.admin().ensureTopics([{ topic: fresh, partitions: 2 }]);
      await t.producer().send(itemBinding(fresh), [{ value: { id: 'b', seq: 0 } }]);
      expect(await t.admin().ensureTopics([{ topic: env.track(uniqueName('sg-conf')), partitions: 1 }])).toMatchObject({ created: [expect.any(String)] });
      expect((await t.admin().listOffsets(fresh)).map((o) => o.high)).toEqual(expect.arrayContaining(['1']));

      // The deleted topic fails clearly, then works again once re-created (with another partition count).
      await expect(t.producer().send(itemBinding(doomed), [{ value: { id: 'c', seq: 0 } }])).rejects.toMatchObject({ code: 'topic_not_found' });
      await other.admin().ensureTopics([{ topic: doomed, partitions: 2 }]);
      const positions = await t.producer().send(itemBinding(doomed), ['k1', 'k2', 'k3', 'k4'].map((id) => ({ value: { id, seq: 1 } })));
      expect(positions.map((p) => p.partition)).toEqual(['k1', 'k2', 'k3', 'k4'].map((k) => partitionForKey(k, 2)));
      const raw = await harness.readRaw(doomed, 4);
      expect(raw.map((r) => r.key).sort()).toEqual(['k1', 'k2', 'k3', 'k4']);
    });

    it('calls onPartitionsAssigned before the first message of a partition', async () => {
      const t = env.transport();
      const topic = await env.topic(2);
      const binding = itemBinding(topic);
      await t.producer().send(binding, ['a', 'b', 'c', 'd'].map((id) => ({ value: { id, seq: 0 } })));
      const restored = new Set<number>();
      const violations: string[] = [];
      const got = new Collector<Item>();
      const consumer = env.consumer(t, { groupId: uniqueName('g') });
      await consumer.run({
        bindings: [binding],
        onPartitionsAssigned: async (tps) => {
          await new Promise((resolve) => setImmediate(resolve));
          for (const tp of tps) restored.add(tp.partition);
        },
        handle: async (m) => {
          if (!restored.has(m.partition)) violations.push(`${m.partition}`);
          got.push(m);
        },
      });
      expect(restored).toEqual(new Set([0, 1]));
      await got.wait(4, W);
      expect(violations).toEqual([]);
    });
  });
}
