import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { integrationEnv, kcatConsume, kcatProduce, registryHttp, uniqueName } from '@safeguard/testkit';
import type { Registry } from 'prom-client';
import { createTransport, decodeWireFrame, partitionForKey } from '../src';
import type { TopicBinding, Transport, TransportLogger } from '../src';
import { conformanceSuite } from './conformance';
import type { RawView } from './conformance';

/**
 * The conformance suite against the real broker and schema registry that the testkit global
 * setup selected or started (`KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL`).
 */
const env = integrationEnv();
const registryUrl = env.registryUrl;
const run = promisify(execFile);

jest.setTimeout(90_000);

const debugLogger = process.env.DEBUG_TRANSPORT
  ? { info: (o: object, m: string) => console.log(m, JSON.stringify(o)), warn: (o: object, m: string) => console.warn(m, JSON.stringify(o)), error: (o: object, m: string) => console.error(m, JSON.stringify(o)) }
  : undefined;

function kafkaTransport(clientId: string, metricsRegistry?: Registry, logger?: TransportLogger): Transport {
  return createTransport({ kind: 'kafka', brokers: env.brokers, clientId, schemaRegistryUrl: registryUrl, metricsRegistry, fetchMaxWaitMs: 100, logger: logger ?? debugLogger });
}

/** Deletes the `<topic>-value` subjects of test topics (soft, then permanent, as Confluent's API wants). */
async function forgetSubjects(topics: string[]): Promise<void> {
  for (const topic of topics) {
    const subject = encodeURIComponent(`${topic}-value`);
    const soft = await fetch(`${registryUrl}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
    if (soft?.ok) await fetch(`${registryUrl}/subjects/${subject}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
  }
}

/** Reads records with kcat (librdkafka): an independent client sees the bytes and headers we wrote. */
async function readRaw(topic: string, count: number): Promise<RawView[]> {
  const records = await kcatConsume({ topic, count, brokers: env.brokersCsv, timeoutMs: 30_000 });
  return records.map((r) => ({
    partition: r.partition,
    offset: String(r.offset),
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value,
    headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? '' : h.value.toString('utf8')])),
  }));
}

conformanceSuite({
  name: 'kafka',
  waitMs: 45_000,
  consumerDefaults: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, lagRefreshMs: 200, commitIntervalMs: 100 },
  createTransport: ({ clientId, metricsRegistry, logger }) => kafkaTransport(clientId, metricsRegistry, logger),
  produceRaw: async (topic, records) => {
    await kcatProduce({ topic, brokers: env.brokersCsv, records: records.map((r) => ({ key: r.key ?? undefined, value: r.value, partition: r.partition ?? 0 })) });
  },
  readRaw,
  forgetSubjects,
  compact: async () => undefined,
  close: async () => undefined,
});

