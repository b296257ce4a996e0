import { performance } from 'node:perf_hooks';
import { InvalidInputError } from '@safeguard/domain';
import { isMessageOf, type Consumer, type Reader } from '@safeguard/kafka';
import { topics, type ContentHashed, type EventTopic, type IndicatorFeedback } from '@safeguard/schemas';
import { consumerSessionOptions, cpuLimit, type ServiceRuntime, type StartedService } from '@safeguard/service-runtime';
import { buildCheckApi } from './check-api';
import { CheckPool } from './check-pool';
import type { MatcherConfig } from './config';
import { MatchHandler } from './handler';
import { IndicatorIndex } from './indicator-index';
import { createMatcherMetrics } from './metrics';

/** A running matcher. */
export interface MatcherService extends StartedService {
  readonly handler: MatchHandler;
  readonly index: IndicatorIndex;
  /** The port of the check API (useful when configured as 0); undefined when the API is off. */
  readonly httpPort: number | undefined;
  /** Index loaded, consumer joined, not shutting down (what `/readyz` reports). */
  isReady(): boolean;
}

/** Test seams of {@link startMatcher}. */
export interface MatcherHooks {
  /** Awaited before each indicator record is applied (tests hold the initial load with it). */
  beforeIndexRecord?: () => Promise<void>;
  /** Clock, epoch ms. */
  now?: () => number;
}

/** How often idle index maintenance (MIH delta merges) and the retry of pending quarantines run, ms. */
const MAINTENANCE_INTERVAL_MS = 1_000;

/**
 * Starts the matcher on `runtime`: creates its topics, reads the compacted indicator topic into
 * the index (every replica reads every partition; `/readyz` reports `index_loaded` false until it
 * has read to the end), keeps applying updates as they arrive, then consumes content-hashed
 * events and reviewer feedback, and serves the check API. Resolves once the index is loaded and
 * the consumer has joined. Shutdown: stop the check API, stop the consumer (commit), close the
 * hashing pool, stop the reader, publish pending quarantines, flush the producer.
 */
