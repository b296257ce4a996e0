'use strict';
/**
 * How fast a new or disabled entry takes effect on EVERY matcher replica.
 *
 * R replicas of the real matcher service (each its own process, each reading every partition of
 * the compacted indicator topic with its own reader) run against the real broker, on a bank of
 * --background random PDQ entries. For each of --updates rounds: a new entry is published to the
 * topic and the clock runs until every replica matches a near-duplicate query (8 bits away); then
 * the entry is published as DISABLED and the clock runs until every replica stops matching it.
 * Each replica polls its own index every 2 ms, so the figures include up to 2 ms of polling.
 * Published through the producer (the topic write an import or `bank disable` ends with); a few
 * rounds through the CLI (`safeguard bank disable`, a new process that reads the entry's state
 * first) show the operator's end-to-end time too.
 *
 * Reference: HMA's published goal, new or disabled hashes effective within 10 minutes (not run here).
 *
 *   node bench/matcher/propagation.js [--replicas 3] [--updates 50] [--background 100000] [--cli-updates 3]
 * Needs: npm run build, npm run infra:up. Writes bench/results/matcher-propagation.json.
 */
const { execFile } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { createTransport } = require('@safeguard/kafka');
const { topics, renameTopic, indicatorKey } = require('@safeguard/schemas');
const c = require('./common');

const REPLICAS = Number(c.arg('replicas', '3'));
const UPDATES = Number(c.arg('updates', '50'));
const BACKGROUND = Number(c.arg('background', '100000'));
const CLI_UPDATES = Number(c.arg('cli-updates', '3'));
const BANK = 'bench-bank';
const CLI = path.join(c.ROOT, 'packages', 'cli', 'bin', 'safeguard.js');

