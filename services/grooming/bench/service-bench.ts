/**
 * End-to-end throughput of the grooming service against the real broker, and restore time.
 *
 *   eval "$(bash infra/infra.sh env)"   # KAFKA_BROKERS, SCHEMA_REGISTRY_URL
 *   npx tsx services/grooming/bench/service-bench.ts
 *
 * Throughput: a backlog of synthetic, non-explicit conversations (90 % ordinary teen chat that
 * is analysed but never alerts, 10 % the grooming fixture that alerts once each) is produced to a
 * fresh 6-partition input topic; then one service instance (in this process, kafka transport)
 * consumes it: decode, analyse, changelog write acknowledged by the broker (acks=all), alert
 * publication, shared fan-out contacts, offset commit. Rate = messages / seconds between the
 * first and the last message handled (the group join and restore are reported apart), for
 * GROOMING_CONCURRENCY 1 and 6.
 *
 * Restore: N conversation states (realistic sizes, one record each, as a compacted changelog
 * holds them) are written to a fresh changelog; a fresh instance is started and the restore of
 * its 6 assigned partitions is timed.
 *
 * Writes bench/results/grooming-service.json. There is no reference implementation to run side
 * by side (no other open-source streaming grooming detector); the analyser-only rate of
 * bench/grooming/throughput.ts is the ceiling the service figures compare to.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConversationAnalyzer } from '@safeguard/grooming';
import { createTransport, partitionForKey, type Transport } from '@safeguard/kafka';
import { createMetricsRegistry, type Registry } from '@safeguard/observability';
import { renameTopic, topics, type ChatMessage, type ConversationState } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { uniqueName } from '@safeguard/testkit';
import { groomingConfigSchema } from '../src/config';
import { startGrooming } from '../src/service';
import { groomingConversation } from '../test/fixtures/conversations';

const brokersCsv = process.env.KAFKA_BROKERS;
const registryUrl = process.env.SCHEMA_REGISTRY_URL;
if (!brokersCsv || !registryUrl) {
  process.stderr.write('set KAFKA_BROKERS and SCHEMA_REGISTRY_URL (eval "$(bash infra/infra.sh env)")\n');
  process.exit(2);
}
const brokers = brokersCsv.split(',');
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 1500);
const RESTORE_SIZES = (process.env.BENCH_RESTORE_SIZES ?? '10000,100000').split(',').map(Number);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const PARTITIONS = 6;

const BENIGN = [
  'did you finish the maths homework?',
  'almost, question 4 is hard',
  'wanna play minecraft later?',
  'sure after dinner',
  'my sister ate all the cereal again',
  'lol same here',
  'are you going to the match on saturday?',
  'yes my dad is driving us',
  'cool see you there',
  'did you see the new episode',
  'not yet no spoilers',
  'ok bye',
];

function benignConversation(id: string, startMs: number): ChatMessage[] {
  return BENIGN.map((text, i) => ({
    eventId: `${id}-e${i}`,
    platformId: 'platform-bench',
    conversationId: id,
    messageId: `${id}-m${i}`,
    senderId: i % 2 === 0 ? 'teen-a' : 'teen-b',
    recipientIds: [],
    text,
    language: 'en',
    participants: [
      { accountId: 'teen-a', declaredAge: 14, ageBand: 'TEEN', accountCreatedAtMs: null },
      { accountId: 'teen-b', declaredAge: 14, ageBand: 'TEEN', accountCreatedAtMs: null },
    ],
    sentAtMs: startMs + i * 60_000,
    channel: 'kafka',
  }));
}

/** Conversations interleaved message by message, as live traffic arrives. */
function backlog(conversations: number, tag: string): ChatMessage[] {
  const all: ChatMessage[][] = [];
  const start = Date.UTC(2026, 2, 2, 15);
  for (let i = 0; i < conversations; i++) {
    const id = `${tag}-${i}`;
    all.push(i % 10 === 0 ? groomingConversation({ conversationId: id, platformId: 'platform-bench', startMs: start }) : benignConversation(id, start));
  }
  const out: ChatMessage[] = [];
  for (let m = 0; m < 16; m++) for (const c of all) if (m < c.length) out.push(c[m]!);
  return out;
}