export async function startMatcher(config: MatcherConfig, runtime: ServiceRuntime, hooks: MatcherHooks = {}): Promise<MatcherService> {
  const { transport, logger } = runtime;
  const indicators = runtime.topic(topics.indicatorUpdated);
  const hashedIn = runtime.topic(topics.contentHashed);
  const feedbackIn = runtime.topic(topics.indicatorFeedback);
  const matchedOut = runtime.topic(topics.contentMatched);
  await transport.admin().ensureTopics(
    ([indicators, hashedIn, feedbackIn, matchedOut] as ReadonlyArray<Omit<EventTopic<never>, 'key'>>).map((b) => ({
      topic: b.topic,
      partitions: b.partitions,
      retentionMs: b.retentionMs,
      cleanupPolicy: b.compacted ? 'compact' : 'delete',
    })),
  );

  const metrics = createMatcherMetrics(runtime.registry);
  const index = new IndicatorIndex({ minPdqQuality: config.minPdqQuality, flood: config.flood, metrics, now: hooks.now });
  metrics.setIndexCollector(() => index.collectMetrics());
  const producer = transport.producer();
  const handler = new MatchHandler({
    index,
    metrics,
    logger,
    now: hooks.now,
    publishMatch: async (event) => {
      await producer.send(matchedOut, [{ value: event }]);
    },
    publishIndicator: async (key, update) => {
      await producer.send(indicators, [{ key, value: update }]);
    },
  });

  let stopping = false;
  let reportCrash: (e: Error) => void = () => undefined;
  const crashed = new Promise<Error>((resolve) => (reportCrash = resolve));
  runtime.addReadinessCheck('index_loaded', () => index.isLoaded);
  runtime.addReadinessCheck('consumer_joined', () => live.consumer?.isRunning() ?? false);

  // Shutdown order: stop intake (check API, consumer), close the pool, stop the reader, flush.
  const live: { consumer?: Consumer; reader?: Reader } = {};
  let pool: CheckPool | undefined;
  let closeApi: (() => Promise<void>) | undefined;
  const timers: NodeJS.Timeout[] = [];
  runtime.shutdown.add('stop_check_api', async () => {
    stopping = true;
    await closeApi?.();
  });
  runtime.shutdown.add('stop_consumer', async () => {
    stopping = true;
    await live.consumer?.stop();
  });
  runtime.shutdown.add('close_check_pool', () => pool?.close());
  runtime.shutdown.add('stop_indicator_reader', async () => {
    for (const t of timers) clearInterval(t);
    await live.reader?.stop();
  });
  runtime.shutdown.add('flush_producer', async () => {
    await handler.flushPending().catch((err: unknown) => logger.error({ err, pending: handler.pendingUpdates }, 'quarantine updates lost at shutdown'));
    await producer.flush();
  });

  // The check API listens from the start and answers 503 until the index is loaded.
  let httpPort: number | undefined;
  if (config.check.enabled) {
    const threads = config.check.threads ?? cpuLimit();
    pool = await CheckPool.start({
      threads,
      maxQueue: config.check.maxQueue ?? 2 * threads,
      image: {
        maxBytes: config.check.maxBytes,
        maxPixels: config.check.maxPixels,
        timeoutMs: config.check.decodeTimeoutMs,
        mode: config.check.mode,
        dihedral: config.check.dihedral,
      },
    });
    const api = buildCheckApi({
      handler,
      pool,
      apiKeys: config.check.apiKeys,
      maxBytes: config.check.maxBytes,
      metrics,
      logger,
      isAccepting: () => index.isLoaded && !stopping,
    });
    closeApi = () => api.close();
    await api.listen({ port: config.check.httpPort, host: '0.0.0.0' });
    const address = api.server.address();
    httpPort = typeof address === 'object' && address !== null ? address.port : config.check.httpPort;
  }

  const loadStarted = performance.now();
  const reader = await transport.reader({
    binding: indicators,
    handle: async (m) => {
      if (hooks.beforeIndexRecord) await hooks.beforeIndexRecord();
      index.apply(m);
    },
    onError: (err) => reportCrash(err),
  });
  live.reader = reader;
  await reader.caughtUp();
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  index.markLoaded(loadSeconds);
  logger.info({ records: reader.handledCount(), loadSeconds, banks: index.banks.stats().length }, 'index loaded');

  timers.push(
    setInterval(() => {
      index.banks.maintain();
      if (handler.pendingUpdates > 0) handler.flushPending().catch((err: unknown) => logger.warn({ err }, 'quarantine publication failed; will retry'));
    }, MAINTENANCE_INTERVAL_MS).unref(),
    setInterval(() => {
      transport
        .admin()
        .listOffsets(indicators.topic)
        .then((offsets) => metrics.indexLagRecords.set(index.lag(offsets)))
        .catch((err: unknown) => logger.warn({ err }, 'index lag refresh failed'));
    }, config.indexLagRefreshMs).unref(),
  );

  const consumer = transport.consumer({
    groupId: runtime.groupId,
    concurrency: config.concurrency,
    ...consumerSessionOptions(config.common.kafkaSessionTimeoutMs),
    onCrash: (e) => reportCrash(e),
  });
  live.consumer = consumer;
  await consumer.run({
    bindings: [hashedIn, feedbackIn],
    handle: async (message) => {
      if (message.value === null) throw new InvalidInputError('tombstone_unexpected', 'input records must have a value');
      if (isMessageOf(hashedIn, message)) await handler.handleHashed(message.value as ContentHashed);
      else await handler.handleFeedback(message.value as IndicatorFeedback);
    },
  });

  logger.info({ httpPort, hashedTopic: hashedIn.topic, indicatorTopic: indicators.topic, matchedTopic: matchedOut.topic }, 'matcher ready');
  return {
    handler,
    index,
    httpPort,
    crashed,
    isReady: () => index.isLoaded && consumer.isRunning() && !stopping,
  };
}
