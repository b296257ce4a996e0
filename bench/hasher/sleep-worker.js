'use strict';
// Diagnostic stand-in for the hash worker (bench/hasher/pipeline.js): every task takes exactly
// SLEEP_MS of wall time and no CPU, and returns a fixed image result. With it, the service's
// rate against the ideal (pool size / SLEEP_MS) shows what the pipeline itself loses (fetch,
// Avro, hand-off, partition ordering, fetch rounds), independently of CPU contention.
const { setTimeout: sleep } = require('node:timers/promises');

const SLEEP_MS = Number(process.env.BENCH_SLEEP_MS ?? '50');
const result = {
  kind: 'image',
  format: 'jpeg',
  width: 100,
  height: 100,
  mode: 'exact',
  pdq: '0'.repeat(64),
  quality: 100,
  md5: '0'.repeat(32),
  sha1: '0'.repeat(40),
  sha256: '0'.repeat(64),
};

module.exports = async function hash() {
  await sleep(SLEEP_MS);
  return { outcome: { ok: true, result }, timings: { pdq: SLEEP_MS / 1000 }, busySeconds: SLEEP_MS / 1000 };
};
module.exports.versions = () => ({ sharp: 'none', libvips: 'none' });
