import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  createTopicWithKafkaCli,
  decodeConfluentWithPythonAvro,
  encodeConfluentWithPythonAvro,
  integrationEnv,
  kcatConsume,
  kcatProduce,
  registryHttp,
  uniqueName,
} from '../src';

// The independent interop tools against the real broker and registry, without any JavaScript
// Kafka client: Kafka's CLI creates the topic, Python's Avro writes Confluent-framed values,
// kcat (librdkafka) produces and consumes them, the registry resolves the id.
jest.setTimeout(90_000);

const schema = {
  type: 'record',
  name: 'InteropProbe',
  namespace: 'safeguard.testkit',
  doc: 'Interop probe.',
  fields: [
    { name: 'contentId', type: 'string', doc: 'Opaque id.' },
    { name: 'sizeBytes', type: 'long', doc: 'Size.' },
    { name: 'sha256', type: { type: 'fixed', name: 'Sha256', size: 32 }, doc: 'Digest.' },
  ],
};

describe('kcat + Python Avro interop', () => {
  it('round-trips Confluent-framed Avro, keys, headers, tombstones, partitions and offsets', async () => {
    const topic = uniqueName('testkit.interop');
    await createTopicWithKafkaCli(topic, { partitions: 2 });
    const id = await registryHttp().register(`${topic}-value`, schema);
    const datum = { contentId: 'c-42', sizeBytes: 2n ** 60n, sha256: Buffer.alloc(32, 0xab) };
    const value = await encodeConfluentWithPythonAvro(id, schema, datum);

    await kcatProduce({
      topic,
      records: [
        { key: 'c-42', value, headers: { 'safeguard-code': 'none', empty: '' }, partition: 1 },
        { key: 'c-42', value: null, partition: 1 },
        { key: 'empty', value: '', partition: 1 },
        { key: 'other', value: Buffer.from([0, 0xff, 0x0a]), partition: 0 },
      ],
    });

    const records = await kcatConsume({ topic, count: 3, partition: 1 });
    expect(records.map((r) => [r.partition, r.offset])).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
    const [first, tombstone, empty] = records as [(typeof records)[0], (typeof records)[0], (typeof records)[0]];
    expect(first.key?.toString()).toBe('c-42');
    expect(first.value?.equals(value)).toBe(true);
    expect(first.headers).toEqual([
      { key: 'safeguard-code', value: Buffer.from('none') },
      { key: 'empty', value: Buffer.alloc(0) },
    ]);
    expect(tombstone.key?.toString()).toBe('c-42');
    expect(tombstone.value).toBeNull();
    expect(empty.value).toEqual(Buffer.alloc(0));

    const decoded = await decodeConfluentWithPythonAvro(first.value as Buffer);
    expect(decoded.schemaId).toBe(id);
    expect(decoded.value).toEqual(datum);

    // Partition 0 holds the raw bytes exactly, including NUL, 0xff and a newline.
    const [raw] = await kcatConsume({ topic, count: 1, partition: 0, offset: 0 });
    expect(raw?.value?.toString('hex')).toBe('00ff0a');

    // The Confluent client the services use reads what Python wrote (long beyond 2^53 aside:
    // avsc refuses unsafe longs by default, so check the safe fields).
    const small = await encodeConfluentWithPythonAvro(id, schema, { ...datum, sizeBytes: 1234 });
    const viaClient = await new SchemaRegistry({ host: integrationEnv().registryUrl }).decode(small);
    expect(viaClient).toMatchObject({ contentId: 'c-42', sizeBytes: 1234 });
  });

  it('fails with the count read so far when records do not arrive', async () => {
    const topic = uniqueName('testkit.empty');
    await createTopicWithKafkaCli(topic);
    await expect(kcatConsume({ topic, count: 1, timeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'kcat_timeout',
      message: expect.stringContaining('read 0 of 1'),
    });
  });
});
