import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '@safeguard/domain';
import { sniffMedia } from '@safeguard/hashing';
import type { Consumer } from '@safeguard/kafka';
import { topics } from '@safeguard/schemas';
import { consumerSessionOptions, cpuLimit, type ServiceRuntime, type StartedService } from '@safeguard/service-runtime';
import type { HasherConfig } from './config';
import { HEAD_BYTES, type SizeLimit } from './fetch/bounded-buffer';
import { FileFetcher } from './fetch/file-fetcher';
import { HttpFetcher, type HttpFetcherOptions, type HttpScheme } from './fetch/http-fetcher';
import { AddressPolicy } from './fetch/ip-policy';
import { MediaFetcher } from './fetch/media-fetcher';
import { HasherHandler } from './handler';
import { HashPool } from './hash-pool';
import { createHasherMetrics } from './metrics';

/** Test and embedding hooks that are not configuration. */
export interface HasherStartOptions {
  /** Host name resolution for HTTP fetches (tests answer with chosen addresses). */
  resolve?: HttpFetcherOptions['resolve'];
  /** Extra trusted CA certificates for HTTPS (tests with a self-signed server). */
  ca?: HttpFetcherOptions['ca'];
  /** CPU count used when HASHER_POOL_SIZE is unset; default: the cgroup quota or available cores. */
  cpuLimit?: number;
  /** Compiled worker module; default this package's `dist/workers/hash.worker.js`. */
  workerFile?: string;
}