/** Sends, retrying while a just-created topic's metadata propagates to the producer. */
async function send<V>(admin: Transport, binding: { topic: string; valueSchema: object | string; key?: (v: V) => string }, records: Array<{ value: V; key?: string; partition?: number }>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.producer().send(binding, records);
      return;
    } catch (err) {
      if (attempt >= 5 || (err as { code?: string }).code !== 'topic_not_found') throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** ensureTopics, retried while a just-created topic is not yet visible in the metadata. */
async function ensure(admin: Transport, specs: Parameters<ReturnType<Transport['admin']>['ensureTopics']>[0]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.admin().ensureTopics(specs);
      return;
    } catch (err) {
      if (attempt >= 10 || (err as { code?: string }).code !== 'topic_not_found') throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function counterTotal(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

async function cleanup(admin: Transport, prefix: string): Promise<void> {
  const names = (await admin.admin().listTopics()).filter((t) => t.startsWith(prefix));
  await admin.admin().deleteTopics(names);
}

async function startService(prefix: string, extra: Record<string, string>): Promise<{ runtime: ServiceRuntime; registry: Registry; service: Awaited<ReturnType<typeof startGrooming>> }> {
  const config = groomingConfigSchema.parse({
    KAFKA_BROKERS: brokersCsv,
    SCHEMA_REGISTRY_URL: registryUrl,
    SAFEGUARD_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    METRICS_PORT: '0',
    ...extra,
  });
  const registry = createMetricsRegistry({ service: 'grooming' });
  const runtime = await ServiceRuntime.start({ service: 'grooming', common: config.common, registry, healthServer: false });
  const service = await startGrooming(config, runtime);
  return { runtime, registry, service };
}

/** A transport of its own per run: a kafkajs producer keeps failing on topics deleted under it. */
function newAdmin(): Transport {
  return createTransport({ kind: 'kafka', brokers, clientId: 'grooming-bench', schemaRegistryUrl: registryUrl! });
}

async function throughput(concurrency: number): Promise<Record<string, number>> {
  const admin = newAdmin();
  const prefix = `${uniqueName('bench-grooming')}.`;
  const input = renameTopic(topics.chatMessageSent, `${prefix}${topics.chatMessageSent.topic}`);
  await ensure(admin, [{ topic: input.topic, partitions: PARTITIONS }]);
  const messages = backlog(CONVERSATIONS, prefix);
  for (let i = 0; i < messages.length; i += 500) await send(admin, input, messages.slice(i, i + 500).map((value) => ({ value })));

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { runtime, registry } = await startService(prefix, { GROOMING_CONCURRENCY: String(concurrency) });
  const started = performance.now();
  let first = 0;
  let handled = 0;
  while (handled < messages.length) {
    handled = await counterTotal(registry, 'safeguard_grooming_messages_total');
    if (handled > 0 && first === 0) first = performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const alerts = await counterTotal(registry, 'safeguard_grooming_alerts_total');
  const batches = (await registry.getMetricsAsJSON()).find((m) => m.name === 'safeguard_grooming_changelog_batch_records')!.values;
  const batchSum = batches.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))!.value;
  const batchCount = batches.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))!.value;
  await runtime.stop();
  await cleanup(admin, prefix);
  await admin.close();
  const seconds = (end - first) / 1000;
  return {
    concurrency,
    messages: messages.length,
    conversations: CONVERSATIONS,
    alerts,
    startupSeconds: round((started - t0) / 1000),
    seconds: round(seconds),
    messagesPerSecond: Math.round(messages.length / seconds),
    messagesPerSecondInclStartup: Math.round(messages.length / ((end - t0) / 1000)),
    processCpuSecondsPerThousandMessages: round(((cpu.user + cpu.system) / 1e6 / messages.length) * 1000),
    meanChangelogBatchRecords: round(batchSum / batchCount),
  };
}

