import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createTransport, parseDeadLetterHeaders, type ConsumedMessage, type InProcessTransport } from '@safeguard/kafka';
import { topics, type ContentHashed, type ContentSubmitted } from '@safeguard/schemas';
import { createMetricsRegistry, type Registry } from '@safeguard/observability';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { corruptJpeg, pngBomb, svgBytes, textBytes, truncatedJpeg, waitFor } from '@safeguard/testkit';
import { FIXTURES, fixtureBytes, fixtures } from '../test/media';
import { hasherConfigSchema } from './config';
import { startHasher, type HasherService } from './service';

jest.setTimeout(120_000);

async function readAll<V>(transport: InProcessTransport, binding: { topic: string; valueSchema: object }): Promise<ConsumedMessage<V>[]> {
  const out: ConsumedMessage<V>[] = [];
  const reader = await transport.reader<V>({ binding: binding as never, handle: (m) => void out.push(m) });
  await reader.caughtUp();
  await reader.stop();
  return out;
}

function submission(contentId: string, media: Partial<ContentSubmitted['media']>): ContentSubmitted {
  return {
    eventId: `ev-${contentId}`,
    platformId: 'platform-t',
    contentId,
    uploaderAccountId: `u-${contentId}`,
    contentKind: 'IMAGE',
    media: { uri: null, inlineBytes: null, mimeType: null, sizeBytes: null, ...media },
    uploadContext: { uploadedAtMs: 1_700_000_000_000, ipAddress: '198.51.100.23', countryCode: 'NL', publiclyAvailable: false },
    channel: 'kafka',
    submittedAtMs: 1,
  };
}

const dlqTopic = `${topics.contentSubmitted.topic}.dlq`;

