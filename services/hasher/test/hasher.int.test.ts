import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createTransport, parseDeadLetterHeaders, type Transport } from '@safeguard/kafka';
import { topics, type ContentSubmitted } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { corruptJpeg, decodeManyWithPythonAvro, fetchSchemaById, integrationEnv, kcatConsume, parseConfluentFrame, pngBomb, textBytes, truncatedJpeg, uniqueName, type KcatRecord } from '@safeguard/testkit';
import { hasherConfigSchema } from '../src/config';
import { startHasher, type HasherService } from '../src/service';
import { FIXTURES, fixtureBytes, fixtures } from './media';

jest.setTimeout(180_000);

interface HashedValue {
  contentId: string;
  submittedEventId: string;
  mediaUri: string | null;
  mediaType: string;
  sizeBytes: number;
  hashes: Array<{ algorithm: string; value: string; quality: number | null }>;
  hasherVersion: string;
}

/** Decodes Confluent-framed records with Apache's Python Avro (an implementation independent of ours). */
async function decodeAll(records: KcatRecord[]): Promise<HashedValue[]> {
  const frames = records.map((r) => parseConfluentFrame(r.value!));
  const ids = new Set(frames.map((f) => f.schemaId));
  expect(ids.size).toBe(1);
  const { schema } = await fetchSchemaById([...ids][0]!, integrationEnv().registryUrl);
  return (await decodeManyWithPythonAvro(schema, frames.map((f) => f.body))) as HashedValue[];
}

function headersOf(record: KcatRecord): Record<string, string> {
  return Object.fromEntries(record.headers.map((h) => [h.key, h.value?.toString('utf8') ?? '']));
}

function submission(contentId: string, media: Partial<ContentSubmitted['media']>): ContentSubmitted {
  return {
    eventId: `ev-${contentId}`,
    platformId: 'platform-int',
    contentId,
    uploaderAccountId: null,
    contentKind: 'IMAGE',
    media: { uri: null, inlineBytes: null, mimeType: null, sizeBytes: null, ...media },
    uploadContext: null,
    channel: 'kafka',
    submittedAtMs: Date.now(),
  };
}

describe('hasher against the real broker and schema registry', () => {
  let runtime: ServiceRuntime;
  let service: HasherService;
  let prefix: string;
  let admin: Transport;
  let server: http.Server;
  let port: number;

  beforeEach(async () => {
    const env = integrationEnv();
    prefix = `${uniqueName('hasher')}.`;
    server = http.createServer((req, res) => {
      const file = (req.url ?? '').slice(1);
      if (!fixtures().some((f) => f.file === file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(fixtureBytes(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const config = hasherConfigSchema.parse({
      KAFKA_BROKERS: env.brokersCsv,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      METRICS_PORT: '0',
      LOG_LEVEL: 'error',
      HASHER_POOL_SIZE: '2',
      HASHER_FILE_ROOTS: FIXTURES,
      HASHER_FETCH_ALLOW_CIDRS: '127.0.0.1/32',
    });
    runtime = await ServiceRuntime.start({ service: 'hasher', common: config.common });
    service = await startHasher(config, runtime);
    admin = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: 'hasher-test', schemaRegistryUrl: env.registryUrl });
  });

  afterEach(async () => {
    await runtime.stop();
    const names = (await admin.admin().listTopics()).filter((t) => t.startsWith(prefix));
    await admin.admin().deleteTopics(names);
    await admin.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('publishes the reference PDQ for file:// and http:// media, dead-letters a corrupt image and hashes the next message', async () => {
    const input = runtime.topic(topics.contentSubmitted);
    const output = runtime.topic(topics.contentHashed);
    const producer = runtime.transport.producer();
    const all = fixtures();
    await producer.send(
      input,
      all.flatMap((f, i) => [
        { value: submission(`file-${i}`, { uri: pathToFileURL(f.path).href }) },
        { value: submission(`http-${i}`, { uri: `http://127.0.0.1:${port}/${f.file}` }) },
      ]),
    );
    // Same partition, in this order: the corrupt image must not hold up the message after it.
    await producer.send(input, [
      { value: submission('corrupt', { inlineBytes: corruptJpeg() }), partition: 0 },
      { value: submission('after-corrupt', { uri: pathToFileURL(all[0]!.path).href }), partition: 0 },
    ]);

    const expected = 2 * all.length + 1;
    const records = await kcatConsume({ topic: output.topic, count: expected, timeoutMs: 120_000 });
    const values = await decodeAll(records);
    const byContent = new Map(values.map((v) => [v.contentId, v]));
    expect([...byContent.keys()].sort()).toEqual([...all.flatMap((_, i) => [`file-${i}`, `http-${i}`]), 'after-corrupt'].sort());
    for (const [i, f] of all.entries()) {
      for (const kind of ['file', 'http']) {
        const v = byContent.get(`${kind}-${i}`)!;
        const pdq = v.hashes.find((h) => h.algorithm === 'pdq')!;
        expect([f.file, kind, pdq.value, pdq.quality]).toEqual([f.file, kind, f.pdq, f.quality]);
        expect(v).toMatchObject({ submittedEventId: `ev-${kind}-${i}`, mediaType: 'JPEG', sizeBytes: fixtureBytes(f.file).length, hasherVersion: service.hasherVersion });
      }
    }
    expect(byContent.get('after-corrupt')!.hashes[0]!.value).toBe(all[0]!.pdq);
    for (const r of records) expect(r.key!.toString('utf8')).toMatch(/^platform-int\//);

    const [dead] = await kcatConsume({ topic: `${input.topic}.dlq`, count: 1, timeoutMs: 60_000 });
    expect(dead!.key!.toString('utf8')).toBe('platform-int/corrupt');
    expect(parseDeadLetterHeaders(headersOf(dead!))).toMatchObject({ reason: 'decode_failed', sourceTopic: input.topic, sourcePartition: 0, attempts: 1 });
  });

  it('keeps running through a stream of decompression bombs and truncated files', async () => {
    const input = runtime.topic(topics.contentSubmitted);
    const output = runtime.topic(topics.contentHashed);
    const hostile = [() => pngBomb(30000), () => pngBomb(65000), truncatedJpeg, corruptJpeg, textBytes];
    const batch = Array.from({ length: 60 }, (_, i) => ({ value: submission(`bad-${i}`, { inlineBytes: hostile[i % hostile.length]!() }) }));
    await runtime.transport.producer().send(input, [...batch, ...fixtures().map((f, i) => ({ value: submission(`good-${i}`, { uri: pathToFileURL(f.path).href }) }))]);

    const dead = await kcatConsume({ topic: `${input.topic}.dlq`, count: 60, timeoutMs: 120_000 });
    const reasons = new Set(dead.map((r) => parseDeadLetterHeaders(headersOf(r))?.reason));
    expect([...reasons].sort()).toEqual(['decode_failed', 'media_dimensions_exceeded', 'media_truncated', 'media_unsupported_type']);
    const hashed = await decodeAll(await kcatConsume({ topic: output.topic, count: fixtures().length, timeoutMs: 60_000 }));
    expect(hashed.map((v) => v.contentId).sort()).toEqual(fixtures().map((_, i) => `good-${i}`).sort());
    expect(service.consumer.isRunning()).toBe(true);
    const health = await fetch(`http://127.0.0.1:${runtime.health!.port}/readyz`);
    expect(health.status).toBe(200);
  });
});
