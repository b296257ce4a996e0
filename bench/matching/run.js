'use strict';
// Matching benchmark: Safeguard's MihPdqIndex vs FAISS IndexBinaryMultiHash(256, 16, 16)
// (HMA's matcher) vs a brute-force scan, single-threaded each, on the same data, interleaved.
//
//   npx turbo run build --filter=@safeguard/domain
//   python3 -m venv bench/.work/venv && bench/.work/venv/bin/pip install faiss-cpu numpy
//   node bench/matching/run.js [--sizes 1000000,10000000] [--kinds uniform,clustered]
//        [--queries 2000] [--brute-queries 200] [--updates 2000]
//
// Writes bench/results/matching.json.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { makeBank, makeQueries, makeEdgeQueries, writeWords } = require('./data');

const root = path.resolve(__dirname, '..', '..');
const work = path.join(root, 'bench', '.work', 'matching');
const python = path.join(root, 'bench', '.work', 'venv', 'bin', 'python');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const sizes = arg('sizes', '1000000,10000000').split(',').map(Number);
const kinds = arg('kinds', 'uniform,clustered').split(',');
const queryCount = Number(arg('queries', '2000'));
const bruteCount = Number(arg('brute-queries', '200'));
const updateCount = Number(arg('updates', '2000'));
const RADIUS = 31;
const BATCH = 250;
const EDGE = 64;

class Engine {
  constructor(name, cmd, args) {
    this.name = name;
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], cwd: __dirname });
    this.waiters = [];
    this.lines = [];
    readline.createInterface({ input: this.proc.stdout }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(JSON.parse(l));
      else this.lines.push(JSON.parse(l));
    });
    this.exited = new Promise((res) => this.proc.on('exit', res));
  }
  next() {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return new Promise((res, rej) => {
      this.waiters.push(res);
      this.exited.then((code) => rej(new Error(`${this.name} exited ${code}`)));
    });
  }
  send(cmd) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    return this.next();
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
// qpsPerCore: queries per CPU-second of the engine's process (robust to other load on the
// shared machine); wallQps: queries per wall-clock second of its batches; latencies are wall.
function summary(latencies, cpuMs) {
  const s = [...latencies].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const out = { count: s.length, meanMs: mean, p50Ms: pct(s, 50), p99Ms: pct(s, 99), maxMs: s[s.length - 1], wallQps: 1000 / mean };
  if (cpuMs !== undefined) Object.assign(out, { cpuMsPerQuery: cpuMs / s.length, qpsPerCore: (1000 * s.length) / cpuMs });
  return out;
}
const key = (hits) => hits.map(([id, d]) => `${id}:${d}`).join(',');
const round = (x, d = 3) => (x == null ? x : Number(x.toFixed(d)));

