'use strict';
/**
 * Pipeline diagnostic: the hasher service (in this process, real broker) with a worker that
 * sleeps BENCH_SLEEP_MS per task and uses no CPU. The ideal rate is pool / sleep; the shortfall is
 * what consuming, fetching, Avro, the hand-off, per-partition order and kafkajs fetch rounds cost.
 *
 *   BENCH_SLEEP_MS=50 node bench/hasher/pipeline.js [--messages 400] [--pool 2] [--configs 4:2,6:4] [--repeat 3]
 * (--configs: consumer concurrency:queue bound pairs, each run --repeat times, configurations
 * interleaved; the median efficiency is reported). Prints JSON and writes
 * bench/results/hasher-pipeline.json.
 */
const { randomBytes } = require('node:crypto');
const { writeFileSync, mkdirSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createTransport } = require('@safeguard/kafka');
const { topics } = require('@safeguard/schemas');
const { ServiceRuntime } = require('@safeguard/service-runtime');
const { hasherConfigSchema, startHasher } = require('@safeguard/hasher');

const args = process.argv.slice(2);
const arg = (name, dflt) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : dflt);
const MESSAGES = Number(arg('--messages', '400'));
const POOL = Number(arg('--pool', '2'));
const CONFIGS = arg('--configs', '2:0,4:2,6:4').split(',').map((c) => c.split(':').map(Number));
const REPEAT = Number(arg('--repeat', '3'));
const SLEEP_MS = Number(process.env.BENCH_SLEEP_MS ?? '50');
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const WORK = path.resolve(__dirname, '..', '.work', 'hasher');

async function runConfig(concurrency, maxQueue) {
  const prefix = `bench-pipeline-${randomBytes(4).toString('hex')}.`;
  mkdirSync(WORK, { recursive: true });
  writeFileSync(path.join(WORK, 'tiny.bin'), 'x');
  const config = hasherConfigSchema.parse({
    KAFKA_BROKERS: BROKERS,
    SCHEMA_REGISTRY_URL: REGISTRY,
    SAFEGUARD_TOPIC_PREFIX: prefix,
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    HASHER_POOL_SIZE: String(POOL),
    HASHER_POOL_MAX_QUEUE: String(maxQueue),
    HASHER_CONCURRENCY: String(concurrency),
    HASHER_FILE_ROOTS: WORK,
  });
  const runtime = await ServiceRuntime.start({ service: 'hasher', common: config.common, healthServer: false });
  await startHasher(config, runtime, { workerFile: path.join(__dirname, 'sleep-worker.js') });
  const input = runtime.topic(topics.contentSubmitted);
  const output = runtime.topic(topics.contentHashed);
  const admin = runtime.transport.admin();
  const count = async () => (await admin.listOffsets(output.topic)).reduce((s, p) => s + Number(p.high), 0);
  const records = Array.from({ length: MESSAGES }, (_, i) => ({
    value: {
      eventId: `p-${i}`,
      platformId: 'bench',
      contentId: `c-${i}`,
      uploaderAccountId: null,
      contentKind: 'IMAGE',
      media: { uri: `file://${WORK}/tiny.bin`, inlineBytes: null, mimeType: null, sizeBytes: null },
      uploadContext: null,
      channel: 'kafka',
      submittedAtMs: Date.now(),
    },
  }));
  // warm-up
  await runtime.transport.producer().send(input, records.slice(0, 10));
  while ((await count()) < 10) await new Promise((r) => setTimeout(r, 20));
  const started = performance.now();
  await runtime.transport.producer().send(input, records);
  while ((await count()) < MESSAGES + 10) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  const metrics = await runtime.registry.getMetricsAsJSON();
  const paused = metrics.find((m) => m.name === 'safeguard_messages_consumed_total')?.values.filter((v) => v.labels.outcome === 'paused').reduce((s, v) => s + v.value, 0) ?? 0;
  await runtime.stop();
  const t = createTransport({ kind: 'kafka', brokers: BROKERS.split(','), clientId: 'bench-cleanup', schemaRegistryUrl: REGISTRY });
  await t.admin().deleteTopics((await t.admin().listTopics()).filter((n) => n.startsWith(prefix)));
  await t.close();
  const ideal = POOL / (SLEEP_MS / 1000);
  return { concurrency, maxQueue, messagesPerSecond: MESSAGES / seconds, ideal, efficiency: MESSAGES / seconds / ideal, capacityPauses: paused };
}

(async () => {
  const runs = CONFIGS.map(() => []);
  for (let rep = 0; rep < REPEAT; rep++) {
    for (const [i, [c, q]] of CONFIGS.entries()) {
      const r = await runConfig(c, q);
      process.stderr.write(`concurrency ${c} queue ${q}: ${r.messagesPerSecond.toFixed(1)}/s of ideal ${r.ideal} (${(100 * r.efficiency).toFixed(1)} %), capacity pauses ${r.capacityPauses}\n`);
      runs[i].push(r);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const out = CONFIGS.map(([c, q], i) => ({
    concurrency: c,
    maxQueue: q,
    medianEfficiency: median(runs[i].map((r) => r.efficiency)),
    medianMessagesPerSecond: median(runs[i].map((r) => r.messagesPerSecond)),
    runs: runs[i],
  }));
  const result = { benchmark: 'hasher-pipeline', date: new Date().toISOString(), sleepMs: SLEEP_MS, pool: POOL, messages: MESSAGES, cpus: os.cpus().length, loadAverage: os.loadavg(), results: out };
  writeFileSync(path.resolve(__dirname, '..', 'results', 'hasher-pipeline.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
