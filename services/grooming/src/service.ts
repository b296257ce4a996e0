import { createHash } from 'node:crypto';
import { InvalidInputError, isSafeguardError, SafeguardError, TransientError } from '@safeguard/domain';
import { ConversationAnalyzer, InMemoryFanOutTracker, STATE_FORMAT_VERSION, type FanOutTracker } from '@safeguard/grooming';
import type { Reader } from '@safeguard/kafka';
import { topics } from '@safeguard/schemas';
import { consumerSessionOptions, type ServiceRuntime, type StartedService } from '@safeguard/service-runtime';
import { BatchingWriter } from './batching-writer';
import type { GroomingConfig } from './config';
import { ConversationStore } from './conversation-store';
import { SharedFanOutTracker } from './fan-out';
import { GroomingHandler, type StateRecord } from './handler';
import { createGroomingMetrics } from './metrics';
import { restorePartitions, type RestoreResult } from './state-restore';

/** Changelog segments roll hourly so compaction (which skips the active segment) keeps restores short. */
const CHANGELOG_SEGMENT_MS = 60 * 60 * 1000;

/**
 * Runs an output write; a non-retriable failure of it becomes a `TransientError` (`output_failed`,
 * the original as `cause`). Why: a message is dead-lettered at once only when the *input* is bad;
 * our own output failing (e.g. two replicas registering a new subject at the same moment, which
 * the registry can answer with 409) is retried with backoff like any dependency failure, and
 * dead-lettered only when the retries run out.
 */
async function output<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isSafeguardError(err) && err.retriable) throw err;
    throw new TransientError('output_failed', `writing ${what} failed`, { cause: err });
  }
}

/** A running grooming service. */
export interface GroomingService extends StartedService {
  readonly handler: GroomingHandler;
  readonly store: ConversationStore;
  /** The `detectorVersion` written into alerts. */
  readonly detectorVersion: string;
  /** The latest restores (up to 100), oldest first (tests, benchmarks). */
  readonly restores: readonly RestoreResult[];
}

/** Test and benchmark hooks of {@link startGrooming}. */
export interface GroomingStartOptions {
  /** Clock, epoch ms (expiry and `updatedAtMs`). */
  now?: () => number;
}

/**
 * A version for alerts that changes whenever the analyser's behaviour can: the state format
 * version, the resolved analyser configuration (thresholds, weights, policy, decay) and the
 * lexicon languages, as `grooming-s<format>-<12 hex digits>`.
 */
export function detectorVersionOf(analyzer: ConversationAnalyzer): string {
  const digest = createHash('sha256').update(JSON.stringify({ config: analyzer.config, languages: analyzer.languages() })).digest('hex');
  return `grooming-s${STATE_FORMAT_VERSION}-${digest.slice(0, 12)}`;
}

/**
 * Starts the grooming service on `runtime`: creates its topics (the changelog with the input's
 * partition count), reads the shared fan-out contacts, joins the consumer group (restoring each
 * assigned partition's conversations from the changelog before its first message), expires idle
 * conversations periodically, and registers the shutdown steps (stop expiry, stop the consumer
 * after committing, stop the fan-out reader, flush the changelog writer and the producer).
 *
 * @throws SafeguardError `changelog_partitions_mismatch` when an existing changelog topic does
 *   not have the input topic's partition count (state would land on the wrong replica).
 */
