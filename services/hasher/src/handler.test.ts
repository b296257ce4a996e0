import { CapacityError, InvalidInputError, TransientError } from '@safeguard/domain';
import type { MediaHashOutcome } from '@safeguard/hashing';
import { Registry } from '@safeguard/observability';
import type { ContentHashed, ContentSubmitted } from '@safeguard/schemas';
import { FetchRefusedError } from './fetch/errors';
import type { FetchedMedia } from './fetch/media-fetcher';
import { HasherHandler } from './handler';
import type { HashExecutor, PoolSlot } from './hash-pool';
import { createHasherMetrics, type HasherMetrics } from './metrics';
import type { HashTaskResult } from './workers/hash.worker';

const submitted: ContentSubmitted = {
  eventId: 'e-1',
  platformId: 'p',
  contentId: 'c',
  uploaderAccountId: null,
  contentKind: 'IMAGE',
  media: { uri: 'file:///media/c.jpg', inlineBytes: null, mimeType: null, sizeBytes: null },
  uploadContext: null,
  channel: 'kafka',
  submittedAtMs: 1,
};

const imageOutcome: MediaHashOutcome = {
  ok: true,
  result: { kind: 'image', format: 'jpeg', width: 10, height: 20, mode: 'exact', pdq: 'f'.repeat(64), quality: 90, md5: '1'.repeat(32), sha1: '2'.repeat(40), sha256: '3'.repeat(64) },
};

/** A pool double with `capacity` slots whose tasks return `result` (or throw it). */
class FakePool implements HashExecutor {
  inFlight = 0;
  handed: Array<{ length: number; owned: boolean }> = [];
  constructor(
    private readonly capacity: number,
    private readonly result: HashTaskResult | Error,
  ) {}
  reserve(): PoolSlot | undefined {
    if (this.inFlight >= this.capacity) return undefined;
    this.inFlight++;
    let released = false;
    return {
      hash: async (bytes, owned) => {
        this.handed.push({ length: bytes.length, owned });
        if (this.result instanceof Error) throw this.result;
        return this.result;
      },
      release: () => {
        if (!released) this.inFlight--;
        released = true;
      },
    };
  }
}

async function value(metric: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number; metricName?: string }> }> }, labels: Record<string, string>, suffix = ''): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => (suffix ? v.metricName?.endsWith(suffix) : true) && Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((s, v) => s + v.value, 0);
}

describe('HasherHandler', () => {
  let metrics: HasherMetrics;
  let published: ContentHashed[];
  let fetchCalls: number;

  beforeEach(() => {
    metrics = createHasherMetrics(new Registry(), () => undefined);
    published = [];
    fetchCalls = 0;
  });

  function handler(pool: HashExecutor, fetchMedia?: () => Promise<FetchedMedia>, onCapacityRefused?: () => void): HasherHandler {
    return new HasherHandler({
      fetchMedia:
        fetchMedia ??
        (async () => {
          fetchCalls++;
          return { bytes: Buffer.from('some image bytes'), source: 'file', owned: true };
        }),
      pool,
      publish: async (e) => void published.push(e),
      hasherVersion: 'test/1',
      metrics,
      onCapacityRefused,
      now: () => 42,
    });
  }

  it('fetches, hashes, publishes and counts', async () => {
    const pool = new FakePool(1, { outcome: imageOutcome, timings: { pdq: 0.02, crypto: 0.001 }, busySeconds: 0.021 });
    const event = await handler(pool).handle(submitted);
    expect(published).toEqual([event]);
    expect(event).toMatchObject({ submittedEventId: 'e-1', sizeBytes: 16, width: 10, height: 20, mediaType: 'JPEG', hasherVersion: 'test/1', hashedAtMs: 42, mediaUri: 'file:///media/c.jpg' });
    expect(event.hashes.map((h) => h.algorithm)).toEqual(['pdq', 'md5', 'sha1', 'sha256']);
    expect(pool.handed).toEqual([{ length: 16, owned: true }]);
    expect(pool.inFlight).toBe(0);
    expect(await value(metrics.hashSeconds, { algorithm: 'pdq' }, '_count')).toBe(1);
    expect(await value(metrics.hashSeconds, { algorithm: 'crypto' }, '_count')).toBe(1);
    expect(await value(metrics.hashSeconds, { algorithm: 'video' }, '_count')).toBe(0);
    expect(await value(metrics.fetchSeconds, { scheme: 'file' }, '_count')).toBe(1);
    expect(await value(metrics.fetchFailures, { scheme: 'file', reason: 'fetch_not_found' })).toBe(0);
    expect(await value(metrics.inputBytes, { source: 'file' }, '_sum')).toBe(16);
    expect(await value(metrics.hashed, { media_type: 'jpeg' })).toBe(1);
    expect(await value(metrics.poolBusySeconds, {})).toBeCloseTo(0.021);
  });

  it('refuses with a capacity error before fetching when no slot is free', async () => {
    const pool = new FakePool(0, new Error('unused'));
    const refused = jest.fn();
    const err = await handler(pool, undefined, refused).handle(submitted).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect((err as CapacityError).code).toBe('hash_pool_full');
    expect(fetchCalls).toBe(0);
    expect(refused).toHaveBeenCalledTimes(1);
  });

  it('passes fetch errors on, counted by scheme and reason, and frees the slot', async () => {
    const pool = new FakePool(1, new Error('unused'));
    const h = handler(pool, async () => {
      throw new FetchRefusedError('fetch_not_found', 'HTTP 404');
    });
    const err = await h.handle({ ...submitted, media: { ...submitted.media, uri: 'https://cdn.example/x.jpg' } }).catch((e: unknown) => e);
    expect((err as FetchRefusedError).code).toBe('fetch_not_found');
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(pool.inFlight).toBe(0);
    expect(await value(metrics.fetchSeconds, { scheme: 'https' }, '_count')).toBe(1);
    expect(await value(metrics.fetchFailures, { scheme: 'https', reason: 'fetch_not_found' })).toBe(1);
  });

  it('turns a media refusal into InvalidInputError with the library code', async () => {
    const refusal: MediaHashOutcome = { ok: false, error: { code: 'media_truncated', message: 'image data ends early (truncated)', retriable: false } };
    const pool = new FakePool(1, { outcome: refusal, timings: {}, busySeconds: 0.001 });
    const err = await handler(pool).handle(submitted).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('media_truncated');
    expect(published).toEqual([]);
    expect(await value(metrics.decodeFailures, { reason: 'media_truncated' })).toBe(1);
  });

  it('dead-letters a missing ffmpeg without calling it the input’s fault, and retries retriable refusals', async () => {
    const tool: MediaHashOutcome = { ok: false, error: { code: 'video_tool_unavailable', message: 'ffmpeg missing', retriable: false } };
    const err = await handler(new FakePool(1, { outcome: tool, timings: {}, busySeconds: 0 })).handle(submitted).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: 'video_tool_unavailable', retriable: false });
    const flaky: MediaHashOutcome = { ok: false, error: { code: 'some_retriable', message: 'later', retriable: true } };
    const err2 = await handler(new FakePool(1, { outcome: flaky, timings: {}, busySeconds: 0 })).handle(submitted).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(TransientError);
  });

  it('retries when the worker itself fails, and frees the slot', async () => {
    const pool = new FakePool(1, new Error('worker exited'));
    const err = await handler(pool).handle(submitted).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).code).toBe('hash_worker_failed');
    expect(pool.inFlight).toBe(0);
  });
});
