import { CapacityError, InvalidInputError, SafeguardError, TransientError, isSafeguardError } from '@safeguard/domain';
import type { ContentHashed, ContentSubmitted, MediaReference } from '@safeguard/schemas';
import { contentHashedOf, mediaTypeOf } from './content-hashed';
import type { FetchedMedia, MediaSource } from './fetch/media-fetcher';
import { mediaSourceOf } from './fetch/media-fetcher';
import type { HashExecutor } from './hash-pool';
import type { HasherMetrics } from './metrics';

/** What the handler needs; no Kafka types, so tests and both transports share it. */
export interface HasherDependencies {
  /** Turns a media reference into bytes; throws FetchRefusedError / FetchTransientError. */
  fetchMedia: (media: MediaReference) => Promise<FetchedMedia>;
  /** The worker pool (slots bound admission). */
  pool: HashExecutor;
  /** Publishes the result; resolves once the broker acknowledged it. */
  publish: (event: ContentHashed) => Promise<void>;
  /** Published as `hasherVersion`. */
  hasherVersion: string;
  metrics: HasherMetrics;
  /** Called when a message was refused for lack of capacity (the service resumes the consumer once a slot frees). */
  onCapacityRefused?: () => void;
  /** Clock, epoch ms. */
  now?: () => number;
}

/**
 * One content-submitted event in, one content-hashed event out. Refused media and references
 * throw `InvalidInputError` subclasses with the library's or the fetcher's code (dead letter
 * now); storage hiccups throw `TransientError` (retried); a full pool throws `CapacityError`
 * before anything is fetched (the partition pauses and the message comes again). Idempotent:
 * the same submission yields the same event id.
 */
export class HasherHandler {
  private readonly now: () => number;

  constructor(private readonly deps: HasherDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /** Handles one submission; resolves with the published event once it is acknowledged. */
  async handle(submitted: ContentSubmitted): Promise<ContentHashed> {
    const { metrics } = this.deps;
    const slot = this.deps.pool.reserve();
    if (!slot) {
      this.deps.onCapacityRefused?.();
      throw new CapacityError('hash_pool_full', 'every hashing slot is taken');
    }
    let sizeBytes: number;
    let task;
    try {
      const fetched = await this.fetch(submitted.media);
      sizeBytes = fetched.bytes.length;
      metrics.inputBytes.observe({ source: fetched.source }, sizeBytes);
      try {
        task = await slot.hash(fetched.bytes, fetched.owned);
      } catch (err) {
        // A worker that died (out of memory in a decoder) or threw: Piscina replaces it; the
        // input is retried, and dead-lettered with this code if it keeps failing.
        throw new TransientError('hash_worker_failed', 'the hashing worker failed', { cause: err });
      }
    } finally {
      slot.release();
    }
    metrics.poolBusySeconds.inc(task.busySeconds);
    const { outcome, timings } = task;
    if (!outcome.ok) {
      metrics.decodeFailures.inc({ reason: outcome.error.code });
      throw outcome.error.retriable
        ? new TransientError(outcome.error.code, outcome.error.message)
        : outcome.error.code === 'video_tool_unavailable'
          ? new SafeguardError(outcome.error.code, outcome.error.message, { retriable: false })
          : new InvalidInputError(outcome.error.code, outcome.error.message);
    }
    for (const algorithm of ['pdq', 'crypto', 'video'] as const) {
      const s = timings[algorithm];
      if (s !== undefined) metrics.hashSeconds.observe({ algorithm }, s);
    }
    const event = contentHashedOf(submitted, outcome.result, sizeBytes, this.deps.hasherVersion, this.now());
    await this.deps.publish(event);
    metrics.hashed.inc({ media_type: mediaTypeOf(outcome.result).toLowerCase() });
    return event;
  }

  private async fetch(media: MediaReference): Promise<FetchedMedia> {
    const scheme: MediaSource = mediaSourceOf(media);
    const end = this.deps.metrics.fetchSeconds.startTimer({ scheme });
    try {
      const fetched = await this.deps.fetchMedia(media);
      end();
      return fetched;
    } catch (err) {
      end();
      this.deps.metrics.fetchFailures.inc({ scheme, reason: isSafeguardError(err) && /^[a-z][a-z0-9_]*$/.test(err.code) ? err.code : 'unexpected_error' });
      throw err;
    }
  }
}
