import { createTransport, parseDeadLetterHeaders, type ConsumedMessage, type InProcessTransport, type TopicBinding } from '@safeguard/kafka';
import { topics, type ChatMessage, type ContentSubmitted } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { ingestConfigSchema } from './config';
import { startIngest, type IngestService } from './service';

const KEY = 'k'.repeat(32);

async function readAll<V>(transport: InProcessTransport, binding: TopicBinding<V>): Promise<ConsumedMessage<V>[]> {
  const out: ConsumedMessage<V>[] = [];
  const reader = await transport.reader({ binding, handle: (m) => void out.push(m) });
  await reader.caughtUp();
  await reader.stop();
  return out;
}

describe('ingest service (in-process transport)', () => {
  let runtime: ServiceRuntime;
  let transport: InProcessTransport;
  let service: IngestService;
  let base: string;

  beforeEach(async () => {
    const config = ingestConfigSchema.parse({
      SAFEGUARD_TRANSPORT: 'in-process',
      INGEST_HTTP_PORT: '0',
      INGEST_API_KEYS: `platform-a:${KEY}`,
      INGEST_INLINE_MAX_BYTES: '1024',
      LOG_LEVEL: 'silent',
    });
    transport = createTransport({ kind: 'in-process', clientId: 'ingest' });
    runtime = await ServiceRuntime.start({ service: 'ingest', common: config.common, transport, healthServer: false });
    service = await startIngest(config, runtime);
    base = `http://127.0.0.1:${service.httpPort}`;
  });

  afterEach(async () => {
    await runtime.stop();
  });

  const post = (path: string, body: unknown, key = KEY): Promise<Response> =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

  it('publishes an HTTP content submission keyed by platform and content id, once', async () => {
    const body = { contentId: 'c-1', uploaderAccountId: 'u-1', media: { uri: 'https://cdn.example/a.jpg', mimeType: 'image/jpeg' } };
    const first = await post('/v1/content', body);
    expect(first.status).toBe(202);
    const { eventId } = (await first.json()) as { eventId: string };
    const again = await post('/v1/content', body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });

    const events = await readAll(transport, topics.contentSubmitted);
    expect(events).toHaveLength(1);
    expect(events[0]!.key).toBe('platform-a/c-1');
    expect(events[0]!.value).toMatchObject({ eventId, platformId: 'platform-a', contentId: 'c-1', channel: 'http', media: { uri: 'https://cdn.example/a.jpg' } });
  });

  it('publishes chat messages keyed by conversation', async () => {
    const res = await post('/v1/messages', { conversationId: 'conv-1', messageId: 'm-1', senderId: 's', text: 'hi there', sentAtMs: 1700000000000 });
    expect(res.status).toBe(202);
    const events = await readAll(transport, topics.chatMessageSent);
    expect(events.map((e) => [e.key, e.value?.messageId])).toEqual([['platform-a/conv-1', 'm-1']]);
  });

  it('refuses bad requests with a reason and publishes nothing', async () => {
    expect((await post('/v1/content', { contentId: 'c-2', media: {} })).status).toBe(400);
    const tooBig = await post('/v1/content', { contentId: 'c-3', media: { inlineBase64: Buffer.alloc(2000).toString('base64') } });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: { code: 'inline_too_large' } });
    const unauth = await post('/v1/content', { contentId: 'c-4', media: { uri: 'https://x/y' } }, 'wrong-key-wrong-key-wrong-key');
    expect(unauth.status).toBe(401);
    const notJson = await fetch(`${base}/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_json' } });
    expect(await readAll(transport, topics.contentSubmitted)).toEqual([]);
  });

  it('republishes valid Kafka input and dead-letters invalid input with its reason', async () => {
    const producer = transport.producer();
    const good: ContentSubmitted = {
      eventId: 'platform-event-1',
      platformId: 'platform-k',
      contentId: 'k-1',
      uploaderAccountId: null,
      contentKind: 'IMAGE',
      media: { uri: 'file:///data/k-1.jpg', inlineBytes: null, mimeType: null, sizeBytes: null },
      uploadContext: null,
      channel: 'kafka',
      submittedAtMs: 1,
    };
    const bad: ContentSubmitted = { ...good, contentId: 'k-2', media: { ...good.media, uri: null } };
    await producer.send(topics.platformContentUploaded, [{ value: bad }, { value: good }]);
    const msg: ChatMessage = {
      eventId: 'e-m',
      platformId: 'platform-k',
      conversationId: 'cv',
      messageId: 'm',
      senderId: 's',
      recipientIds: [],
      text: 'hello',
      language: null,
      participants: [],
      sentAtMs: 5,
      channel: 'kafka',
    };
    await producer.send(topics.platformMessageSent, [{ value: msg }]);

    const dlqTopic = `${topics.platformContentUploaded.topic}.dlq`;
    const dlqRecords = () => (transport.broker.hasTopic(dlqTopic) ? transport.broker.read(dlqTopic, 0, 0, 10) : []);
    let content: ConsumedMessage<ContentSubmitted>[] = [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      content = await readAll(transport, topics.contentSubmitted);
      if (content.length > 0 && dlqRecords().length > 0) break;
      await Promise.race([transport.broker.changed(), new Promise((r) => setTimeout(r, 50))]);
    }
    expect(content.map((c) => c.value?.contentId)).toEqual(['k-1']);
    expect(content[0]!.value).toMatchObject({ eventId: 'platform-event-1', channel: 'kafka' });

    const dlq = dlqRecords();
    expect(dlq).toHaveLength(1);
    expect(parseDeadLetterHeaders(dlq[0]!.headers)).toMatchObject({ reason: 'media_reference_missing', sourceTopic: topics.platformContentUploaded.topic });
  });
});