/** The value of one series in a Prometheus text exposition (0 when absent). */
function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('hasher service (in-process transport)', () => {
  let transport: InProcessTransport;
  let registry: Registry;
  let runtime: ServiceRuntime;
  let service: HasherService;
  let server: http.Server;
  let port: number;

  const start = async (env: Record<string, string> = {}): Promise<void> => {
    const config = hasherConfigSchema.parse({
      SAFEGUARD_TRANSPORT: 'in-process',
      LOG_LEVEL: 'silent',
      HASHER_POOL_SIZE: '1',
      HASHER_FILE_ROOTS: FIXTURES,
      HASHER_FETCH_ALLOW_CIDRS: '127.0.0.1/32',
      ...env,
    });
    runtime = await ServiceRuntime.start({ service: 'hasher', common: config.common, transport, registry, healthServer: false });
    service = await startHasher(config, runtime);
  };

  const deadLetters = () => (transport.broker.hasTopic(dlqTopic) ? transport.broker.read(dlqTopic, 0, 0, 10_000) : []);

  beforeEach(async () => {
    registry = createMetricsRegistry({ service: 'hasher', defaultMetrics: false });
    transport = createTransport({ kind: 'in-process', clientId: 'hasher', metricsRegistry: registry });
    server = http.createServer((req, res) => {
      const file = (req.url ?? '').slice(1);
      if (!fixtures().some((f) => f.file === file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(fixtureBytes(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await runtime?.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  it('hashes media from file://, http:// and inline bytes to the reference PDQ', async () => {
    await start();
    const all = fixtures();
    const producer = transport.producer();
    const input: ContentSubmitted[] = all.flatMap((f, i) => [
      submission(`file-${i}`, { uri: pathToFileURL(f.path).href }),
      submission(`http-${i}`, { uri: `http://127.0.0.1:${port}/${f.file}` }),
      submission(`inline-${i}`, { inlineBytes: fixtureBytes(f.file) }),
    ]);
    await producer.send(topics.contentSubmitted, input.map((value) => ({ value })));

    const out = await waitFor(
      async () => {
        const got = await readAll<ContentHashed>(transport, topics.contentHashed);
        return got.length >= input.length && got;
      },
      { timeoutMs: 60_000, description: `${input.length} content-hashed events` },
    );
    expect(out).toHaveLength(input.length);
    const byContent = new Map(out.map((m) => [m.value!.contentId, m]));
    all.forEach((f, i) => {
      for (const kind of ['file', 'http', 'inline']) {
        const m = byContent.get(`${kind}-${i}`)!;
        expect(m.key).toBe(`platform-t/${kind}-${i}`);
        const pdq = m.value!.hashes.find((h) => h.algorithm === 'pdq')!;
        expect([f.file, kind, pdq.value, pdq.quality]).toEqual([f.file, kind, f.pdq, f.quality]);
        expect(m.value!.hashes.map((h) => h.algorithm)).toEqual(['pdq', 'md5', 'sha1', 'sha256']);
        expect(m.value).toMatchObject({
          submittedEventId: `ev-${kind}-${i}`,
          uploaderAccountId: `u-${kind}-${i}`,
          mediaType: 'JPEG',
          sizeBytes: fixtureBytes(f.file).length,
          uploadContext: { ipAddress: '198.51.100.23', countryCode: 'NL' },
          hasherVersion: service.hasherVersion,
          mediaUri: kind === 'inline' ? null : expect.stringMatching(kind === 'file' ? /^file:\/\// : /^http:\/\//),
        });
      }
    });
    expect(service.hasherVersion).toMatch(/^safeguard-hasher\/\d+\.\d+\.\d+ sharp\/\S+ libvips\/\S+ jpeg\/(libjpeg\d+|sharp) pdq-exact$/);
    expect(deadLetters()).toEqual([]);
    const metrics = await runtime.registry.metrics();
    expect(metricValue(metrics, 'safeguard_hasher_fetch_seconds_count', { scheme: 'http' })).toBe(6);
    expect(metricValue(metrics, 'safeguard_hasher_fetch_seconds_count', { scheme: 'inline' })).toBe(6);
    expect(metricValue(metrics, 'safeguard_hasher_hash_seconds_count', { algorithm: 'pdq' })).toBe(18);
    expect(metricValue(metrics, 'safeguard_hasher_hash_seconds_count', { algorithm: 'crypto' })).toBe(18);
    expect(metricValue(metrics, 'safeguard_hasher_media_hashed_total', { media_type: 'jpeg' })).toBe(18);
    expect(metricValue(metrics, 'safeguard_hasher_pool_threads', {})).toBe(1);
  });

  it('publishes dihedral variants when configured', async () => {
    await start({ HASHER_DIHEDRAL: 'true' });
    await transport.producer().send(topics.contentSubmitted, [{ value: submission('d', { uri: pathToFileURL(`${FIXTURES}/q2821.jpg`).href }) }]);
    const [m] = await waitFor(async () => {
      const got = await readAll<ContentHashed>(transport, topics.contentHashed);
      return got.length > 0 && got;
    });
    expect(m!.value!.hashes.filter((h) => h.algorithm === 'pdq').map((h) => h.variant)).toEqual([null, 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1']);
  });

  it('dead-letters bad media and bad references with their codes and keeps hashing', async () => {
    await start({ HASHER_FETCH_MAX_REDIRECTS: '0' });
    const producer = transport.producer();
    const cases: Array<[ContentSubmitted, string]> = [
      [submission('corrupt', { inlineBytes: corruptJpeg() }), 'decode_failed'],
      [submission('truncated', { inlineBytes: truncatedJpeg() }), 'media_truncated'],
      [submission('bomb', { inlineBytes: pngBomb(40000) }), 'media_dimensions_exceeded'],
      [submission('text', { inlineBytes: textBytes() }), 'media_unsupported_type'],
      [submission('missing-file', { uri: pathToFileURL(`${FIXTURES}/nope.jpg`).href }), 'fetch_not_found'],
      [submission('outside', { uri: 'file:///etc/passwd' }), 'fetch_refused'],
      [submission('traversal', { uri: `file://${FIXTURES}/../../package.json` }), 'fetch_refused'],
      [submission('metadata', { uri: 'http://169.254.169.254/latest/meta-data/' }), 'fetch_refused'],
      [submission('private', { uri: 'http://10.0.0.8/a.jpg' }), 'fetch_refused'],
      [submission('http-404', { uri: `http://127.0.0.1:${port}/missing.jpg` }), 'fetch_not_found'],
      [submission('ftp', { uri: 'ftp://files.example/a.jpg' }), 'fetch_refused'],
      [submission('nothing', {}), 'media_reference_missing'],
    ];
    await producer.send(topics.contentSubmitted, [...cases.map(([value]) => ({ value })), { value: submission('good', { uri: pathToFileURL(`${FIXTURES}/q0746.jpg`).href }) }]);

    const dead = await waitFor(() => deadLetters().length >= cases.length && deadLetters(), { timeoutMs: 60_000, description: 'every bad submission dead-lettered' });
    const reasons = new Map(dead.map((r) => [r.key?.toString(), parseDeadLetterHeaders(r.headers)?.reason]));
    for (const [value, code] of cases) expect([value.contentId, reasons.get(`platform-t/${value.contentId}`)]).toEqual([value.contentId, code]);
    const hashed = await waitFor(async () => {
      const got = await readAll<ContentHashed>(transport, topics.contentHashed);
      return got.length > 0 && got;
    });
    expect(hashed.map((m) => m.value!.contentId)).toEqual(['good']);
    const metrics = await runtime.registry.metrics();
    expect(metricValue(metrics, 'safeguard_hasher_decode_failures_total', { reason: 'decode_failed' })).toBe(1);
    expect(metricValue(metrics, 'safeguard_hasher_decode_failures_total', { reason: 'media_dimensions_exceeded' })).toBe(1);
    expect(metricValue(metrics, 'safeguard_hasher_fetch_failures_total', { scheme: 'file', reason: 'fetch_refused' })).toBe(2);
    expect(metricValue(metrics, 'safeguard_hasher_fetch_failures_total', { scheme: 'http', reason: 'fetch_refused' })).toBe(2);
  });

  it('survives a stream of decompression bombs and truncated files', async () => {
    await start({ HASHER_POOL_SIZE: '2' });
    const hostile = [() => pngBomb(30000), () => pngBomb(65000), truncatedJpeg, corruptJpeg, textBytes, svgBytes, () => Buffer.alloc(0)];
    const input: ContentSubmitted[] = [];
    for (let i = 0; i < 140; i++) input.push(submission(`bad-${i}`, { inlineBytes: hostile[i % hostile.length]!() }));
    for (let i = 0; i < 10; i++) input.push(submission(`good-${i}`, { inlineBytes: fixtureBytes(fixtures()[i % 6]!.file) }));
    await transport.producer().send(topics.contentSubmitted, input.map((value) => ({ value })));

    await waitFor(() => deadLetters().length >= 140, { timeoutMs: 90_000, description: '140 dead letters' });
    const hashed = await waitFor(async () => {
      const got = await readAll<ContentHashed>(transport, topics.contentHashed);
      return got.length >= 10 && got;
    });
    expect(hashed.map((m) => m.value!.contentId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `good-${i}`).sort());
    const reasons = new Set(deadLetters().map((r) => parseDeadLetterHeaders(r.headers)?.reason));
    expect([...reasons].sort()).toEqual(['decode_failed', 'media_dimensions_exceeded', 'media_empty', 'media_truncated', 'media_unsupported_type']);
    expect(service.consumer.isRunning()).toBe(true);
    expect(service.pool.isOpen).toBe(true);
    const crashed = await Promise.race([service.crashed!.then(() => true), Promise.resolve(false)]);
    expect(crashed).toBe(false);
  });

  it('applies back-pressure: a full pool pauses partitions, and every message is still hashed once', async () => {
    await transport.admin().ensureTopics([{ topic: topics.contentSubmitted.topic, partitions: 6 }]);
    const input = Array.from({ length: 18 }, (_, i) => submission(`bp-${i}`, { uri: pathToFileURL(fixtures()[i % 6]!.path).href }));
    await transport.producer().send(topics.contentSubmitted, input.map((value) => ({ value })));
    await start({ HASHER_POOL_SIZE: '1', HASHER_POOL_MAX_QUEUE: '0', HASHER_CONCURRENCY: '4' });
    const out = await waitFor(
      async () => {
        const got = await readAll<ContentHashed>(transport, topics.contentHashed);
        return got.length >= 18 && got;
      },
      { timeoutMs: 60_000, description: '18 content-hashed events' },
    );
    expect(out.map((m) => m.value!.contentId).sort()).toEqual(input.map((s) => s.contentId).sort());
    const metrics = await runtime.registry.metrics();
    expect(metricValue(metrics, 'safeguard_messages_consumed_total', { topic: topics.contentSubmitted.topic, outcome: 'paused' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'safeguard_messages_consumed_total', { topic: topics.contentSubmitted.topic, outcome: 'ok' })).toBe(18);
    expect(deadLetters()).toEqual([]);
  });

  it('reports ready and shuts down in order: consumer, pool, fetchers, producer', async () => {
    await start();
    expect(service.consumer.isRunning()).toBe(true);
    const steps = (await runtime.stop()).map((r) => [r.name, r.ok]);
    expect(steps).toEqual([
      ['mark_unready', true],
      ['stop_consumer', true],
      ['close_hash_pool', true],
      ['close_fetchers', true],
      ['flush_producer', true],
      ['close_transport', true],
      ['close_health_server', true],
    ]);
    expect(service.pool.isOpen).toBe(false);
    expect(service.consumer.isRunning()).toBe(false);
  });
});
