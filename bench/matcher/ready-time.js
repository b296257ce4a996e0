'use strict';
/**
 * Time for a matcher replica to become ready from the compacted indicator topic, by bank size.
 *
 * For each size: a TSV bank file of random PDQ entries is imported with `safeguard bank import`
 * (timed: validation, diff against the topic, publication), then a fresh replica of the real
 * matcher service starts in its own process: spawn → /readyz ready (index read to the end of the
 * topic, PDQ indexes compacted, consumer joined), and the service's own load time
 * (safeguard_matcher_index_load_seconds: reader start → caught up). Reference in the same run:
 * the matching library building the same bank from the file in memory (build-reference.js), so
 * the ratio is what reading from Kafka (fetching, Avro decoding, mapping) adds.
 *
 *   node bench/matcher/ready-time.js [--sizes 100000,1000000] [--trials 2]
 * Needs: npm run build, npm run infra:up. Writes bench/results/matcher-ready.json.
 */
const { execFile } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { createWriteStream, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { promisify } = require('node:util');
const { createTransport } = require('@safeguard/kafka');
const c = require('./common');

const SIZES = c.arg('sizes', '100000,1000000').split(',').map(Number);
const TRIALS = Number(c.arg('trials', '2'));
const CLI = path.join(c.ROOT, 'packages', 'cli', 'bin', 'safeguard.js');
const run = promisify(execFile);

async function writeBank(file, n) {
  const out = createWriteStream(file);
  for (let i = 0; i < n; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(n, i + 10_000); j++) chunk += `entry-${j}\tpdq\t${c.randomPdq()}\n`;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

async function main() {
  mkdirSync(c.WORK, { recursive: true });
  const transport = createTransport({ kind: 'kafka', brokers: c.BROKERS.split(','), clientId: 'bench-ready', schemaRegistryUrl: c.REGISTRY });
  const startedAt = new Date().toISOString();
  const results = [];
  try {
    for (const size of SIZES) {
      const prefix = `bench-ready-${randomBytes(4).toString('hex')}.`;
      const file = path.join(c.WORK, `bank-${size}.tsv`);
      try {
        await writeBank(file, size);
        c.log(`size ${size}: importing with the CLI`);
        const t0 = performance.now();
        const { stdout } = await run(process.execPath, ['--max-old-space-size=8192', CLI, 'bank', 'import', '--bank', 'bench-bank', '--kind', 'block', '--source', 'benchmark', '--brokers', c.BROKERS, '--registry', c.REGISTRY, '--topic-prefix', prefix, '--timeout-ms', '600000', file], { maxBuffer: 1 << 20 });
        const importSeconds = (performance.now() - t0) / 1000;
        const imported = JSON.parse(stdout.trim().split('\n').pop());
        c.log(`size ${size}: imported ${imported.published} records in ${importSeconds.toFixed(1)} s`);
        const trials = [];
        for (let t = 0; t < TRIALS; t++) {
          const replica = c.spawnReplica(`replica-${size}-${t}`, { SAFEGUARD_TOPIC_PREFIX: prefix });
          const ready = await replica.ready;
          await replica.stop();
          const refOut = await run(process.execPath, ['--max-old-space-size=8192', path.join(__dirname, 'build-reference.js'), file], { maxBuffer: 1 << 20 });
          const reference = JSON.parse(refOut.stdout);
          trials.push({
            spawnToReadySeconds: c.r3(ready.spawnToReadyMs / 1000),
            indexLoadSeconds: c.r3(ready.loadSeconds),
            entries: ready.entries,
            rssBytes: ready.rssBytes,
            referenceBuildSeconds: c.r3(reference.seconds),
            referenceRssBytes: reference.rssBytes,
            loadToReferenceRatio: c.r3(ready.loadSeconds / reference.seconds),
          });
          c.log(`size ${size} trial ${t + 1}: ready ${ready.spawnToReadyMs} ms after spawn (load ${ready.loadSeconds.toFixed(2)} s, ${ready.entries} entries, rss ${(ready.rssBytes / 2 ** 20).toFixed(0)} MiB); reference build ${reference.seconds.toFixed(2)} s`);
        }
        const med = (k) => c.median(trials.map((t) => t[k]));
        results.push({
          entries: size,
          importSeconds: c.r3(importSeconds),
          importedRecords: imported.published,
          trials,
          median: { spawnToReadySeconds: med('spawnToReadySeconds'), indexLoadSeconds: med('indexLoadSeconds'), referenceBuildSeconds: med('referenceBuildSeconds'), loadToReferenceRatio: med('loadToReferenceRatio') },
        });
      } finally {
        rmSync(file, { force: true });
        const names = (await transport.admin().listTopics()).filter((n) => n.startsWith(prefix));
        await transport.admin().deleteTopics(names).catch(() => undefined);
      }
    }
  } finally {
    await transport.close();
  }
  const result = {
    benchmark: 'matcher-ready',
    started: startedAt,
    finished: new Date().toISOString(),
    command: `node bench/matcher/ready-time.js --sizes ${SIZES.join(',')} --trials ${TRIALS}`,
    machine: c.machine(),
    notes:
      'spawnToReadySeconds: child process spawn to the service resolving start (index read to the end of the compacted topic with 6 partitions, PDQ indexes compacted, consumer joined). indexLoadSeconds: the service\'s own reader start → caught up. Reference: the matching library building the same bank from the TSV file in memory, single thread (build-reference.js). importSeconds: `safeguard bank import` of the file into an empty bank (read topic, validate, diff, publish).',
    results,
  };
  mkdirSync(c.RESULTS, { recursive: true });
  writeFileSync(path.join(c.RESULTS, 'matcher-ready.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(results.map((r) => ({ entries: r.entries, importSeconds: r.importSeconds, ...r.median })), null, 2));
}

main().catch((err) => {
  c.log(err.stack);
  process.exit(1);
});