async function dataset(n, kind) {
  fs.mkdirSync(work, { recursive: true });
  const bankPath = path.join(work, `bank-${kind}-${n}.bin`);
  const queryPath = path.join(work, `queries-${kind}-${n}-${queryCount}-e${EDGE}.bin`);
  if (!fs.existsSync(bankPath) || !fs.existsSync(queryPath)) {
    const bank = makeBank(n, kind, 7 + n + (kind === 'uniform' ? 0 : 1));
    writeWords(bankPath, bank);
    // Queries 0..queryCount-1: the measured mix; then EDGE adversarial queries at distance 32.
    const q = new Uint32Array((queryCount + EDGE) * 8);
    q.set(makeQueries(bank, n, queryCount, 11));
    q.set(makeEdgeQueries(bank, n, EDGE, 13), queryCount * 8);
    writeWords(queryPath, q);
  }
  console.log(`\n== ${kind} ${n.toLocaleString()} hashes, ${queryCount} queries (brute force: first ${Math.min(bruteCount, queryCount)})`);
  // Build one engine at a time (2 shared cores), then interleave query batches.
  const mih = new Engine('mih', process.execPath, ['--expose-gc', 'node-server.js', 'mih', bankPath, queryPath]);
  const mihReady = await mih.next();
  console.log(`mih   built in ${mihReady.buildSeconds.toFixed(2)} s, RSS ${(mihReady.rssBytes / 2 ** 20).toFixed(0)} MiB, widths ${mihReady.stats.widths}`);
  const faiss = new Engine('faiss', python, ['faiss_server.py', bankPath, queryPath]);
  const faissReady = await faiss.next();
  console.log(`faiss built in ${faissReady.buildSeconds.toFixed(2)} s, RSS ${(faissReady.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  const brute = new Engine('brute', process.execPath, ['--expose-gc', 'node-server.js', 'brute', bankPath, queryPath]);
  const bruteReady = await brute.next();

  // Warm up (JIT, caches) on the first batch, unmeasured.
  for (const eng of [mih, faiss, brute]) await eng.send({ cmd: 'query', from: 0, to: Math.min(eng === brute ? 20 : BATCH, queryCount), radius: RADIUS });
  const lat = { mih: [], faiss: [], brute: [] };
  const cpuMs = { mih: 0, faiss: 0, brute: 0 };
  const res = { mih: [], faiss: [], brute: [] };
  for (let from = 0, b = 0; from < queryCount; from += BATCH, b++) {
    const to = Math.min(queryCount, from + BATCH);
    const order = b % 2 === 0 ? [['mih', mih], ['faiss', faiss]] : [['faiss', faiss], ['mih', mih]];
    for (const [name, eng] of order) {
      const r = await eng.send({ cmd: 'query', from, to, radius: RADIUS });
      lat[name].push(...r.latenciesMs);
      res[name].push(...r.results);
      cpuMs[name] += r.cpuMs;
    }
    if (from < bruteCount) {
      const r = await brute.send({ cmd: 'query', from, to: Math.min(to, bruteCount), radius: RADIUS });
      lat.brute.push(...r.latenciesMs);
      res.brute.push(...r.results);
      cpuMs.brute += r.cpuMs;
    }
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  let mihVsBrute = 0, faissVsBrute = 0, mihVsFaiss = 0, hits = 0, queriesWithHits = 0;
  for (let i = 0; i < queryCount; i++) {
    const m = key(res.mih[i]);
    if (m !== key(res.faiss[i])) mihVsFaiss++;
    hits += res.mih[i].length;
    if (res.mih[i].length) queriesWithHits++;
    if (i < res.brute.length) {
      if (m !== key(res.brute[i])) mihVsBrute++;
      if (key(res.faiss[i]) !== key(res.brute[i])) faissVsBrute++;
    }
  }
  // Beyond radius 31, FAISS with one flip per 16-bit slot is no longer exact: show it at 32
  // on the adversarial queries (2 flipped bits in every 16-bit slot).
  const cmd32 = { cmd: 'query', from: queryCount, to: queryCount + EDGE, radius: 32 };
  const b32 = await brute.send(cmd32);
  const m32 = await mih.send(cmd32);
  const f32 = await faiss.send(cmd32);
  const r32 = { queries: EDGE, bruteHits: 0, mihMissing: 0, faissMissing: 0, mihMismatchQueries: 0, faissMismatchQueries: 0 };
  for (let i = 0; i < EDGE; i++) {
    const want = new Set(b32.results[i].map(key1));
    r32.bruteHits += want.size;
    const mm = b32.results[i].length - m32.results[i].filter((h) => want.has(key1(h))).length;
    const fm = b32.results[i].length - f32.results[i].filter((h) => want.has(key1(h))).length;
    r32.mihMissing += mm;
    r32.faissMissing += fm;
    if (key(m32.results[i]) !== key(b32.results[i])) r32.mihMismatchQueries++;
    if (key(f32.results[i]) !== key(b32.results[i])) r32.faissMismatchQueries++;
  }
  const upd = await mih.send({ cmd: 'updates', count: updateCount });
  const mem = { mih: await mih.send({ cmd: 'memory' }), faiss: await faiss.send({ cmd: 'memory' }), brute: await brute.send({ cmd: 'memory' }) };
  for (const e of [mih, faiss, brute]) await e.send({ cmd: 'exit' });

  const out = {
    kind, n, queries: queryCount, radius: RADIUS,
    queriesWithHits, totalHits: hits,
    exactness: { comparedWithBrute: res.brute.length, mihVsBruteMismatches: mihVsBrute, faissVsBruteMismatches: faissVsBrute, mihVsFaissMismatches: mihVsFaiss, radius32: r32 },
    mih: { buildSeconds: round(mihReady.buildSeconds), rssBytes: mem.mih.rssBytes, peakRssBytes: mem.mih.peakRssBytes, rssAfterBuildBytes: mihReady.rssBytes, widths: mihReady.stats.widths, tableBytes: mihReady.stats.tableBytes, entryBytes: mihReady.stats.entryBytes, latency: summary(lat.mih, cpuMs.mih) },
    faiss: { version: faissReady.faissVersion, buildSeconds: round(faissReady.buildSeconds), rssBytes: mem.faiss.rssBytes, peakRssBytes: mem.faiss.peakRssBytes, latency: summary(lat.faiss, cpuMs.faiss) },
    brute: { rssBytes: mem.brute.rssBytes, latency: summary(lat.brute, cpuMs.brute) },
    updates: { count: updateCount, add: summary(upd.addMs), remove: summary(upd.removeMs), notVisible: upd.missed, statsBefore: upd.statsBefore, statsAfter: upd.statsAfter },
  };
  out.ratios = {
    mihQpsOverFaiss: round(out.mih.latency.qpsPerCore / out.faiss.latency.qpsPerCore, 2),
    mihQpsOverBrute: round(out.mih.latency.qpsPerCore / out.brute.latency.qpsPerCore, 2),
    mihWallQpsOverFaiss: round(out.mih.latency.wallQps / out.faiss.latency.wallQps, 2),
    mihP99OverFaissP99: round(out.mih.latency.p99Ms / out.faiss.latency.p99Ms, 3),
    mihRssOverFaiss: round(out.mih.rssBytes / out.faiss.rssBytes, 3),
    mihBuildOverFaiss: round(out.mih.buildSeconds / out.faiss.buildSeconds, 3),
  };
  const f = (x) => x.toFixed(3);
  console.log(`mih   ${out.mih.latency.qpsPerCore.toFixed(0)} q/s/core (cpu), wall ${out.mih.latency.wallQps.toFixed(0)} q/s  p50 ${f(out.mih.latency.p50Ms)} ms  p99 ${f(out.mih.latency.p99Ms)} ms  RSS ${(out.mih.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(`faiss ${out.faiss.latency.qpsPerCore.toFixed(0)} q/s/core (cpu), wall ${out.faiss.latency.wallQps.toFixed(0)} q/s  p50 ${f(out.faiss.latency.p50Ms)} ms  p99 ${f(out.faiss.latency.p99Ms)} ms  RSS ${(out.faiss.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  console.log(`brute ${out.brute.latency.qpsPerCore.toFixed(1)} q/s/core  p50 ${f(out.brute.latency.p50Ms)} ms`);
  console.log(`ratios ${JSON.stringify(out.ratios)}`);
  console.log(`exactness ${JSON.stringify(out.exactness)}`);
  console.log(`updates add p50 ${f(out.updates.add.p50Ms)} p99 ${f(out.updates.add.p99Ms)} max ${f(out.updates.add.maxMs)} ms; remove p50 ${f(out.updates.remove.p50Ms)} p99 ${f(out.updates.remove.p99Ms)} ms; not visible: ${upd.missed}`);
  return out;
}
function key1([id, d]) {
  return `${id}:${d}`;
}

(async () => {
  const started = new Date().toISOString();
  const loadavgAtStart = os.loadavg();
  const results = [];
  for (const n of sizes) for (const kind of kinds) results.push(await dataset(n, kind));
  const report = {
    benchmark: 'matching',
    started,
    finished: new Date().toISOString(),
    command: `node bench/matching/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, totalMemBytes: os.totalmem(), loadavgAtStart, loadavgAtEnd: os.loadavg() },
    notes: 'qpsPerCore = queries per CPU-second of the engine process (robust to other load on the shared 2-core machine); wallQps and latencies are wall-clock. Single-threaded each (FAISS omp_set_num_threads(1)); MIH and FAISS query batches of 250 interleaved; the machine is shared, so compare ratios from the same run. Update latency = add (or remove) plus the next search that must see it.',
    results,
  };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'results', 'matching.json'), JSON.stringify(report, null, 2) + '\n');
  console.log('\nwrote bench/results/matching.json');
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
