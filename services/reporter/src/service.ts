import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '@safeguard/domain';
import { isMessageOf, type Consumer } from '@safeguard/kafka';
import {
  DeliveryRunner,
  EuCentreClient,
  loadSigningKey,
  NcmecClient,
  parsePolicyConfig,
  parseProviderProfile,
  ReportingEngine,
  ReportingInputError,
  SqliteReportingStore,
  type Destination,
  type IngestResult,
  type PolicyConfig,
  type ReportingStore,
} from '@safeguard/reporting';
import { topics, type GroomingAlert, type MatchFound } from '@safeguard/schemas';
import { consumerSessionOptions, type ServiceRuntime, type StartedService } from '@safeguard/service-runtime';
import type { FastifyInstance } from 'fastify';
import type { ReporterConfig } from './config';
import { InputHandler } from './handler';
import { FileMediaSource } from './media';
import { createReporterMetrics } from './metrics';
import { PeriodicTask } from './periodic-task';
import { AuditRelay, type RelayPublisher } from './relay';
import { buildReviewApi } from './review-api';

/** A running reporter service. */
export interface ReporterService extends StartedService {
  /** Port of the review API (useful when configured as 0). */
  readonly httpPort: number;
  readonly engine: ReportingEngine;
  readonly store: ReportingStore;
  readonly relay: AuditRelay;
  readonly input: InputHandler;
  /** Runs the delivery task now and resolves when that run (and the relay after it) is done. */
  deliverNow(): Promise<void>;
}

/** Optional dependencies of {@link startReporter} (tests). */
export interface ReporterDependencies {
  /** Clock, epoch ms. Default `Date.now`. */
  clock?: () => number;
}

async function readConfigFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ReportingInputError('invalid_config', `cannot read the ${what} file ${path}`, { cause: err });
  }
}

function parseJsonFile(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ReportingInputError('invalid_config', `the ${what} file ${path} is not JSON`, { cause: err });
  }
}

function destinationsOf(policy: PolicyConfig): Set<Destination> {
  return new Set<Destination>([...policy.defaultDestinations, ...policy.rules.flatMap((r) => r.destinations ?? [])]);
}

/**
 * Starts the reporter on `runtime`: opens the store as its only writer, loads policy, provider
 * profile and signing key, creates its topics, publishes any audit records the topic lacks
 * (refusing to start if topic and store disagree), then starts the review API, the delivery,
 * retention and audit-relay tasks (they work from the store, so a restarted reporter resumes
 * deliveries before its consumer has rejoined the group), and last the consumer of matcher
 * results and grooming alerts. Before the tasks start, and then periodically, confirmed cases
 * without queued reports are repaired (`repairUnqueuedReports`).
 * Shutdown order: stop the API, stop the consumer, stop the repair task, stop delivery after the
 * step in flight, stop retention, publish what is left, flush the producer, close the store.
 * @throws ReportingInputError `invalid_config` (unreadable or invalid files, a destination without
 *   an endpoint), `store_locked` (another reporter holds the store); `audit_chain_diverged`
 */
