import { readFileSync } from 'node:fs';
import { createTransport, InProcessBroker, parseDeadLetterHeaders, type ConsumedMessage, type InProcessTransport, type TopicBinding } from '@safeguard/kafka';
import { indicatorKey, topics, type ContentHashed, type IndicatorFeedback, type IndicatorUpdated } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { pdqVectorImage } from '@safeguard/testkit';
import { feedback, hashedEvent, indicator, MD5_EMPTY, PDQ_BRIDGE, PDQ_BRIDGE_SHARPENED, PDQ_C, PDQ_WEE, pdqHash } from '../test/fixtures';
import { matcherConfigSchema } from './config';
import { startMatcher, type MatcherHooks, type MatcherService } from './service';

jest.setTimeout(30_000);

const KEY = 'matcher-test-key-'.padEnd(32, 'k');

async function readAll<V>(transport: InProcessTransport, binding: TopicBinding<V>): Promise<ConsumedMessage<V>[]> {
  const out: ConsumedMessage<V>[] = [];
  const reader = await transport.reader({ binding, handle: (m) => void out.push(m) });
  await reader.caughtUp();
  await reader.stop();
  return out;
}

/** Polls `read` until `done` holds (the in-process broker signals every append). */
async function until<T>(broker: InProcessBroker, read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Promise.race([broker.changed(), new Promise((r) => setTimeout(r, 20))]);
  }
}

interface Replica {
  runtime: ServiceRuntime;
  transport: InProcessTransport;
  service: MatcherService;
}

