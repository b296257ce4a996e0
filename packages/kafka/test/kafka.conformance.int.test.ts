import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { Producer as KafkaProducer } from 'kafkajs';
import { createTransport, decodeWireFrame, partitionForKey } from '../src';
import type { TopicBinding, Transport } from '../src';
import { conformanceSuite } from './conformance';
import type { RawView } from './conformance';
import { uniqueName, waitFor } from './helpers';

/**
 * The conformance suite against the real broker and schema registry. Endpoints come from the
 * environment (the testkit global setup will set them), defaulting to `npm run infra:up`'s.
 */
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const run = promisify(execFile);

jest.setTimeout(90_000);

const kafka = new Kafka({ clientId: 'conformance-raw', brokers, logLevel: logLevel.NOTHING });
let rawProducer: KafkaProducer | undefined;

const debugLogger = process.env.DEBUG_TRANSPORT
  ? { info: (o: object, m: string) => console.log(m, JSON.stringify(o)), warn: (o: object, m: string) => console.warn(m, JSON.stringify(o)), error: (o: object, m: string) => console.error(m, JSON.stringify(o)) }
  : undefined;

function kafkaTransport(clientId: string, metricsRegistry?: import('prom-client').Registry): Transport {
  return createTransport({ kind: 'kafka', brokers, clientId, schemaRegistryUrl: registryUrl, metricsRegistry, fetchMaxWaitMs: 100, logger: debugLogger });
}

/** Deletes the `<topic>-value` subjects of test topics (soft, then permanent, as Confluent's API wants). */
async function forgetSubjects(topics: string[]): Promise<void> {
  for (const topic of topics) {
    const subject = encodeURIComponent(`${topic}-value`);
    const soft = await fetch(`${registryUrl}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
    if (soft?.ok) await fetch(`${registryUrl}/subjects/${subject}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
  }
}

async function readRaw(topic: string, count: number): Promise<RawView[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('raw-reader'), maxWaitTimeInMs: 100 });
  const out: RawView[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
        out.push({ partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value: message.value, headers });
      },
    });
    await waitFor(() => out.length >= count, `${count} records on ${topic}`, 30_000);
  } finally {
    await consumer.disconnect();
  }
  return out.slice(0, count);
}

conformanceSuite({
  name: 'kafka',
  waitMs: 45_000,
  consumerDefaults: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, lagRefreshMs: 200, commitIntervalMs: 100 },
  createTransport: ({ clientId, metricsRegistry }) => kafkaTransport(clientId, metricsRegistry),
  produceRaw: async (topic, records) => {
    if (!rawProducer) {
      rawProducer = kafka.producer({ allowAutoTopicCreation: false });
      await rawProducer.connect();
    }
    await rawProducer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, partition: r.partition ?? 0 })) });
  },
  readRaw,
  forgetSubjects,
  compact: async () => undefined,
  close: async () => {
    await rawProducer?.disconnect();
  },
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
      const child = execFile('kcat', ['-P', '-b', brokers[0], '-t', topic, '-K', '\t', '-X', 'topic.partitioner=murmur2_random'], (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(keys.map((k) => `${k}\tv`).join('\n') + '\n');
    });
    const { stdout } = await run('kcat', ['-C', '-b', brokers[0], '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%p\n']);
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
    const registered = await fetch(`${registryUrl}/subjects/${subject}/versions`, { method: 'POST', headers, body: JSON.stringify({ schema: JSON.stringify(schema) }) });
    expect(registered.status).toBe(200);
    const { id } = (await registered.json()) as { id: number };
    const pinned = await fetch(`${registryUrl}/config/${subject}`, { method: 'PUT', headers, body: JSON.stringify({ compatibility: 'NONE' }) });
    expect(pinned.status).toBe(200);

    const binding: TopicBinding<Ping> = { topic, valueSchema: schema, key: (v) => v.id };
    await transport.producer().send(binding, [{ value: { id: 'ping-1' } }]);
    const { stdout } = await run('kcat', ['-C', '-b', brokers[0], '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s'], { encoding: 'buffer' });
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
    const { stdout } = await run('kcat', ['-C', '-b', brokers[0], '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\n%s'], { encoding: 'buffer' });
    const text = stdout as unknown as Buffer;
    const newline = text.indexOf(0x0a);
    expect(text.subarray(0, newline).toString()).toBe('ping-1');
    const frame = decodeWireFrame(text.subarray(newline + 1));
    const res = await fetch(`${registryUrl}/schemas/ids/${frame.schemaId}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { schema: string };
    expect(JSON.parse(body.schema)).toMatchObject({ name: 'Ping', namespace: 'safeguard.test.kafka' });
    // Avro binary of {id: "ping-1"}: zigzag length 12, then the bytes.
    expect([...frame.payload]).toEqual([12, ...Buffer.from('ping-1')]);
    const versions = await (await fetch(`${registryUrl}/subjects/${topic}-value/versions`)).json();
    expect(versions).toEqual([1]);
  });
});