async function restore(n: number): Promise<Record<string, number>> {
  const admin = newAdmin();
  const prefix = `${uniqueName('bench-grooming-restore')}.`;
  const input = renameTopic(topics.chatMessageSent, `${prefix}${topics.chatMessageSent.topic}`);
  const changelog = renameTopic(topics.conversationState, `${prefix}${topics.conversationState.topic}`);
  await ensure(admin, [
    { topic: input.topic, partitions: PARTITIONS },
    { topic: changelog.topic, partitions: PARTITIONS, cleanupPolicy: 'compact' },
  ]);
  const analyzer = new ConversationAnalyzer();
  let bytes = 0;
  const now = Date.now();
  for (let i = 0; i < n; i += 1000) {
    const batch: Array<{ key: string; partition: number; value: ConversationState }> = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const conversationId = `restore-${j}`;
      const key = `platform-bench/${conversationId}`;
      const messages = j % 10 === 0 ? groomingConversation({ conversationId, platformId: 'platform-bench' }).slice(0, 8) : benignConversation(conversationId, now).slice(0, 6);
      let state = analyzer.createState({ conversationId: key, language: 'en', participants: [{ id: messages[0]!.senderId }, { id: messages[1]!.senderId, ageBand: 'minor' }] });
      for (const m of messages) state = analyzer.update(state, { id: m.messageId, senderId: m.senderId, sentAtMs: m.sentAtMs, text: m.text }).state;
      const stateBytes = Buffer.from(analyzer.serialize(state));
      bytes += stateBytes.length;
      batch.push({ key, partition: partitionForKey(Buffer.from(key), PARTITIONS), value: { platformId: 'platform-bench', conversationId, stateBytes, lastOffset: 5, updatedAtMs: now, pendingAlert: null, recentMessageFingerprints: Buffer.alloc(0) } });
    }
    await send(admin, changelog, batch);
  }
  const t0 = performance.now();
  const { runtime, service } = await startService(prefix, {});
  const startSeconds = (performance.now() - t0) / 1000;
  const result = service.restores[0]!;
  await runtime.stop();
  await cleanup(admin, prefix);
  await admin.close();
  return {
    conversations: n,
    meanStateBytes: Math.round(bytes / n),
    recordsRead: result.recordsRead,
    loaded: result.loaded,
    restoreSeconds: round(result.seconds),
    conversationsPerSecond: Math.round(n / result.seconds),
    serviceStartSeconds: round(startSeconds),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function main(): Promise<void> {
  const load = os.loadavg();
  const runs: Array<Record<string, number>> = [];
  // Trials alternate the two settings so both see the same (shared, varying) machine load.
  for (let t = 0; t < TRIALS; t++) {
    for (const c of [1, 6]) {
      const r = await throughput(c);
      runs.push({ trial: t + 1, ...r });
      process.stdout.write(`throughput concurrency=${c} trial ${t + 1}: ${r.messagesPerSecond} msg/s (${r.messages} messages, ${r.alerts} alerts, ${r.seconds} s; ${r.messagesPerSecondInclStartup} msg/s incl. ${r.startupSeconds} s start; mean ${r.meanChangelogBatchRecords} states per changelog request; ${r.processCpuSecondsPerThousandMessages} CPU-s per 1000 msgs)\n`);
    }
  }
  const summary = [1, 6].map((c) => {
    const mine = runs.filter((r) => r.concurrency === c);
    return {
      concurrency: c,
      medianMessagesPerSecond: median(mine.map((r) => r.messagesPerSecond!)),
      bestMessagesPerSecond: Math.max(...mine.map((r) => r.messagesPerSecond!)),
      medianCpuSecondsPerThousandMessages: median(mine.map((r) => r.processCpuSecondsPerThousandMessages!)),
      medianChangelogBatchRecords: median(mine.map((r) => r.meanChangelogBatchRecords!)),
    };
  });
  for (const s of summary) {
    process.stdout.write(`concurrency=${s.concurrency}: median ${s.medianMessagesPerSecond} msg/s (best ${s.bestMessagesPerSecond}), ${s.medianCpuSecondsPerThousandMessages} CPU-s per 1000 msgs in the service process\n`);
  }
  const restores: Array<Record<string, number>> = [];
  for (const n of RESTORE_SIZES) {
    const r = await restore(n);
    restores.push(r);
    process.stdout.write(`restore ${n} conversations: ${r.restoreSeconds} s (${r.conversationsPerSecond}/s, ${r.recordsRead} records read, mean state ${r.meanStateBytes} B; service start ${r.serviceStartSeconds} s)\n`);
  }
  const out = {
    bench: 'grooming-service',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverageAtStart: load.map((x) => Math.round(x * 100) / 100),
    loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    broker: 'single local Kafka 3.9 (KRaft), acks=all, idempotent producer',
    trials: TRIALS,
    throughputSummary: summary,
    ratioConcurrency6To1: round(summary[1]!.medianMessagesPerSecond / summary[0]!.medianMessagesPerSecond),
    cpuRatioConcurrency6To1: round(summary[1]!.medianCpuSecondsPerThousandMessages / summary[0]!.medianCpuSecondsPerThousandMessages),
    throughput: runs,
    restore: restores,
  };
  const file = path.join(__dirname, '..', '..', '..', 'bench', 'results', 'grooming-service.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