/** A running hasher. */
export interface HasherService extends StartedService {
  readonly handler: HasherHandler;
  readonly pool: HashPool;
  readonly consumer: Consumer;
  /** The `hasherVersion` it publishes. */
  readonly hasherVersion: string;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The fetch cap for media starting with `head`: videos may be larger than still images. */
function sizeLimitOf(config: HasherConfig): SizeLimit {
  const { maxBytes, videoMaxBytes } = config.hashing;
  return {
    maxBytes: Math.max(maxBytes, videoMaxBytes),
    forHead: (head) => (head.length > 0 && sniffMedia(head.subarray(0, HEAD_BYTES)).kind === 'video' ? videoMaxBytes : maxBytes),
  };
}

/**
 * Starts the hasher on `runtime`: creates its topics, starts the worker pool (every thread
 * loaded before going further), the fetchers and the consumer, and registers the shutdown steps
 * in order: stop the consumer (after in-flight messages finish and their offsets are
 * committed), drain and close the pool, flush the producer.
 */
export async function startHasher(config: HasherConfig, runtime: ServiceRuntime, options: HasherStartOptions = {}): Promise<HasherService> {
  const { transport, logger } = runtime;
  const input = runtime.topic(topics.contentSubmitted);
  const output = runtime.topic(topics.contentHashed);
  await transport.admin().ensureTopics(
    [input, output].map((b) => ({ topic: b.topic, partitions: b.partitions, retentionMs: b.retentionMs, cleanupPolicy: 'delete' as const })),
  );

  // Filled in as they start; the shutdown steps are registered first so they run in this order
  // even when a later start step fails.
  const parts: { consumer?: Consumer; pool?: HashPool; fetcher?: MediaFetcher } = {};
  const producer = transport.producer();
  let stopping = false;
  runtime.shutdown.add('stop_consumer', async () => {
    stopping = true;
    await parts.consumer?.stop();
  });
  runtime.shutdown.add('close_hash_pool', () => parts.pool?.close());
  runtime.shutdown.add('close_fetchers', () => parts.fetcher?.close());
  runtime.shutdown.add('flush_producer', () => producer.flush());

  const threads = config.pool.threads ?? options.cpuLimit ?? cpuLimit();
  // Messages of one partition are handled one after another, so every partition this member may
  // own should be in flight at once (bench/hasher/pipeline.js, 2 threads, a worker taking 50 ms
  // and no CPU: 87 % of the ideal rate with 2 in flight, 95 % with 4, 96 % with 6; at 10 ms per
  // task 81 % with 4, 90 % with 6), and the admission bound must hold them all, or messages
  // bounce off the capacity check (a pause and a re-fetch each).
  const partitions = await transport.admin().partitionCount(input.topic);
  const concurrency = config.concurrency ?? Math.max(2 * threads, partitions);
  const maxQueue = config.pool.maxQueue ?? Math.max(threads, concurrency - threads);
  const { hashing } = config;
  const pool = await HashPool.start({
    threads,
    maxQueue,
    workerFile: options.workerFile,
    image: { maxBytes: hashing.maxBytes, maxPixels: hashing.maxPixels, timeoutMs: hashing.decodeTimeoutMs, mode: hashing.mode, dihedral: hashing.dihedral },
    video: { framesPerSecond: hashing.videoFramesPerSecond, maxBytes: hashing.videoMaxBytes, timeoutMs: hashing.videoTimeoutMs },
  });
  parts.pool = pool;
  const hasherVersion = `safeguard-hasher/${packageVersion()} sharp/${pool.versions.sharp} libvips/${pool.versions.libvips} jpeg/${pool.versions.jpeg} pdq-${hashing.mode}`;

  const sizeLimit = sizeLimitOf(config);
  const schemes = new Set(config.fetch.schemes);
  const httpSchemes = new Set([...schemes].filter((s): s is HttpScheme => s === 'http' || s === 'https'));
  const fetcher = new MediaFetcher({
    file: schemes.has('file') ? await FileFetcher.create(config.fetch.fileRoots, sizeLimit) : undefined,
    http:
      httpSchemes.size > 0
        ? new HttpFetcher({
            policy: new AddressPolicy(config.fetch.allowCidrs),
            schemes: httpSchemes,
            connectTimeoutMs: config.fetch.connectTimeoutMs,
            responseTimeoutMs: config.fetch.responseTimeoutMs,
            totalTimeoutMs: config.fetch.totalTimeoutMs,
            maxRedirects: config.fetch.maxRedirects,
            sizeLimit,
            resolve: options.resolve,
            ca: options.ca,
            maxSocketsPerHost: Math.max(16, concurrency),
            userAgent: `safeguard-hasher/${packageVersion()}`,
          })
        : undefined,
  });

  parts.fetcher = fetcher;
  const metrics = createHasherMetrics(runtime.registry, () => ({
    threads: pool.threads,
    queueDepth: pool.queueDepth,
    utilization: pool.utilization,
    inFlight: pool.inFlight,
  }));

  // Capacity refusals pause a partition; the first slot freed afterwards resumes the consumer
  // (instead of waiting out the pause).
  let refusedSinceFree = false;
  pool.onSlotFreed(() => {
    if (!refusedSinceFree || stopping) return;
    refusedSinceFree = false;
    setImmediate(() => {
      if (!stopping) parts.consumer?.resume();
    });
  });

  const handler = new HasherHandler({
    fetchMedia: (media) => fetcher.fetch(media),
    pool,
    publish: async (event) => {
      await producer.send(output, [{ value: event }]);
    },
    hasherVersion,
    metrics,
    onCapacityRefused: () => {
      refusedSinceFree = true;
    },
  });

  let reportCrash: (e: Error) => void = () => undefined;
  const crashed = new Promise<Error>((resolve) => (reportCrash = resolve));
  const member = transport.consumer({ groupId: runtime.groupId, concurrency, ...consumerSessionOptions(config.common.kafkaSessionTimeoutMs), onCrash: (e) => reportCrash(e) });
  parts.consumer = member;
  await member.run({
    bindings: [input],
    handle: async (message) => {
      if (message.value === null) throw new InvalidInputError('tombstone_unexpected', 'content-submitted records must have a value');
      await handler.handle(message.value);
    },
  });
  runtime.addReadinessCheck('hash_pool_started', () => pool.isOpen);
  runtime.addReadinessCheck('consumer_joined', () => member.isRunning());

  logger.info({ threads, maxQueue, concurrency, mode: hashing.mode, dihedral: hashing.dihedral, schemes: [...schemes], fileRoots: config.fetch.fileRoots.length, inputTopic: input.topic, outputTopic: output.topic }, 'hasher ready');
  return { handler, pool, consumer: member, hasherVersion, crashed };
}