describe('interoperability with other clients (kafka only)', () => {
  interface Ping {
    id: string;
  }
  const schema = { type: 'record', name: 'Ping', namespace: 'safeguard.test.kafka', doc: 'Interop test record.', fields: [{ name: 'id', type: 'string', doc: 'Key.' }] };
  let transport: Transport;
  let topics: string[] = [];

  beforeEach(() => {
    transport = kafkaTransport(uniqueName('interop'));
    topics = [];
  });
  afterEach(async () => {
    await transport.admin().deleteTopics(topics).catch(() => undefined);
    await transport.close();
    await forgetSubjects(topics);
  });

  it('librdkafka (kcat, murmur2 partitioner) puts keys on the partitions we compute', async () => {
    const topic = uniqueName('sg-interop');
    topics.push(topic);
    await transport.admin().ensureTopics([{ topic, partitions: 7 }]);
    const keys = Array.from({ length: 40 }, (_, i) => `conversation-${i}-ü`);
    await new Promise<void>((resolve, reject) => {
      const child = execFile('kcat', ['-P', '-b', env.brokers[0], '-t', topic, '-K', '\t', '-X', 'topic.partitioner=murmur2_random'], (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(keys.map((k) => `${k}\tv`).join('\n') + '\n');
    });
    const { stdout } = await run('kcat', ['-C', '-b', env.brokers[0], '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%p\n']);
    const placed = stdout.trim().split('\n').map((line) => line.split('\t'));
    expect(placed).toHaveLength(keys.length);
    for (const [key, partition] of placed) expect(Number(partition)).toBe(partitionForKey(key, 7));
  });

  it('uses a schema registered out of band under a subject pinned to another compatibility level', async () => {
    const topic = uniqueName('sg-interop');
    topics.push(topic);
    await transport.admin().ensureTopics([{ topic, partitions: 1 }]);
    const subject = `${topic}-value`;
    const headers = { 'Content-Type': 'application/vnd.schemaregistry.v1+json' };
    const id = await registryHttp(registryUrl).register(subject, JSON.stringify(schema));
    const pinned = await fetch(`${registryUrl}/config/${subject}`, { method: 'PUT', headers, body: JSON.stringify({ compatibility: 'NONE' }) });
    expect(pinned.status).toBe(200);

    const binding: TopicBinding<Ping> = { topic, valueSchema: schema, key: (v) => v.id };
    await transport.producer().send(binding, [{ value: { id: 'ping-1' } }]);
    const { stdout } = await run('kcat', ['-C', '-b', env.brokers[0], '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s'], { encoding: 'buffer' });
    expect(decodeWireFrame(stdout as unknown as Buffer).schemaId).toBe(id);

    const other: TopicBinding<Ping & { n: number }> = {
      topic,
      valueSchema: { ...schema, fields: [...schema.fields, { name: 'n', type: 'int', default: 0, doc: 'x' }] },
      key: (v) => v.id,
    };
    await expect(transport.producer().send(other, [{ value: { id: 'x', n: 1 } }])).rejects.toMatchObject({ code: 'schema_registry_error', retriable: false });
  });

  it('writes Confluent frames whose schema id the registry serves, readable by a non-JS client', async () => {
    const topic = uniqueName('sg-interop');
    topics.push(topic);
    await transport.admin().ensureTopics([{ topic, partitions: 1 }]);
    const binding: TopicBinding<Ping> = { topic, valueSchema: schema, key: (v) => v.id };
    await transport.producer().send(binding, [{ value: { id: 'ping-1' } }]);
    const { stdout } = await run('kcat', ['-C', '-b', env.brokers[0], '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\n%s'], { encoding: 'buffer' });
    const text = stdout as unknown as Buffer;
    const newline = text.indexOf(0x0a);
    expect(text.subarray(0, newline).toString()).toBe('ping-1');
    const frame = decodeWireFrame(text.subarray(newline + 1));
    const served = await registryHttp(registryUrl).schemaById(frame.schemaId);
    expect(JSON.parse(served.schema)).toMatchObject({ name: 'Ping', namespace: 'safeguard.test.kafka' });
    // Avro binary of {id: "ping-1"}: zigzag length 12, then the bytes.
    expect([...frame.payload]).toEqual([12, ...Buffer.from('ping-1')]);
    const versions = await (await fetch(`${registryUrl}/subjects/${topic}-value/versions`)).json();
    expect(versions).toEqual([1]);
  });
});

describe('closing (kafka only)', () => {
  it('a closed transport opens no connection again: admin and producer calls fail with transport_closed', async () => {
    const topic = uniqueName('sg-closed');
    const t = kafkaTransport(uniqueName('closing'));
    await t.admin().ensureTopics([{ topic, partitions: 1 }]);
    const binding: TopicBinding<{ id: string }> = { topic, valueSchema: { type: 'record', name: 'Closed', namespace: 'safeguard.test.kafka', fields: [{ name: 'id', type: 'string' }] } };
    await t.producer().send(binding, [{ value: { id: 'a' } }]);
    await t.close();
    // Before, a lag refresh or a late send racing with close() reconnected here, and the socket
    // kept the process alive until the broker dropped idle connections (10 minutes).
    await expect(t.admin().listOffsets(topic)).rejects.toMatchObject({ code: 'transport_closed' });
    await expect(t.producer().send(binding, [{ value: { id: 'b' } }])).rejects.toMatchObject({ code: 'transport_closed' });
    const cleanup = kafkaTransport('cleanup');
    await cleanup.admin().deleteTopics([topic]);
    await cleanup.close();
    await forgetSubjects([topic]);
  });
});

describe('schema registration by several replicas at once (kafka only)', () => {
  type RegistryModule = typeof import('../src/registry/confluent-schema-registry');
  const subjects: string[] = [];

  afterAll(async () => {
    await forgetSubjects(subjects.map((s) => s.replace(/-value$/, '')));
  });

  it('every replica gets the one id when all register a new schema under a new subject at the same moment', async () => {
    // One module copy per replica: each has its own in-flight map, as separate processes would,
    // so their requests really race at the registry (without the copies they are coalesced).
    const replicas: RegistryModule['ConfluentSchemaRegistryClient'][] = [];
    for (let i = 0; i < 5; i++) {
      jest.isolateModules(() => {
        replicas.push((require('../src/registry/confluent-schema-registry') as RegistryModule).ConfluentSchemaRegistryClient);
      });
    }
    for (let round = 0; round < 12; round++) {
      const subject = `${uniqueName('sg-race')}-value`;
      subjects.push(subject);
      const name = `Race${uniqueName('r').replace(/[^A-Za-z0-9]/g, '')}`;
      const schema = JSON.stringify({ type: 'record', name, namespace: 'safeguard.test.kafka', doc: 'Race test record.', fields: [{ name: 'id', type: 'string', doc: 'Key.' }] });
      const outcomes = await Promise.allSettled(replicas.map((Client) => new Client({ url: registryUrl, clientId: 'race' }).register(subject, schema)));
      const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => (o.reason as { code?: string }).code ?? String(o.reason));
      expect(failures).toEqual([]);
      const ids = outcomes.map((o) => (o as PromiseFulfilledResult<number>).value);
      expect(new Set(ids).size).toBe(1);
      expect((await registryHttp(registryUrl).version(subject)).id).toBe(ids[0]);
    }
    // A schema that is incompatible with what is there is still refused as such.
    const subject = subjects[0];
    const latest = await registryHttp(registryUrl).version(subject);
    const incompatible = JSON.stringify({ ...JSON.parse(latest.schema), fields: [{ name: 'id', type: 'long', doc: 'Now a number.' }] });
    const outcomes = await Promise.allSettled(replicas.map((Client) => new Client({ url: registryUrl }).register(subject, incompatible)));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : 'registered'))).toEqual(replicas.map(() => 'schema_incompatible'));
  });
});
