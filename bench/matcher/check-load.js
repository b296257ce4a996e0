'use strict';
/**
 * Latency and throughput of the synchronous check API (POST /v1/check) under load.
 *
 * A replica of the real matcher service (own process, check API on, hashing pool of --threads
 * workers, default admission) holds a bank of --background random PDQ entries plus the PDQ of
 * every reference vector image (test/fixtures/pdq-vectors, benign). For each --concurrency level, that
 * many clients in this process POST the images (round robin, raw bytes, image/*) back to back for
 * --seconds after a warm-up; latency is measured per request (client side: send → full answer).
 * 503 at_capacity answers (admission control) are counted apart, not in the latency figures; the
 * client then waits as Retry-After says (1 s).
 *
 * Reference in the same run: the hashing library alone (hashImage, exact mode, the same images,
 * one thread in this process with one libvips thread, like a pool worker), timed before and
 * after the load levels; `rpsToLibraryRatio` = API throughput / (threads × library images per
 * second): what HTTP, transfer to the worker and matching cost, and how well the pool scales.
 *
 *   node bench/matcher/check-load.js [--threads 2] [--concurrency 1,2,4,8] [--seconds 20] [--background 100000]
 * Needs: npm run build, npm run infra:up. Writes bench/results/matcher-check.json.
 */
const { randomBytes } = require('node:crypto');
const { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { configureSharp, hashImage } = require('@safeguard/hashing');
const { createTransport } = require('@safeguard/kafka');
const { topics, renameTopic, indicatorKey } = require('@safeguard/schemas');
const c = require('./common');

const THREADS = Number(c.arg('threads', '2'));
const LEVELS = c.arg('concurrency', '1,2,4,8').split(',').map(Number);
const SECONDS = Number(c.arg('seconds', '20'));
const BACKGROUND = Number(c.arg('background', '100000'));
const VECTORS = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'pdq-vectors');
const KEY = randomBytes(24).toString('hex');

function images() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ name: path.relative(path.join(VECTORS, 'images'), p), bytes: readFileSync(p), type: name.endsWith('.png') ? 'image/png' : name.endsWith('.webp') ? 'image/webp' : 'image/jpeg' });
    }
  };
  walk(path.join(VECTORS, 'images'));
  return out;
}

