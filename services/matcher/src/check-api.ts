import { performance } from 'node:perf_hooks';
import { PDQ_DIHEDRAL_NAMES } from '@safeguard/domain/pdq';
import type { MatchDetail as LibraryMatch } from '@safeguard/domain/matching';
import type { Logger } from '@safeguard/observability';
import type { HashValue } from '@safeguard/schemas';
import { bearerToken, lookupApiKey } from '@safeguard/service-runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CheckExecutor, CheckSlot } from './check-pool';
import type { MatchHandler } from './handler';
import { closestPerEntry } from './match-found';
import type { MatcherMetrics } from './metrics';
import type { CheckHashes } from './workers/check-hash.worker';

/** Options of {@link buildCheckApi}. */
export interface CheckApiOptions {
  handler: MatchHandler;
  pool: CheckExecutor;
  /** sha256(key) hex → platform id. */
  apiKeys: ReadonlyMap<string, string>;
  /** Largest request body, bytes. */
  maxBytes: number;
  metrics: MatcherMetrics;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** False while starting, loading the index, or shutting down: requests get 503. */
  isAccepting: () => boolean;
}

/** One match in a check answer (lowercase kinds, like the decision). */
export interface CheckMatch {
  bank: { name: string; kind: string; source: string; listVersion: string };
  entryId: string;
  labels: string[];
  /** The entry's own hash, lowercase hex. */
  entryHash: string;
  /** `pdq`, `md5`, `sha1` or `sha256`. */
  algorithm: string;
  distance: number;
  threshold: number;
  /** The upload's hash that matched. */
  queryHash: string;
  queryQuality: number | null;
  /** Dihedral variant of the upload's PDQ that matched; null for the image as stored. */
  queryVariant: string | null;
}

/** Body of a `200` answer of `POST /v1/check`. */
export interface CheckResponse {
  /** `block` (a block-bank entry matched), `review`, `allow` (only allow-list entries matched) or `none`. */
  decision: 'block' | 'review' | 'allow' | 'none';
  /** One per matched entry (its closest hash); allow-listed and quarantined matches are not here. */
  matches: CheckMatch[];
  /** Entries whose matches were suppressed (allow-listed or quarantined). */
  suppressedCount: number;
  /** Why some hashes were not looked up (e.g. `low_quality`: PDQ quality under the minimum). */
  skipped: string[];
  hashes: { pdq: string; pdqQuality: number; md5: string; sha1: string; sha256: string; dihedral?: Record<string, string> };
  media: { format: string; width: number; height: number; sizeBytes: number };
  /** `hashMs`: waiting for and running on a worker; `workerMs`: on the worker; `matchMs`; `totalMs`: request received → answer. */
  timings: { hashMs: number; workerMs: number; matchMs: number; totalMs: number };
}

declare module 'fastify' {
  interface FastifyRequest {
    checkSlot?: CheckSlot;
    checkStartedAt?: number;
  }
}

function errorBody(code: string, message: string): Record<string, unknown> {
  return { error: { code, message } };
}

/** The content hashes of an image, in the hasher's order: PDQ, its non-identity variants, MD5, SHA-1, SHA-256. */
export function hashValuesOfCheck(h: CheckHashes): HashValue[] {
  const out: HashValue[] = [{ algorithm: 'pdq', value: h.pdq, quality: h.quality, variant: null, frameTimestampMs: null }];
  h.dihedral?.forEach((value, i) => {
    if (i > 0) out.push({ algorithm: 'pdq', value, quality: h.quality, variant: PDQ_DIHEDRAL_NAMES[i] ?? null, frameTimestampMs: null });
  });
  for (const algorithm of ['md5', 'sha1', 'sha256'] as const) out.push({ algorithm, value: h[algorithm], quality: null, variant: null, frameTimestampMs: null });
  return out;
}

function checkMatchOf(m: LibraryMatch, source: HashValue): CheckMatch {
  return {
    bank: { name: m.bank, kind: m.kind, source: m.source, listVersion: m.listVersion },
    entryId: m.entryId,
    labels: [...m.labels],
    entryHash: m.entryHash,
    algorithm: m.algorithm,
    distance: m.distance,
    threshold: m.threshold,
    queryHash: m.queryHash,
    queryQuality: source.quality,
    queryVariant: source.variant,
  };
}

const STATUS_OF_REFUSAL: Readonly<Record<string, number>> = { media_too_large: 413, media_unsupported_type: 415 };
const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * The synchronous check API, for blocking an upload before it is published:
 * `POST /v1/check` with the image bytes as the body (`application/octet-stream` or `image/*`)
 * and `Authorization: Bearer <api key>`. The image is hashed on a worker thread (PDQ, MD5,
 * SHA-1, SHA-256; dihedral variants when configured) and matched against this replica's live
 * index. Answers 200 {@link CheckResponse}; 400/413/415 with `{error:{code,message}}` for refused
 * media; 401 without a valid key; 503 with Retry-After while the index loads, at capacity or
 * shutting down. Nothing of the image is logged or kept.
 */