export async function startGrooming(config: GroomingConfig, runtime: ServiceRuntime, options: GroomingStartOptions = {}): Promise<GroomingService> {
  const { transport, logger } = runtime;
  const now = options.now ?? Date.now;
  const input = runtime.topic(topics.chatMessageSent);
  const alerts = runtime.topic(topics.conversationFlagged);
  const changelog = runtime.topic(topics.conversationState);
  const contacts = runtime.topic(topics.contactObserved);
  const admin = transport.admin();
  const refreshMs = Math.floor(config.fanOut.windowMs / 7);
  await admin.ensureTopics([
    { topic: input.topic, partitions: input.partitions, retentionMs: input.retentionMs, cleanupPolicy: 'delete' },
    { topic: alerts.topic, partitions: alerts.partitions, retentionMs: alerts.retentionMs, cleanupPolicy: 'delete' },
    ...(config.fanOut.mode === 'shared'
      ? [{ topic: contacts.topic, partitions: contacts.partitions, retentionMs: config.fanOut.windowMs + refreshMs, cleanupPolicy: 'delete' as const }]
      : []),
  ]);
  const inputPartitions = await admin.partitionCount(input.topic);
  await admin.ensureTopics([{ topic: changelog.topic, partitions: inputPartitions, cleanupPolicy: 'compact', config: { 'segment.ms': String(CHANGELOG_SEGMENT_MS) } }]);
  const changelogPartitions = await admin.partitionCount(changelog.topic);
  if (changelogPartitions !== inputPartitions) {
    throw new SafeguardError(
      'changelog_partitions_mismatch',
      `${changelog.topic} has ${changelogPartitions} partitions but ${input.topic} has ${inputPartitions}: they must be equal`,
    );
  }

  const metrics = createGroomingMetrics(runtime.registry);
  const sharedFanOut = config.fanOut.mode === 'shared' ? new SharedFanOutTracker({ windowMs: config.fanOut.windowMs, maxSenders: config.fanOut.maxSenders, refreshMs }) : undefined;
  const fanOutTracker: FanOutTracker | undefined =
    sharedFanOut ?? (config.fanOut.mode === 'local' ? new InMemoryFanOutTracker({ windowMs: config.fanOut.windowMs, maxSenders: config.fanOut.maxSenders }) : undefined);
  const analyzer = new ConversationAnalyzer({ config: config.analyzer, fanOutTracker });
  const detectorVersion = detectorVersionOf(analyzer);
  const producer = transport.producer();
  const writer = new BatchingWriter<StateRecord>({
    send: async (records) => {
      await output('the changelog', () => producer.send(changelog, records.map((r) => ({ key: r.key, partition: r.partition, value: r.value }))));
    },
    onBatch: (n) => metrics.changelogBatchRecords.observe(n),
  });
  const writeStates = (records: StateRecord[]): Promise<void> => writer.write(records);
  const store = new ConversationStore();
  const owned = new Set<number>();
  const handler = new GroomingHandler({
    analyzer,
    store,
    writeStates,
    publishAlert: async (alert) => {
      await output('an alert', () => producer.send(alerts, [{ value: alert }]));
    },
    publishContacts: sharedFanOut
      ? async (list) => {
          await output('fan-out contacts', () => producer.send(contacts, list.map((value) => ({ value }))));
        }
      : undefined,
    fanOut: sharedFanOut,
    platforms: config.platforms,
    maxConversations: config.maxConversations,
    stateTtlMs: config.stateTtlMs,
    detectorVersion,
    metrics,
    ownsPartition: (partition) => owned.has(partition),
    now,
    onStateReset: (fields) => logger.warn(fields, 'conversation state unreadable, conversation started over'),
  });

  let reportCrash: (e: Error) => void = () => undefined;
  const crashed = new Promise<Error>((resolve) => (reportCrash = resolve));

  let fanOutReader: Reader | undefined;
  if (sharedFanOut) {
    fanOutReader = await transport.reader({
      binding: contacts,
      handle: (m) => {
        if (m.value !== null) sharedFanOut.observe(m.value);
      },
      onError: (err) => reportCrash(err),
    });
    await fanOutReader.caughtUp();
    metrics.fanOutSenders.set(sharedFanOut.size);
  }

  const restores: RestoreResult[] = [];
  let restoring = 0;
  const consumer = transport.consumer({
    groupId: runtime.groupId,
    concurrency: config.concurrency,
    ...consumerSessionOptions(config.sessionTimeoutMs),
    onCrash: (e) => reportCrash(e),
  });
  await consumer.run({
    bindings: [input],
    handle: async (message) => {
      if (message.value === null) throw new InvalidInputError('tombstone_unexpected', 'chat-message records must have a value');
      await handler.handle({ key: message.key, partition: message.partition, offset: Number(message.offset), value: message.value });
    },
    onPartitionsAssigned: async (tps) => {
      const partitions = tps.filter((tp) => tp.topic === input.topic).map((tp) => tp.partition);
      if (partitions.length === 0) return;
      for (const p of partitions) owned.add(p);
      restoring++;
      try {
        const result = await restorePartitions({ transport, changelog, store, handler, writeStates, stateTtlMs: config.stateTtlMs, metrics, logger, now }, partitions);
        restores.push(result);
        if (restores.length > 100) restores.shift();
        logger.info({ ...result }, 'conversation state restored');
      } finally {
        restoring--;
      }
    },
    onPartitionsRevoked: (tps) => {
      const revoked = new Set(tps.filter((tp) => tp.topic === input.topic).map((tp) => tp.partition));
      for (const p of revoked) owned.delete(p);
      const dropped = store.dropPartitions(revoked);
      metrics.activeConversations.set(store.size);
      logger.info({ partitions: [...revoked], dropped }, 'conversation state dropped for revoked partitions');
    },
  });

  const expiryTimer = setInterval(() => {
    handler.expireIdle().catch((err: unknown) => logger.warn({ err }, 'expiring idle conversations failed, retrying next interval'));
  }, config.expiryIntervalMs);
  expiryTimer.unref?.();

  runtime.addReadinessCheck('kafka_input_joined', () => consumer.isRunning());
  runtime.addReadinessCheck('state_restored', () => restoring === 0);
  if (fanOutReader) runtime.addReadinessCheck('fan_out_caught_up', () => fanOutReader.isCaughtUp());
  runtime.shutdown.add('stop_expiry', () => clearInterval(expiryTimer));
  runtime.shutdown.add('stop_kafka_input', () => consumer.stop());
  if (fanOutReader) runtime.shutdown.add('stop_fan_out_reader', () => fanOutReader.stop());
  runtime.shutdown.add('flush_changelog', () => writer.flush());
  runtime.shutdown.add('flush_producer', () => producer.flush());

  logger.info(
    { inputTopic: input.topic, changelogTopic: changelog.topic, partitions: inputPartitions, fanOut: config.fanOut.mode, detectorVersion, concurrency: config.concurrency },
    'grooming ready',
  );
  return { handler, store, detectorVersion, restores, crashed };
}