async function load(port, imgs, concurrency, seconds) {
  const latencies = [];
  const statuses = {};
  const decisions = {};
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const img = imgs[next++ % imgs.length];
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/v1/check`, { method: 'POST', headers: { 'content-type': img.type, authorization: `Bearer ${KEY}` }, body: img.bytes });
      const body = await res.json();
      const ms = performance.now() - t0;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        latencies.push(ms);
        decisions[body.decision] = (decisions[body.decision] ?? 0) + 1;
      } else if (res.status === 503) {
        // A well-behaved client honours Retry-After (1 s), as a platform's upload path would.
        await c.sleep(1000 * Number(res.headers.get('retry-after') ?? '1'));
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const wall = (performance.now() - started) / 1000;
  return { concurrency, seconds: c.r3(wall), ok: latencies.length, rps: c.r3(latencies.length / wall), latencyMs: c.summary(latencies), statuses, decisions };
}

/** The library alone on one thread (one libvips thread, like a pool worker): ms per image over one timed pass after a warm pass. */
async function reference(imgs) {
  configureSharp({ concurrency: 1 });
  const perImage = [];
  for (let pass = 0; pass < 2; pass++) {
    for (const img of imgs) {
      const t0 = performance.now();
      try {
        await hashImage(img.bytes, {});
      } catch {
        // refused images (e.g. too small) cost time too
      }
      if (pass === 1) perImage.push(performance.now() - t0);
    }
  }
  return perImage;
}

async function main() {
  const imgs = images();
  const expected = readFileSync(path.join(VECTORS, 'expected.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const prefix = `bench-check-${randomBytes(4).toString('hex')}.`;
  const transport = createTransport({ kind: 'kafka', brokers: c.BROKERS.split(','), clientId: 'bench-check', schemaRegistryUrl: c.REGISTRY });
  const binding = renameTopic(topics.indicatorUpdated, `${prefix}${topics.indicatorUpdated.topic}`);
  const startedAt = new Date().toISOString();
  let replica;
  try {
    await transport.admin().ensureTopics([{ topic: binding.topic, partitions: topics.indicatorUpdated.partitions, cleanupPolicy: 'compact' }]);
    const producer = transport.producer();
    const vectorEntries = [...new Set(expected.filter(([, q]) => Number(q) >= 50).map(([h]) => h))];
    await producer.send(binding, vectorEntries.map((h, i) => ({ key: indicatorKey('vectors', `v-${i}`), value: c.indicatorValue('vectors', 'BLOCK', `v-${i}`, h) })));
    for (let i = 0; i < BACKGROUND; i += 5000) {
      const batch = [];
      for (let j = i; j < Math.min(BACKGROUND, i + 5000); j++) batch.push({ key: indicatorKey('background', `bg-${j}`), value: c.indicatorValue('background', 'REVIEW', `bg-${j}`, c.randomPdq()) });
      await producer.send(binding, batch);
    }
    replica = c.spawnReplica('check-replica', {
      SAFEGUARD_TOPIC_PREFIX: prefix,
      MATCHER_CHECK_API: 'true',
      MATCHER_HTTP_PORT: '0',
      MATCHER_API_KEYS: `bench:${KEY}`,
      MATCHER_CHECK_THREADS: String(THREADS),
    });
    const ready = await replica.ready;
    c.log(`replica ready on port ${ready.httpPort} with ${ready.entries} entries; ${imgs.length} images`);
    const before = await reference(imgs);
    await load(ready.httpPort, imgs, 2, 3); // warm-up
    const levels = [];
    for (const n of LEVELS) {
      const r = await load(ready.httpPort, imgs, n, SECONDS);
      levels.push(r);
      c.log(`concurrency ${n}: ${r.rps} rps, p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, p99 ${r.latencyMs.p99} ms, statuses ${JSON.stringify(r.statuses)}`);
    }
    await replica.stop();
    replica = undefined;

    const after = await reference(imgs);
    const perImage = [...before, ...after];
    const libraryImagesPerSecond = 1000 / (perImage.reduce((a, b) => a + b, 0) / perImage.length);
    const best = levels.reduce((a, b) => (b.rps > a.rps ? b : a));
    const result = {
      benchmark: 'matcher-check',
      started: startedAt,
      finished: new Date().toISOString(),
      command: `node bench/matcher/check-load.js --threads ${THREADS} --concurrency ${LEVELS.join(',')} --seconds ${SECONDS} --background ${BACKGROUND}`,
      machine: c.machine(),
      notes:
        'Client-side latency of 200 answers (send → full JSON answer), the load generator in the same machine (2 cores shared with the replica, its workers, the broker and other jobs). Images: all 43 files of shared/pdq-vectors (7 KB–1.2 MB, up to 4 MP), round robin. Bank: the vector hashes (block) plus random review entries. 503 = admission control (threads + 2 × threads admitted).',
      threads: THREADS,
      images: imgs.length,
      bankEntries: ready.entries,
      levels,
      reference: {
        system: '@safeguard/hashing hashImage alone (exact mode), 1 thread (1 libvips thread), same images, timed before and after the load',
        imagesPerSecondPerThread: c.r3(libraryImagesPerSecond),
        msPerImage: c.summary(perImage),
        msPerImageBefore: c.summary(before),
        msPerImageAfter: c.summary(after),
      },
      best: { concurrency: best.concurrency, rps: best.rps, rpsToLibraryRatio: c.r3(best.rps / (THREADS * libraryImagesPerSecond)) },
    };
    mkdirSync(c.RESULTS, { recursive: true });
    writeFileSync(path.join(c.RESULTS, 'matcher-check.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify({ levels: levels.map((l) => ({ c: l.concurrency, rps: l.rps, ...l.latencyMs, statuses: l.statuses })), reference: result.reference.imagesPerSecondPerThread, best: result.best }, null, 2));
  } finally {
    if (replica) await replica.stop().catch(() => undefined);
    const names = (await transport.admin().listTopics()).filter((t) => t.startsWith(prefix));
    await transport.admin().deleteTopics(names).catch(() => undefined);
    await transport.close();
  }
}

main().catch((err) => {
  c.log(err.stack);
  process.exit(1);
});
