import type { FastifyInstance } from 'fastify';
import { createMetricsRegistry } from '@safeguard/observability';
import { cpuLimit, hashApiKey } from '@safeguard/service-runtime';
import { indicator, MD5_EMPTY, PDQ_BRIDGE } from '../test/fixtures';
import { buildCheckApi } from './check-api';
import type { CheckExecutor, CheckSlot } from './check-pool';
import { matcherConfigSchema } from './config';
import { MatchHandler } from './handler';
import { IndicatorIndex } from './indicator-index';
import { createMatcherMetrics } from './metrics';
import type { CheckHashResult } from './workers/check-hash.worker';

const KEY = 'check-api-key-'.padEnd(40, 'z');
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A pool whose worker answers with a fixed result; capacity is configurable. */
class FakePool implements CheckExecutor {
  admitted = 0;
  hashed: number[] = [];
  constructor(private readonly capacity: number, private readonly result: CheckHashResult) {}
  get inFlight(): number {
    return this.admitted;
  }
  reserve(): CheckSlot | undefined {
    if (this.admitted >= this.capacity) return undefined;
    this.admitted++;
    let released = false;
    return {
      hash: async (bytes) => {
        this.hashed.push(bytes.length);
        return this.result;
      },
      release: () => {
        if (!released) this.admitted--;
        released = true;
      },
    };
  }
}

const HASHES: CheckHashResult = {
  ok: true,
  workerMs: 3,
  hashes: { pdq: PDQ_BRIDGE, quality: 100, md5: MD5_EMPTY, sha1: 'a'.repeat(40), sha256: 'b'.repeat(64), format: 'jpeg', width: 10, height: 20 },
};

describe('check API', () => {
  let app: FastifyInstance;
  let pool: FakePool;
  let accepting: boolean;

  async function build(result: CheckHashResult = HASHES, capacity = 2): Promise<void> {
    const metrics = createMatcherMetrics(createMetricsRegistry({ service: 'matcher' }));
    const index = new IndicatorIndex({ minPdqQuality: 50, flood: { enabled: false, windowMs: 1, minCount: 1, ratio: 1, warmupMs: 0 }, metrics });
    index.apply({ key: 'blk/e1', value: indicator({ entryId: 'e1', bankName: 'blk', kind: 'BLOCK' }), partition: 0, offset: '0', timestampMs: 0 });
    index.apply({ key: 'rev/m1', value: indicator({ entryId: 'm1', bankName: 'rev', algorithm: 'md5', hashValue: MD5_EMPTY }), partition: 0, offset: '1', timestampMs: 0 });
    const handler = new MatchHandler({ index, metrics, logger: silent, publishMatch: async () => undefined, publishIndicator: async () => undefined });
    pool = new FakePool(capacity, result);
    accepting = true;
    app = buildCheckApi({ handler, pool, apiKeys: new Map([[hashApiKey(KEY), 'platform-a']]), maxBytes: 1024, metrics, logger: silent, isAccepting: () => accepting });
    await app.listen({ port: 0, host: '127.0.0.1' });
  }

  afterEach(async () => {
    await app.close();
  });

  /** POSTs to the listening API (jest cannot load light-my-request's ESM dependency, so no inject). */
  async function check(body: Buffer | string, headers: Record<string, string> = {}) {
    const { port } = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${KEY}`, ...headers },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    const text = await res.text();
    return { statusCode: res.status, headers: Object.fromEntries(res.headers.entries()), json: () => JSON.parse(text) };
  }

  it('answers the strongest decision with one match per entry and frees the slot', async () => {
    await build();
    const res = await check(Buffer.from('jpeg bytes'));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.decision).toBe('block');
    expect(body.matches.map((m: { entryId: string; bank: { kind: string } }) => [m.entryId, m.bank.kind])).toEqual([
      ['e1', 'block'],
      ['m1', 'review'],
    ]);
    expect(body.hashes).toMatchObject({ pdq: PDQ_BRIDGE, pdqQuality: 100, md5: MD5_EMPTY });
    expect(body.media).toEqual({ format: 'jpeg', width: 10, height: 20, sizeBytes: 10 });
    expect(Object.keys(body.timings).sort()).toEqual(['hashMs', 'matchMs', 'totalMs', 'workerMs']);
    expect(pool.admitted).toBe(0);
  });

  it('refuses without a valid key, with the wrong type, an empty or too large body, before reading it', async () => {
    await build();
    expect((await check('x', { authorization: 'Bearer nope' })).statusCode).toBe(401);
    expect((await check('x', { authorization: '' })).statusCode).toBe(401);
    const json = await check('{}', { 'content-type': 'application/json' });
    expect([json.statusCode, json.json().error.code]).toEqual([415, 'unsupported_media_type']);
    const empty = await check(Buffer.alloc(0), { 'content-type': 'application/octet-stream' });
    expect([empty.statusCode, empty.json().error.code]).toEqual([400, 'media_empty']);
    const big = await check(Buffer.alloc(2048));
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'body_too_large']);
    expect(pool.hashed).toEqual([]);
    expect(pool.admitted).toBe(0);
  });

  it('passes refusals of the decoder through with their code', async () => {
    await build({ ok: false, code: 'media_unsupported_type', message: 'not an image', workerMs: 1 });
    const res = await check(Buffer.from('%PDF-1.7'));
    expect([res.statusCode, res.json().error.code]).toEqual([415, 'media_unsupported_type']);
    await app.close();
    await build({ ok: false, code: 'media_truncated', message: 'cut', workerMs: 1 });
    expect((await check(Buffer.from('x'))).json()).toEqual({ error: { code: 'media_truncated', message: 'cut' } });
  });

  it('answers 503 with Retry-After while not accepting and when at capacity', async () => {
    await build(HASHES, 1);
    accepting = false;
    const loading = await check('x');
    expect([loading.statusCode, loading.headers['retry-after'], loading.json().error.code]).toEqual([503, '1', 'not_ready']);
    accepting = true;
    const held = pool.reserve()!;
    const busy = await check('x');
    expect([busy.statusCode, busy.headers['retry-after'], busy.json().error.code]).toEqual([503, '1', 'at_capacity']);
    held.release();
    expect((await check('x')).statusCode).toBe(200);
  });
});

describe('matcher config', () => {
  it('requires API keys while the check API is on, and none when it is off', () => {
    const base = { SAFEGUARD_TRANSPORT: 'in-process' };
    const r = matcherConfigSchema.safeParse(base);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain('MATCHER_API_KEYS');
    expect(matcherConfigSchema.safeParse({ ...base, MATCHER_API_KEYS: 'p1:short' }).success).toBe(false);
    const ok = matcherConfigSchema.parse({ ...base, MATCHER_API_KEYS: `p1:${KEY}` });
    expect([...ok.check.apiKeys.entries()]).toEqual([[hashApiKey(KEY), 'p1']]);
    expect(ok).toMatchObject({ minPdqQuality: 50, concurrency: 6, flood: { enabled: true, minCount: 50, ratio: 20 }, check: { maxBytes: 16 * 1024 * 1024, dihedral: false } });
    expect(matcherConfigSchema.parse({ ...base, MATCHER_CHECK_API: 'false' }).check.enabled).toBe(false);
  });

  it('derives the thread count from the cgroup quota, capped by the cores', () => {
    expect(cpuLimit(() => '150000 100000\n', 8)).toBe(2);
    expect(cpuLimit(() => 'max 100000', 4)).toBe(4);
    expect(cpuLimit(() => undefined, 3)).toBe(3);
    expect(cpuLimit(() => '800000 100000', 2)).toBe(2);
  });
});
