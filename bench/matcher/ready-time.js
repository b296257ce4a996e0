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
 * With `--baseline DIR` (a copy of packages/domain with its dist/, e.g. the library before a
 * change), every trial also runs a replica and the reference on that library (baseline-hook.js),
 * in alternating order, so the two are compared under the same load.
 *
 *   node bench/matcher/ready-time.js [--sizes 100000,1000000] [--trials 2] [--baseline DIR]
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
const BASELINE = c.arg('baseline', null);
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
          const libs = BASELINE ? (t % 2 === 0 ? ['current', 'baseline'] : ['baseline', 'current']) : ['current'];
          const got = {};
          for (const lib of libs) {
            const env = lib === 'baseline' ? { SAFEGUARD_BENCH_DOMAIN_DIR: path.resolve(BASELINE) } : {};
            const replica = c.spawnReplica(`replica-${size}-${t}-${lib}`, { SAFEGUARD_TOPIC_PREFIX: prefix, ...env });
            const ready = await replica.ready;
            await replica.stop();
            const hook = lib === 'baseline' ? ['-r', path.join(__dirname, 'baseline-hook.js')] : [];
            const refOut = await run(process.execPath, ['--max-old-space-size=8192', ...hook, path.join(__dirname, 'build-reference.js'), file], { maxBuffer: 1 << 20, env: { ...process.env, ...env } });
            got[lib] = { ready, reference: JSON.parse(refOut.stdout) };
            c.log(`size ${size} trial ${t + 1} ${lib}: ready ${ready.spawnToReadyMs} ms after spawn (load ${ready.loadSeconds.toFixed(2)} s, cpu ${ready.cpuSeconds.toFixed(2)} s, ${ready.entries} entries, rss ${(ready.rssBytes / 2 ** 20).toFixed(0)} MiB); reference build ${got[lib].reference.seconds.toFixed(2)} s`);
          }
          const fields = ({ ready, reference }) => ({
            spawnToReadySeconds: c.r3(ready.spawnToReadyMs / 1000),
            indexLoadSeconds: c.r3(ready.loadSeconds),
            cpuSecondsToReady: c.r3(ready.cpuSeconds),
            entries: ready.entries,
            rssBytes: ready.rssBytes,
            heapUsedBytes: ready.heapUsedBytes,
            referenceBuildSeconds: c.r3(reference.seconds),
            referenceCpuSeconds: c.r3(reference.cpuSeconds),
            referenceRssBytes: reference.rssBytes,
            loadToReferenceRatio: c.r3(ready.loadSeconds / reference.seconds),
          });
          const trial = fields(got.current);
          if (got.baseline) {
            trial.baseline = fields(got.baseline);
            trial.readyToBaselineRatio = c.r3(trial.spawnToReadySeconds / trial.baseline.spawnToReadySeconds);
            trial.rssToBaselineRatio = c.r3(trial.rssBytes / trial.baseline.rssBytes);
          }
          trials.push(trial);
        }
        const med = (k) => c.median(trials.map((t) => t[k]));
        results.push({
          entries: size,
          importSeconds: c.r3(importSeconds),
          importedRecords: imported.published,
          trials,
          median: {
            spawnToReadySeconds: med('spawnToReadySeconds'),
            indexLoadSeconds: med('indexLoadSeconds'),
            cpuSecondsToReady: med('cpuSecondsToReady'),
            rssBytes: med('rssBytes'),
            referenceBuildSeconds: med('referenceBuildSeconds'),
            loadToReferenceRatio: med('loadToReferenceRatio'),
            ...(BASELINE
              ? {
                  baselineSpawnToReadySeconds: c.median(trials.map((t) => t.baseline.spawnToReadySeconds)),
                  baselineIndexLoadSeconds: c.median(trials.map((t) => t.baseline.indexLoadSeconds)),
                  baselineCpuSecondsToReady: c.median(trials.map((t) => t.baseline.cpuSecondsToReady)),
                  baselineRssBytes: c.median(trials.map((t) => t.baseline.rssBytes)),
                  baselineReferenceBuildSeconds: c.median(trials.map((t) => t.baseline.referenceBuildSeconds)),
                  readyToBaselineRatio: med('readyToBaselineRatio'),
                  rssToBaselineRatio: med('rssToBaselineRatio'),
                }
              : {}),
          },
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
    command: `node bench/matcher/ready-time.js --sizes ${SIZES.join(',')} --trials ${TRIALS}${BASELINE ? ` --baseline ${BASELINE}` : ''}`,
    machine: c.machine(),
    notes:
      'spawnToReadySeconds: child process spawn to the service resolving start (index read to the end of the compacted topic with 6 partitions, PDQ indexes compacted, consumer joined). indexLoadSeconds: the service\'s own reader start → caught up. cpuSecondsToReady: CPU time of the replica process from its start to ready (robust to the shared machine\'s other load). Reference: the matching library building the same bank from the TSV file in memory, single thread (build-reference.js: bulk load, then compactAll). baseline (with --baseline): the same replica and reference on another copy of the matching library, alternating order per trial; rssBytes is the replica\'s RSS when ready. importSeconds: `safeguard bank import` of the file into an empty bank (read topic, validate, diff, publish).',
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