export function buildCheckApi(options: CheckApiOptions): FastifyInstance {
  const { handler, metrics, pool } = options;
  const app = Fastify({ logger: false, bodyLimit: options.maxBytes, return503OnClosing: true });
  app.removeAllContentTypeParsers();
  const rawBody = (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => done(null, body);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: options.maxBytes }, rawBody);
  app.addContentTypeParser(/^image\/[A-Za-z0-9.+-]+$/, { parseAs: 'buffer', bodyLimit: options.maxBytes }, rawBody);

  const refuse = (reply: FastifyReply, status: number, outcome: string, code: string, message: string): FastifyReply => {
    metrics.checkRequests.inc({ outcome });
    if (status === 503) void reply.header('retry-after', '1');
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.code(status).send(errorBody(code, message));
  };
  const release = (request: FastifyRequest): void => {
    request.checkSlot?.release();
    request.checkSlot = undefined;
    metrics.checkInFlight.set(pool.inFlight);
  };

  app.addHook('onRequest', async (request, reply) => {
    request.checkStartedAt = performance.now();
    if (request.url.split('?')[0] !== '/v1/check') return undefined;
    if (!options.isAccepting()) return refuse(reply, 503, 'not_ready', 'not_ready', 'the index is loading or the service is shutting down');
    if (lookupApiKey(options.apiKeys, bearerToken(request.headers.authorization)) === undefined) return refuse(reply, 401, 'unauthorized', 'unauthorized', 'a valid API key is required');
    // Admission before the body is read: memory is bounded by capacity × maxBytes.
    const slot = pool.reserve();
    if (!slot) return refuse(reply, 503, 'at_capacity', 'at_capacity', 'too many checks in progress; retry shortly');
    request.checkSlot = slot;
    metrics.checkInFlight.set(pool.inFlight);
    return undefined;
  });
  app.addHook('onResponse', async (request) => release(request));
  app.addHook('onRequestAbort', async (request) => release(request));

  app.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
    release(request);
    const code = error.code ?? '';
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(reply, 413, 'rejected', 'body_too_large', `the image exceeds ${options.maxBytes} bytes`);
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return refuse(reply, 415, 'rejected', 'unsupported_media_type', 'send the image bytes as application/octet-stream or image/*');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return refuse(reply, error.statusCode, 'rejected', 'invalid_request', 'the request was not understood');
    options.logger.error({ code: code || 'unexpected_error', err: error }, 'check failed');
    return refuse(reply, 503, 'error', 'unavailable', 'the check failed; retry later');
  });

  app.post('/v1/check', async (request, reply) => {
    const body = request.body;
    const slot = request.checkSlot;
    if (!Buffer.isBuffer(body) || !slot) return refuse(reply, 415, 'rejected', 'unsupported_media_type', 'send the image bytes as application/octet-stream or image/*');
    const sizeBytes = body.length;
    if (sizeBytes === 0) return refuse(reply, 400, 'rejected', 'media_empty', 'the request body is empty');
    const hashStarted = performance.now();
    const hashed = await slot.hash(body);
    const hashMs = performance.now() - hashStarted;
    release(request);
    metrics.checkSeconds.observe({ phase: 'hash' }, hashMs / 1000);
    if (!hashed.ok) return refuse(reply, STATUS_OF_REFUSAL[hashed.code] ?? 400, 'rejected', hashed.code, hashed.message);

    const hashes = hashValuesOfCheck(hashed.hashes);
    const result = handler.matchHashes(hashes, 'check');
    // Flood quarantines found by this check are published in the background (retried on the next tick).
    if (handler.pendingUpdates > 0) handler.flushPending().catch((err: unknown) => options.logger.warn({ err }, 'quarantine publication failed; will retry'));
    metrics.checkSeconds.observe({ phase: 'match' }, result.matchSeconds);
    const h = hashed.hashes;
    const totalMs = performance.now() - (request.checkStartedAt ?? hashStarted);
    metrics.checkSeconds.observe({ phase: 'total' }, totalMs / 1000);
    metrics.checkRequests.inc({ outcome: 'ok' });
    const answer: CheckResponse = {
      decision: result.result.decision,
      matches: closestPerEntry(result.result.matches).map((m) => checkMatchOf(m, result.sources[m.queryIndex]!)),
      suppressedCount: result.suppressedCount,
      skipped: [...new Set(result.result.skipped.map((s) => s.reason))],
      hashes: {
        pdq: h.pdq,
        pdqQuality: h.quality,
        md5: h.md5,
        sha1: h.sha1,
        sha256: h.sha256,
        ...(h.dihedral ? { dihedral: Object.fromEntries(h.dihedral.map((v, i) => [PDQ_DIHEDRAL_NAMES[i] ?? String(i), v])) } : {}),
      },
      media: { format: h.format, width: h.width, height: h.height, sizeBytes },
      timings: { hashMs: round(hashMs), workerMs: round(hashed.workerMs), matchMs: round(result.matchSeconds * 1000), totalMs: round(totalMs) },
    };
    return reply.code(200).send(answer);
  });

  return app;
}