describe('matcher service (in-process transport)', () => {
  let broker: InProcessBroker;
  let client: InProcessTransport;
  const replicas: ServiceRuntime[] = [];

  async function startReplica(env: Record<string, string> = {}, hooks: MatcherHooks = {}, healthServer = false): Promise<Replica> {
    const config = matcherConfigSchema.parse({ SAFEGUARD_TRANSPORT: 'in-process', LOG_LEVEL: 'silent', METRICS_PORT: '0', MATCHER_CHECK_API: 'false', ...env });
    const transport = createTransport({ kind: 'in-process', broker, clientId: 'matcher' });
    const runtime = await ServiceRuntime.start({ service: 'matcher', common: config.common, transport, healthServer });
    replicas.push(runtime);
    const service = await startMatcher(config, runtime, hooks);
    return { runtime, transport, service };
  }

  const putIndicators = (records: Array<{ key?: string; value: IndicatorUpdated | null }>) =>
    client.producer().send(
      topics.indicatorUpdated,
      records.map((r) => ({ key: r.key ?? indicatorKey(r.value!.bank.name, r.value!.entryId), value: r.value })),
    );
  const putHashed = (events: ContentHashed[]) => client.producer().send(topics.contentHashed, events.map((value) => ({ value })));
  const matchesOf = () => readAll(client, topics.contentMatched);

  beforeEach(async () => {
    broker = new InProcessBroker();
    client = createTransport({ kind: 'in-process', broker, clientId: 'test-client' });
    // The topics exist before the first replica starts, as on a cluster where the bank was imported first.
    await client.admin().ensureTopics([
      { topic: topics.indicatorUpdated.topic, partitions: 6, cleanupPolicy: 'compact' },
      { topic: topics.contentHashed.topic, partitions: 6 },
    ]);
  });

  afterEach(async () => {
    for (const r of replicas.splice(0)) await r.stop();
    await client.close();
  });

  it('publishes MatchFound with full provenance for a near duplicate, and nothing for misses and low quality', async () => {
    await putIndicators([
      { value: { ...indicator({ entryId: 'e-bridge', labels: ['a1'] }), bank: { name: 'eu-known', kind: 'BLOCK', source: 'eu_centre', listVersion: 'v7' } } },
      { value: indicator({ entryId: 'e-md5', algorithm: 'md5', hashValue: MD5_EMPTY }) },
    ]);
    await startReplica();
    await putHashed([
      hashedEvent('c-near', [pdqHash(PDQ_BRIDGE_SHARPENED, 90), { algorithm: 'md5', value: MD5_EMPTY, quality: null, variant: null, frameTimestampMs: null }]),
      hashedEvent('c-miss', [pdqHash(PDQ_C)]),
      hashedEvent('c-lowq', [pdqHash(PDQ_BRIDGE, 49)]),
      hashedEvent('c-after', [pdqHash(PDQ_BRIDGE, 50)]),
    ]);
    const out = await until(broker, matchesOf, (m) => m.length >= 2, 'two match events');
    expect(out.map((m) => m.value!.contentId).sort()).toEqual(['c-after', 'c-near']);
    const near = out.find((m) => m.value!.contentId === 'c-near')!;
    expect(near.key).toBe('platform-a/c-near');
    expect(near.value).toMatchObject({
      hashedEventId: 'he-c-near',
      platformId: 'platform-a',
      uploaderAccountId: 'u-1',
      mediaUri: 'https://cdn.example/c-near.jpg',
      decision: 'BLOCK',
      suppressedCount: 0,
    });
    expect(near.value!.matches).toEqual([
      {
        bank: { name: 'eu-known', kind: 'BLOCK', source: 'eu_centre', listVersion: 'v7' },
        entryId: 'e-bridge',
        entryLabels: ['a1'],
        algorithm: 'pdq',
        distance: 14,
        threshold: 31,
        queryHash: PDQ_BRIDGE_SHARPENED,
        queryQuality: 90,
        queryVariant: null,
        frameTimestampMs: null,
        entryHash: PDQ_BRIDGE,
      },
      {
        bank: { name: 'plat', kind: 'REVIEW', source: 'platform', listVersion: 'v1' },
        entryId: 'e-md5',
        entryLabels: [],
        algorithm: 'md5',
        distance: 0,
        threshold: 0,
        queryHash: MD5_EMPTY,
        queryQuality: null,
        queryVariant: null,
        frameTimestampMs: null,
        entryHash: MD5_EMPTY,
      },
    ]);
  });

  it('gives a redelivered event the same matchId and a different event another', async () => {
    await putIndicators([{ value: indicator({ entryId: 'e1' }) }]);
    await startReplica();
    const event = hashedEvent('c-1', [pdqHash(PDQ_BRIDGE)]);
    await putHashed([event, event, { ...event, eventId: 'he-other' }]);
    const out = await until(broker, matchesOf, (m) => m.length >= 3, 'three match events');
    const ids = out.map((m) => m.value!.matchId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('suppresses matches of an allow-listed hash and records the count; a remaining match still goes out', async () => {
    await putIndicators([
      { value: indicator({ entryId: 'b1', bankName: 'blocklist', kind: 'BLOCK' }) },
      { value: indicator({ entryId: 'b2', bankName: 'blocklist', kind: 'BLOCK', hashValue: PDQ_WEE }) },
      { value: indicator({ entryId: 'ok1', bankName: 'benign', kind: 'ALLOW' }) },
    ]);
    const { service } = await startReplica();
    await putHashed([hashedEvent('c-allowed', [pdqHash(PDQ_BRIDGE_SHARPENED)]), hashedEvent('c-mixed', [pdqHash(PDQ_BRIDGE), pdqHash(PDQ_WEE, 100, 'rot90')])]);
    const out = await until(broker, matchesOf, (m) => m.length >= 1, 'a match event');
    await until(broker, async () => (await client.admin().committedOffsets('matcher', topics.contentHashed.topic)).reduce((n, o) => n + Number(o.offset), 0), (n) => n >= 2, 'both events committed');
    expect(out.map((m) => m.value!.contentId)).toEqual(['c-mixed']);
    expect(out[0]!.value).toMatchObject({ decision: 'BLOCK', suppressedCount: 1 });
    expect(out[0]!.value!.matches.map((m) => [m.entryId, m.queryVariant])).toEqual([['b2', 'rot90']]);
    expect(service.index.banks.stats().map((s) => s.bank).sort()).toEqual(['benign', 'blocklist']);
    expect(await replicas[0]!.registry.metrics()).toMatch(/safeguard_matcher_suppressed_total\{reason="allow_list"[^}]*\} 2/);
  });

  it('applies updates incrementally: disable stops matching, enable resumes, a tombstone deletes', async () => {
    await putIndicators([{ value: indicator({ entryId: 'e1' }) }]);
    const { service } = await startReplica();
    const q = [{ algorithm: 'pdq', value: PDQ_BRIDGE, quality: 100, variant: null, frameTimestampMs: null }];
    expect(service.handler.matchHashes(q, 'check').details).toHaveLength(1);

    await putIndicators([{ value: indicator({ entryId: 'e1', status: 'DISABLED', updatedAtMs: 2_000 }) }]);
    await until(broker, async () => service.index.banks.getEntry('plat', 'e1')?.disabled, (d) => d === true, 'disable applied');
    expect(service.handler.matchHashes(q, 'check').details).toHaveLength(0);

    await putIndicators([{ value: indicator({ entryId: 'e1', status: 'ACTIVE', updatedAtMs: 3_000 }) }]);
    await until(broker, async () => service.index.banks.getEntry('plat', 'e1')?.disabled, (d) => d === false, 'enable applied');
    expect(service.handler.matchHashes(q, 'check').details).toHaveLength(1);

    await putIndicators([{ key: 'plat/e1', value: null }]);
    await until(broker, async () => service.index.banks.getEntry('plat', 'e1'), (e) => e === undefined, 'delete applied');
    expect(service.handler.matchHashes(q, 'check').details).toHaveLength(0);
  });

  it('quarantines a flooding entry on the compacted topic so every replica applies it', async () => {
    await putIndicators([{ value: indicator({ entryId: 'popular', kind: 'BLOCK', bankName: 'third-party' }) }]);
    const floodEnv = { MATCHER_FLOOD_MIN_COUNT: '3', MATCHER_FLOOD_RATIO: '1', MATCHER_FLOOD_WARMUP_MS: '0' };
    const a = await startReplica(floodEnv);
    const b = await startReplica(floodEnv);
    // One content id: one partition, so one replica sees every event and floods.
    const events = Array.from({ length: 5 }, (_, i) => hashedEvent('same', [pdqHash(PDQ_BRIDGE)], { eventId: `he-${i}` }));
    await putHashed(events);
    const updates = await until(
      broker,
      () => readAll(client, topics.indicatorUpdated),
      (u) => u.some((m) => m.value?.status === 'QUARANTINED'),
      'a quarantine update',
    );
    const q = updates.find((m) => m.value?.status === 'QUARANTINED')!;
    expect(q.key).toBe('third-party/popular');
    expect(q.value).toMatchObject({ entryId: 'popular', reason: 'flood_quarantine', updatedBy: 'matcher', hashValue: PDQ_BRIDGE, bank: { name: 'third-party', kind: 'BLOCK' } });
    for (const r of [a, b]) {
      await until(broker, async () => r.service.index.banks.getEntry('third-party', 'popular')?.quarantined, (v) => v === true, 'quarantine on every replica');
    }
    // Matches before the flood went out; the flooding one and later ones are suppressed.
    const out = await until(broker, matchesOf, (m) => m.length >= 2, 'the matches before the flood');
    expect(out).toHaveLength(2);
    const both = [a, b].map((r) => r.service.handler.matchHashes([pdqHash(PDQ_BRIDGE)], 'check'));
    for (const r of both) expect(r).toMatchObject({ details: [], suppressedCount: 1 });
  });

  it('turns a DOWN vote with disable_entry into a DISABLED entry, and only records allow-list proposals', async () => {
    await putIndicators([{ value: indicator({ entryId: 'fp1' }) }, { value: indicator({ entryId: 'fp2', hashValue: PDQ_C }) }, { value: indicator({ entryId: 'fp3', hashValue: PDQ_WEE }) }]);
    const { service } = await startReplica();
    const send = (f: IndicatorFeedback) => client.producer().send(topics.indicatorFeedback, [{ value: f }]);
    await send(feedback({ entryId: 'fp1', feedbackId: 'f-1' }));
    await send(feedback({ entryId: 'fp2', action: 'propose_allow_list', hashValue: PDQ_C }));
    await send(feedback({ entryId: 'fp3', hashValue: PDQ_BRIDGE })); // the entry's hash changed since: not disabled
    await send(feedback({ entryId: 'fp3', vote: 'UP', action: null, hashValue: PDQ_WEE }));
    await until(broker, async () => service.index.banks.getEntry('plat', 'fp1')?.disabled, (d) => d === true, 'fp1 disabled');
    await until(
      broker,
      async () => (await client.admin().committedOffsets('matcher', topics.indicatorFeedback.topic)).reduce((n, o) => n + Number(o.offset), 0),
      (n) => n >= 4,
      'all feedback handled',
    );
    const updates = (await readAll(client, topics.indicatorUpdated)).filter((m) => m.value?.status === 'DISABLED');
    expect(updates.map((m) => [m.key, m.value!.reason, m.value!.updatedBy])).toEqual([['plat/fp1', 'false_positive', 'feedback:f-1']]);
    expect(service.index.banks.getEntry('plat', 'fp2')?.disabled).toBe(false);
    expect(service.index.banks.getEntry('plat', 'fp3')?.disabled).toBe(false);
    const text = await replicas[0]!.registry.metrics();
    expect(text).toMatch(/safeguard_matcher_feedback_total\{vote="down",action="disable_entry",outcome="disabled"[^}]*\} 1/);
    expect(text).toMatch(/safeguard_matcher_feedback_total\{vote="down",action="propose_allow_list",outcome="proposal_recorded"[^}]*\} 1/);
    expect(text).toMatch(/safeguard_matcher_feedback_total\{vote="down",action="disable_entry",outcome="entry_changed"[^}]*\} 1/);
    expect(text).toMatch(/safeguard_matcher_feedback_total\{vote="up",action="none",outcome="recorded"[^}]*\} 1/);
  });

  it('is not ready and matches nothing until the index has read the topic to its end', async () => {
    await putIndicators(Array.from({ length: 20 }, (_, i) => ({ value: indicator({ entryId: `e${i}`, hashValue: i === 19 ? PDQ_BRIDGE : PDQ_C }) })));
    await putHashed([hashedEvent('early', [pdqHash(PDQ_BRIDGE)])]);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let applied = 0;
    const hooks: MatcherHooks = {
      beforeIndexRecord: async () => {
        if (++applied > 5) await gate;
      },
    };
    const config = matcherConfigSchema.parse({ SAFEGUARD_TRANSPORT: 'in-process', LOG_LEVEL: 'silent', METRICS_PORT: '0', MATCHER_CHECK_API: 'false' });
    const transport = createTransport({ kind: 'in-process', broker, clientId: 'matcher' });
    const runtime = await ServiceRuntime.start({ service: 'matcher', common: config.common, transport });
    replicas.push(runtime);
    const starting = startMatcher(config, runtime, hooks);
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${runtime.health!.port}/readyz`);
      return { status: res.status, body: (await res.json()) as { failing: string[] } };
    };
    await until(broker, async () => applied, (n) => n > 5, 'the load to start');
    expect(await readyz()).toEqual({ status: 503, body: expect.objectContaining({ failing: ['index_loaded', 'consumer_joined'] }) });
    expect(await runtime.registry.metrics()).toMatch(/safeguard_matcher_index_ready[^\n]* 0\n/);
    expect(await matchesOf()).toEqual([]);
    release();
    const service = await starting;
    expect(service.isReady()).toBe(true);
    expect((await readyz()).status).toBe(200);
    // The event that waited was matched against the complete index (its entry was the last record).
    const out = await until(broker, matchesOf, (m) => m.length >= 1, 'the early event matched');
    expect(out[0]!.value!.matches.map((m) => m.entryId)).toEqual(['e19']);
    const text = await runtime.registry.metrics();
    expect(text).toMatch(/safeguard_matcher_index_entries\{algorithm="pdq",bank="plat"[^}]*\} 20/);
    expect(text).toMatch(/safeguard_matcher_index_ready[^\n]* 1\n/);
  });

  it('dead-letters a ContentHashed with a malformed PDQ with its reason and keeps matching', async () => {
    await putIndicators([{ value: indicator({ entryId: 'e1' }) }]);
    await startReplica();
    await putHashed([hashedEvent('bad', [pdqHash('zz'.repeat(32))]), hashedEvent('short', [pdqHash('abc')]), hashedEvent('good', [pdqHash(PDQ_BRIDGE)])]);
    const dlqTopic = `${topics.contentHashed.topic}.dlq`;
    const dlq = await until(broker, async () => (broker.hasTopic(dlqTopic) ? broker.read(dlqTopic, 0, 0, 10) : []), (d) => d.length >= 2, 'two dead letters');
    expect(dlq.map((r) => parseDeadLetterHeaders(r.headers)?.reason).sort()).toEqual(['hash_charset_invalid', 'hash_length_invalid']);
    const out = await until(broker, matchesOf, (m) => m.length >= 1, 'the good event matched');
    expect(out.map((m) => m.value!.contentId)).toEqual(['good']);
  });

  it('answers POST /v1/check with the decision, provenance, hashes and timings (real hashing pool)', async () => {
    await putIndicators([{ value: { ...indicator({ entryId: 'bridge', labels: ['l1'] }), bank: { name: 'eu-known', kind: 'BLOCK', source: 'eu_centre', listVersion: 'v2' } } }]);
    const { service } = await startReplica({ MATCHER_CHECK_API: 'true', MATCHER_HTTP_PORT: '0', MATCHER_API_KEYS: `platform-a:${KEY}`, MATCHER_CHECK_THREADS: '1' });
    const image = readFileSync(pdqVectorImage('bridge-mods/sharpen-a-lot.jpg'));
    const res = await fetch(`http://127.0.0.1:${service.httpPort}/v1/check`, { method: 'POST', headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${KEY}` }, body: image });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      decision: 'block',
      matches: [
        {
          bank: { name: 'eu-known', kind: 'block', source: 'eu_centre', listVersion: 'v2' },
          entryId: 'bridge',
          labels: ['l1'],
          entryHash: PDQ_BRIDGE,
          algorithm: 'pdq',
          distance: 14,
          threshold: 31,
          queryHash: PDQ_BRIDGE_SHARPENED,
          queryQuality: 100,
          queryVariant: null,
        },
      ],
      suppressedCount: 0,
      hashes: { pdq: PDQ_BRIDGE_SHARPENED, pdqQuality: 100 },
      media: { format: 'jpeg', sizeBytes: image.length },
    });
    expect((body.timings as { totalMs: number }).totalMs).toBeGreaterThan(0);
    const unrelated = readFileSync(pdqVectorImage('misc-images/wee.jpg'));
    const miss = await fetch(`http://127.0.0.1:${service.httpPort}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${KEY}` }, body: unrelated });
    expect(await miss.json()).toMatchObject({ decision: 'none', matches: [] });
  });
});