async function main() {
  const prefix = `bench-matcher-${randomBytes(4).toString('hex')}.`;
  const transport = createTransport({ kind: 'kafka', brokers: c.BROKERS.split(','), clientId: 'bench-propagation', schemaRegistryUrl: c.REGISTRY });
  const binding = renameTopic(topics.indicatorUpdated, `${prefix}${topics.indicatorUpdated.topic}`);
  const producer = transport.producer();
  const replicas = [];
  const startedAt = new Date().toISOString();
  try {
    await transport.admin().ensureTopics([{ topic: binding.topic, partitions: topics.indicatorUpdated.partitions, cleanupPolicy: 'compact' }]);
    c.log(`preloading ${BACKGROUND} background entries`);
    for (let i = 0; i < BACKGROUND; i += 5000) {
      const batch = [];
      for (let j = i; j < Math.min(BACKGROUND, i + 5000); j++) batch.push({ key: indicatorKey(BANK, `bg-${j}`), value: c.indicatorValue(BANK, 'BLOCK', `bg-${j}`, c.randomPdq()) });
      await producer.send(binding, batch);
    }
    for (let r = 0; r < REPLICAS; r++) replicas.push(c.spawnReplica(`replica-${r}`, { SAFEGUARD_TOPIC_PREFIX: prefix }));
    const ready = await Promise.all(replicas.map((r) => r.ready));
    c.log(`replicas ready: ${ready.map((x) => `${x.entries} entries in ${x.loadSeconds.toFixed(2)} s`).join(', ')}`);

    /** Publishes with `publish`, returns each replica's latency (ms) until `hash` matches (expect) or not. */
    const measure = async (id, hash, expect, publish) => {
      for (const r of replicas) r.send({ type: 'watch', id, hash, expect });
      const seen = replicas.map((r) => r.next((m) => m.type === 'seen' && m.id === id, 120_000));
      const t0 = Date.now();
      await publish();
      return (await Promise.all(seen)).map((m) => m.atMs - t0);
    };
    const added = [];
    const disabled = [];
    const perReplica = replicas.map(() => []);
    for (let i = 0; i < UPDATES; i++) {
      const entryId = `probe-${i}`;
      const hash = c.randomPdq();
      const query = c.nearPdq(hash, 8);
      const value = c.indicatorValue(BANK, 'BLOCK', entryId, hash);
      const add = await measure(`add-${i}`, query, true, () => producer.send(binding, [{ key: indicatorKey(BANK, entryId), value }]));
      const dis = await measure(`disable-${i}`, query, false, () =>
        producer.send(binding, [{ key: indicatorKey(BANK, entryId), value: { ...value, status: 'DISABLED', reason: 'false_positive', updatedAtMs: Date.now() } }]),
      );
      added.push(...add);
      disabled.push(...dis);
      add.forEach((ms, r) => perReplica[r].push(ms, dis[r]));
      c.log(`round ${i + 1}/${UPDATES}: add max ${Math.max(...add)} ms, disable max ${Math.max(...dis)} ms`);
      await c.sleep(100 + Math.random() * 200);
    }

    // End to end through the CLI: a new process connects, reads the entry's partition, publishes.
    const cli = [];
    for (let i = 0; i < CLI_UPDATES; i++) {
      const entryId = `cli-probe-${i}`;
      const hash = c.randomPdq();
      const query = c.nearPdq(hash, 8);
      await measure(`cli-add-${i}`, query, true, () => producer.send(binding, [{ key: indicatorKey(BANK, entryId), value: c.indicatorValue(BANK, 'BLOCK', entryId, hash) }]));
      const dis = await measure(`cli-disable-${i}`, query, false, () =>
        promisify(execFile)(process.execPath, [CLI, 'bank', 'disable', '--bank', BANK, entryId, '--brokers', c.BROKERS, '--registry', c.REGISTRY, '--topic-prefix', prefix]),
      );
      cli.push(...dis);
      c.log(`cli round ${i + 1}/${CLI_UPDATES}: disable max ${Math.max(...dis)} ms`);
    }

    const all = [...added, ...disabled];
    const result = {
      benchmark: 'matcher-propagation',
      started: startedAt,
      finished: new Date().toISOString(),
      command: `node bench/matcher/propagation.js --replicas ${REPLICAS} --updates ${UPDATES} --background ${BACKGROUND} --cli-updates ${CLI_UPDATES}`,
      machine: c.machine(),
      notes:
        'Latency = publish start (producer.send, acks=all) to the moment each replica\'s own index answers the near-duplicate query (8 bits away) as expected; each replica polls every 2 ms. Replicas are separate processes of services/matcher/dist with their own readers over all 6 partitions. cli = `safeguard bank disable` as a new process (connect, read the entry\'s partition, publish) until every replica stopped matching.',
      replicas: REPLICAS,
      backgroundEntries: BACKGROUND,
      replicaLoad: ready.map((x) => ({ entries: x.entries, loadSeconds: x.loadSeconds, spawnToReadyMs: x.spawnToReadyMs, rssBytes: x.rssBytes })),
      latencyMs: { newEntry: c.summary(added), disabledEntry: c.summary(disabled), all: c.summary(all), cliDisable: c.summary(cli) },
      perReplicaMs: perReplica.map((xs, r) => ({ replica: r, ...c.summary(xs) })),
      reference: { system: 'HMA 2.0 (published goal)', newOrDisabledEffectiveWithinMs: 600_000 },
      ratioToReference: { p50: c.r3(600_000 / c.pct(all, 50)), max: c.r3(600_000 / Math.max(...all)) },
    };
    mkdirSync(c.RESULTS, { recursive: true });
    writeFileSync(path.join(c.RESULTS, 'matcher-propagation.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result.latencyMs, null, 2));
  } finally {
    await Promise.all(replicas.map((r) => r.stop().catch(() => undefined)));
    const names = (await transport.admin().listTopics()).filter((t) => t.startsWith(prefix));
    await transport.admin().deleteTopics(names).catch(() => undefined);
    await transport.close();
  }
}

main().catch((err) => {
  c.log(err.stack);
  process.exit(1);
});
