import { createTransport, parseDeadLetterHeaders, type Transport } from '@safeguard/kafka';
import { topics, type ContentSubmitted } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { decodeConfluentWithPythonAvro, integrationEnv, kcatConsume, uniqueName } from '@safeguard/testkit';
import { ingestConfigSchema } from '../src/config';
import { startIngest, type IngestService } from '../src/service';

jest.setTimeout(120_000);

const KEY = 'integration-key-'.padEnd(32, 'x');

describe('ingest against the real broker and schema registry', () => {
  let runtime: ServiceRuntime;
  let service: IngestService;
  let prefix: string;
  let admin: Transport;

  beforeEach(async () => {
    const env = integrationEnv();
    prefix = `${uniqueName('ingest')}.`;
    const config = ingestConfigSchema.parse({
      KAFKA_BROKERS: env.brokersCsv,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      INGEST_HTTP_PORT: '0',
      METRICS_PORT: '0',
      INGEST_API_KEYS: `platform-int:${KEY}`,
      LOG_LEVEL: 'warn',
    });
    runtime = await ServiceRuntime.start({ service: 'ingest', common: config.common });
    service = await startIngest(config, runtime);
    admin = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: 'ingest-test', schemaRegistryUrl: env.registryUrl });
  });

  afterEach(async () => {
    await runtime.stop();
    const names = (await admin.admin().listTopics()).filter((t) => t.startsWith(prefix));
    await admin.admin().deleteTopics(names);
    await admin.close();
  });

  it('publishes an HTTP submission that an independent client (kcat + Apache Avro) reads back', async () => {
    const res = await fetch(`http://127.0.0.1:${service.httpPort}/v1/content`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ contentId: 'c-int-1', uploaderAccountId: 'u-9', contentKind: 'IMAGE', media: { uri: 'https://cdn.example/i.jpg' } }),
    });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };

    const [record] = await kcatConsume({ topic: `${prefix}${topics.contentSubmitted.topic}`, count: 1 });
    expect(record!.key?.toString('utf8')).toBe('platform-int/c-int-1');
    const decoded = await decodeConfluentWithPythonAvro(record!.value!, integrationEnv().registryUrl);
    expect(decoded.value).toMatchObject({
      eventId,
      platformId: 'platform-int',
      contentId: 'c-int-1',
      uploaderAccountId: 'u-9',
      contentKind: 'IMAGE',
      channel: 'http',
      media: { uri: 'https://cdn.example/i.jpg', inlineBytes: null },
    });
  });

  it('dead-letters invalid Kafka input with its reason and keeps consuming', async () => {
    const producer = runtime.transport.producer();
    const base: ContentSubmitted = {
      eventId: 'pe-1',
      platformId: 'platform-k',
      contentId: 'bad-1',
      uploaderAccountId: null,
      contentKind: 'IMAGE',
      media: { uri: 'ftp://files.example/x.jpg', inlineBytes: null, mimeType: null, sizeBytes: null },
      uploadContext: null,
      channel: 'kafka',
      submittedAtMs: Date.now(),
    };
    const input = runtime.topic(topics.platformContentUploaded);
    await producer.send(input, [{ value: base }, { value: { ...base, eventId: 'pe-2', contentId: 'good-1', media: { ...base.media, uri: 'https://files.example/x.jpg' } } }]);

    const [dead] = await kcatConsume({ topic: `${input.topic}.dlq`, count: 1 });
    const headers = Object.fromEntries(dead!.headers.map((h) => [h.key, h.value?.toString('utf8') ?? '']));
    expect(parseDeadLetterHeaders(headers)).toMatchObject({ reason: 'uri_scheme_not_allowed', sourceTopic: input.topic, attempts: 1 });

    const [published] = await kcatConsume({ topic: `${prefix}${topics.contentSubmitted.topic}`, count: 1 });
    const decoded = await decodeConfluentWithPythonAvro(published!.value!, integrationEnv().registryUrl);
    expect(decoded.value).toMatchObject({ contentId: 'good-1', eventId: 'pe-2', channel: 'kafka' });
  });
});
