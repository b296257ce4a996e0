import { Counter, Gauge, Histogram, type Registry } from '@safeguard/observability';

/** A point-in-time view of the worker pool, read when /metrics is scraped. */
export interface PoolStats {
  threads: number;
  queueDepth: number;
  utilization: number;
  inFlight: number;
}

/** Every metric the hasher owns (transport metrics come from @safeguard/kafka). Labels are closed sets. */
export interface HasherMetrics {
  /** Seconds per task by algorithm family: `pdq` (decoding + PDQ), `crypto` (MD5+SHA-1+SHA-256), `video` (whole video). */
  hashSeconds: Histogram<'algorithm'>;
  /** Media refused by the hashing library, by reason code (media_truncated, decode_failed, ...). */
  decodeFailures: Counter<'reason'>;
  /** Size of the media handed to the pool, bytes, by source (inline, file, http, https). */
  inputBytes: Histogram<'source'>;
  /** Fetch duration by scheme (inline, file, http, https, other), failed fetches included. */
  fetchSeconds: Histogram<'scheme'>;
  /**
   * Failed fetches by scheme and reason (the fetch error code). A counter, not a histogram label:
   * scheme × reason × buckets would exceed 100 series per pod.
   */
  fetchFailures: Counter<'scheme' | 'reason'>;
  /** Media hashed, by detected type (jpeg, png, webp, gif, tiff, avif, video). */
  hashed: Counter<'media_type'>;
  /** Worker busy time, seconds; rate() / threads is the pool's utilisation over any window. */
  poolBusySeconds: Counter<string>;
  /** Worker threads, tasks waiting for a worker, fraction of threads busy, admitted tasks. */
  poolThreads: Gauge<string>;
  poolQueueDepth: Gauge<string>;
  poolUtilization: Gauge<string>;
  poolInFlight: Gauge<string>;
}

/**
 * Declares the hasher metrics on `registry`. `poolStats` is read at scrape time (undefined
 * before the pool started).
 */
export function createHasherMetrics(registry: Registry, poolStats: () => PoolStats | undefined): HasherMetrics {
  const gauge = (name: string, help: string, read: (s: PoolStats) => number): Gauge<string> =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = poolStats();
        if (stats) this.set(read(stats));
      },
    });
  return {
    hashSeconds: new Histogram({
      name: 'safeguard_hasher_hash_seconds',
      help: 'Hashing time per medium by algorithm family: pdq (decoding + PDQ), crypto (MD5, SHA-1, SHA-256), video (whole video).',
      labelNames: ['algorithm'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120, 600],
      registers: [registry],
    }),
    decodeFailures: new Counter({
      name: 'safeguard_hasher_decode_failures_total',
      help: 'Media refused by the hashing library, by reason code.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    inputBytes: new Histogram({
      name: 'safeguard_hasher_input_bytes',
      help: 'Size of the media handed to the worker pool, bytes, by source.',
      labelNames: ['source'],
      buckets: [4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456],
      registers: [registry],
    }),
    fetchSeconds: new Histogram({
      name: 'safeguard_hasher_fetch_seconds',
      help: 'Media fetch duration by scheme, seconds (failed fetches included; their reasons are in safeguard_hasher_fetch_failures_total).',
      labelNames: ['scheme'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    fetchFailures: new Counter({
      name: 'safeguard_hasher_fetch_failures_total',
      help: 'Failed media fetches by scheme and reason (fetch error code).',
      labelNames: ['scheme', 'reason'],
      registers: [registry],
    }),
    hashed: new Counter({
      name: 'safeguard_hasher_media_hashed_total',
      help: 'Media hashed and published, by detected type.',
      labelNames: ['media_type'],
      registers: [registry],
    }),
    poolBusySeconds: new Counter({
      name: 'safeguard_hasher_pool_busy_seconds_total',
      help: 'Time the pool workers spent hashing, seconds (rate / threads = utilisation).',
      registers: [registry],
    }),
    poolThreads: gauge('safeguard_hasher_pool_threads', 'Worker threads of the hashing pool.', (s) => s.threads),
    poolQueueDepth: gauge('safeguard_hasher_pool_queue_depth', 'Hashing tasks waiting for a free worker.', (s) => s.queueDepth),
    poolUtilization: gauge('safeguard_hasher_pool_utilization_ratio', 'Fraction of worker threads hashing at scrape time.', (s) => s.utilization),
    poolInFlight: gauge('safeguard_hasher_pool_in_flight', 'Admitted media (fetching, queued or hashing); at most threads + queue bound.', (s) => s.inFlight),
  };
}