export async function startReporter(config: ReporterConfig, runtime: ServiceRuntime, deps: ReporterDependencies = {}): Promise<ReporterService> {
  const { transport, logger } = runtime;
  const clock = deps.clock ?? Date.now;

  const policy = parsePolicyConfig(parseJsonFile(await readConfigFile(config.policyFile, 'policy'), config.policyFile, 'policy'));
  const provider = parseProviderProfile(parseJsonFile(await readConfigFile(config.providerFile, 'provider profile'), config.providerFile, 'provider profile'));
  const signingKey = loadSigningKey(await readConfigFile(config.signingKeyFile, 'signing key'));
  const routes = destinationsOf(policy);
  if (routes.has('ncmec') && !config.ncmec) throw new ReportingInputError('invalid_config', 'the policy routes reports to ncmec but REPORTER_NCMEC_URL is not set');
  if (routes.has('eu_centre') && !config.euCentre) throw new ReportingInputError('invalid_config', 'the policy routes reports to eu_centre but REPORTER_EU_CENTRE_URL is not set');

  const matchedIn = runtime.topic(topics.contentMatched);
  const flaggedIn = runtime.topic(topics.conversationFlagged);
  const decidedOut = runtime.topic(topics.caseDecided);
  const reportedOut = runtime.topic(topics.caseReported);
  const feedbackOut = runtime.topic(topics.indicatorFeedback);
  const auditOut = runtime.topic(topics.auditRecorded);

  const store = new SqliteReportingStore(config.storePath, { exclusive: config.storePath !== ':memory:' });
  let storeOpen = true;
  const metrics = createReporterMetrics(runtime.registry, store, clock);

  // Every shutdown step is registered now, in shutdown order, so a start that fails halfway
  // still releases what it took (the store lock above all).
  let accepting = false;
  const parts: { api?: FastifyInstance; consumer?: Consumer; relay?: AuditRelay } = {};
  const tasks: { delivery?: PeriodicTask; purge?: PeriodicTask; relay?: PeriodicTask; repair?: PeriodicTask } = {};
  const producer = transport.producer();
  runtime.shutdown.add('stop_review_api', async () => {
    accepting = false;
    await parts.api?.close();
  });
  runtime.shutdown.add('stop_consumer', async () => parts.consumer?.stop());
  runtime.shutdown.add('stop_report_repair', async () => tasks.repair?.stop());
  runtime.shutdown.add('stop_delivery_after_step', async () => tasks.delivery?.stop());
  runtime.shutdown.add('stop_retention', async () => tasks.purge?.stop());
  runtime.shutdown.add('publish_remaining_audit', async () => {
    await tasks.relay?.stop();
    if (parts.relay?.synced) await parts.relay.drain();
  });
  runtime.shutdown.add('flush_producer', () => producer.flush());
  runtime.shutdown.add('close_store', async () => {
    storeOpen = false;
    await store.close();
  });

  const engine = new ReportingEngine({
    store,
    policy,
    provider,
    signingKey,
    clock,
    caseWindowMs: config.caseWindowMs,
    retention: { months: config.retentionMonths },
  });
  const runner = new DeliveryRunner({
    store,
    clock,
    audit: engine.audit,
    backoff: { baseMs: config.delivery.backoffBaseMs, maxMs: config.delivery.backoffMaxMs, maxAttempts: config.delivery.maxAttempts },
    ...(config.ncmec ? { ncmec: new NcmecClient(config.ncmec) } : {}),
    ...(config.euCentre ? { euCentre: new EuCentreClient(config.euCentre) } : {}),
    ...(config.mediaRoot ? { media: new FileMediaSource(config.mediaRoot, config.mediaMaxBytes, (reason) => metrics.mediaSkipped.inc({ reason })) } : {}),
  });

  await transport.admin().ensureTopics(
    [matchedIn, flaggedIn, decidedOut, reportedOut, feedbackOut, auditOut].map((b) => ({
      topic: b.topic,
      partitions: b.partitions,
      retentionMs: b.retentionMs,
      cleanupPolicy: b.compacted ? ('compact' as const) : ('delete' as const),
    })),
  );

  const publisher: RelayPublisher = {
    decisions: async (events) => void (await producer.send(decidedOut, events.map((value) => ({ value })))),
    feedback: async (events) => void (await producer.send(feedbackOut, events.map((value) => ({ value })))),
    reports: async (events) => void (await producer.send(reportedOut, events.map((value) => ({ value })))),
    audit: async (events) => void (await producer.send(auditOut, events.map((value) => ({ value })))),
    scanAudit: async (visit) => {
      const reader = await transport.reader({ binding: auditOut, handle: (m) => (m.value ? visit(m.value) : undefined) });
      try {
        await reader.caughtUp();
      } finally {
        await reader.stop();
      }
    },
  };
  const relay = new AuditRelay({
    store,
    publisher,
    chainId: config.auditChainId,
    batchSize: 200,
    observer: {
      published: (n) => metrics.auditPublished.set(n),
      feedback: (f) => metrics.feedbackEvents.inc(f),
      reportFinished: (r) => {
        metrics.reports.inc({ destination: r.destination, outcome: r.outcome });
        if (r.deliverySeconds !== undefined) metrics.deliverySeconds.observe({ destination: r.destination }, r.deliverySeconds);
        if (r.ambiguousSubmits > 0) logger.warn({ reportId: r.reportId, ambiguousSubmits: r.ambiguousSubmits }, 'NCMEC may hold an extra unfinished report from a submit with an unknown outcome: reconcile');
      },
    },
  });
  parts.relay = relay;
  // Publish whatever the topic lacks before taking new work; refuses to fork a diverged chain.
  await relay.drain();

  const onTaskError = (task: string) => metrics.taskFailures.inc({ task });
  tasks.relay = new PeriodicTask({ name: 'audit_relay', intervalMs: config.relayIntervalMs, logger, onError: onTaskError, run: () => relay.drain() });
  tasks.delivery = new PeriodicTask({
    name: 'delivery',
    intervalMs: config.deliveryIntervalMs,
    logger,
    onError: onTaskError,
    run: async (signal) => {
      const summary = await runner.runDue(100, { signal });
      if (summary.processed > 0) tasks.relay?.kick();
      if (summary.processed === 100 && !signal.aborted) tasks.delivery?.kick();
    },
  });
  tasks.purge = new PeriodicTask({
    name: 'retention',
    intervalMs: config.purgeIntervalMs,
    logger,
    onError: onTaskError,
    run: async () => {
      const purged = await engine.purgeExpired();
      if (purged.length > 0) {
        metrics.purgedCases.inc(purged.length);
        logger.info({ cases: purged.length, retentionMonths: config.retentionMonths }, 'retention purged expired cases');
        tasks.relay?.kick();
      }
    },
  });

  const repair = async (): Promise<void> => {
    const { queued, requeued, failed } = await engine.repairUnqueuedReports();
    if (queued.length + requeued.length + failed.length === 0) return;
    for (const [action, n] of [['queued', queued.length], ['requeued', requeued.length], ['failed', failed.length]] as const) if (n > 0) metrics.repairedCases.inc({ action }, n);
    logger.warn({ queued: queued.length, requeued: requeued.length, failed: failed.length, codes: [...new Set(failed.map((f) => f.code))] }, 'confirmed cases without queued reports repaired (a decision was cut off by a stop)');
    tasks.relay?.kick();
    if (queued.length > 0) tasks.delivery?.kick();
  };
  tasks.repair = new PeriodicTask({ name: 'report_repair', intervalMs: config.repairIntervalMs, logger, onError: onTaskError, run: repair });

  const changed = (result?: IngestResult): void => {
    tasks.relay?.kick();
    if (!result || result.state === 'confirmed') tasks.delivery?.kick();
  };
  const input = new InputHandler({ engine, verifiedSources: config.verifiedSources, metrics, changed });

  const api = buildReviewApi({
    engine,
    store,
    apiKeys: config.apiKeys,
    signingKey,
    leaseMs: config.leaseMs,
    metrics,
    logger,
    isAccepting: () => accepting,
    changed: () => changed(),
    now: clock,
  });
  parts.api = api;
  await api.listen({ port: config.httpPort, host: '0.0.0.0' });
  const address = api.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;

  let reportCrash: (e: Error) => void = () => undefined;
  const crashed = new Promise<Error>((resolve) => (reportCrash = resolve));
  const consumer = transport.consumer({
    groupId: runtime.groupId,
    ...consumerSessionOptions(config.kafkaSessionTimeoutMs),
    onCrash: (e) => reportCrash(e),
  });
  parts.consumer = consumer;
  runtime.addReadinessCheck('store_open', () => storeOpen);
  runtime.addReadinessCheck('consumer_joined', () => consumer.isRunning());
  runtime.addReadinessCheck('audit_relay_synced', () => relay.synced);
  runtime.addReadinessCheck('review_api_accepting', () => accepting);

  // Deliveries, retention and the relay work from the store: they resume at once after a
  // restart, without waiting for the consumer group to take the new member in.
  // Confirmed cases a stop cut off before their reports were queued: queued (or returned to
  // review) before anything else runs; the task then repeats every REPORTER_REPAIR_INTERVAL_MS.
  await tasks.repair.runNow();
  tasks.relay.start(config.relayIntervalMs);
  tasks.delivery.start();
  tasks.purge.start();
  accepting = true;

  await consumer.run({
    bindings: [matchedIn, flaggedIn],
    handle: async (message) => {
      if (message.value === null) throw new InvalidInputError('tombstone_unexpected', 'input records must have a value');
      if (isMessageOf(matchedIn, message)) await input.match(message.value as MatchFound);
      else await input.alert(message.value as GroomingAlert);
    },
  });

  logger.info(
    { httpPort, chainId: config.auditChainId, matchedTopic: matchedIn.topic, flaggedTopic: flaggedIn.topic, auditTopic: auditOut.topic, destinations: [...routes].sort() },
    'reporter ready',
  );
  return {
    httpPort,
    engine,
    store,
    relay,
    input,
    crashed,
    deliverNow: async () => {
      await tasks.delivery?.runNow();
      await relay.drain();
    },
  };
}
