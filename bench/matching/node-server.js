'use strict';
// One benchmark engine in its own process (so its resident memory is the index's alone):
//   node --expose-gc node-server.js mih|brute BANK.bin QUERIES.bin
// Reads JSON commands on stdin, one per line, answers one JSON line each on stdout.
const readline = require('node:readline');
const fs = require('node:fs');
const { MihPdqIndex, popcount32 } = require('@safeguard/domain/matching');
const { readWords, rng } = require('./data');

const [engine, bankPath, queryPath] = process.argv.slice(2);

function vm(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

function gc() {
  if (global.gc) { global.gc(); global.gc(); }
}

// Reads the bank file in 32 MiB pieces (one reused buffer), so only the index holds the data.
function* pieces(path) {
  const fd = fs.openSync(path, 'r');
  const buf = new Uint32Array(1 << 23);
  try {
    for (;;) {
      const bytes = fs.readSync(fd, buf, 0, buf.byteLength, null);
      if (bytes === 0) return;
      yield buf.subarray(0, bytes >>> 2);
    }
  } finally {
    fs.closeSync(fd);
  }
}

const n = fs.statSync(bankPath).size / 32;
const queries = readWords(queryPath);
let bank = null;
let index = null;
const t0 = process.hrtime.bigint();
if (engine === 'mih') index = MihPdqIndex.fromWords(pieces(bankPath), n);
else bank = readWords(bankPath);
const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
gc();

function bruteSearch(q, qi, radius) {
  const q0 = q[qi], q1 = q[qi + 1], q2 = q[qi + 2], q3 = q[qi + 3], q4 = q[qi + 4], q5 = q[qi + 5], q6 = q[qi + 6], q7 = q[qi + 7];
  const h = bank;
  const out = [];
  for (let id = 0, b = 0; id < n; id++, b += 8) {
    const d =
      popcount32(h[b] ^ q0) + popcount32(h[b + 1] ^ q1) + popcount32(h[b + 2] ^ q2) + popcount32(h[b + 3] ^ q3) +
      popcount32(h[b + 4] ^ q4) + popcount32(h[b + 5] ^ q5) + popcount32(h[b + 6] ^ q6) + popcount32(h[b + 7] ^ q7);
    if (d <= radius) out.push([id, d]);
  }
  return out;
}

function run(from, to, radius) {
  const latencies = [];
  const results = [];
  const cpu0 = process.cpuUsage();
  for (let i = from; i < to; i++) {
    const t = process.hrtime.bigint();
    let hits;
    if (index) {
      hits = index.search(queries.subarray(i * 8, i * 8 + 8), radius).map((h) => [h.id, h.distance]);
    } else {
      hits = bruteSearch(queries, i * 8, radius);
    }
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    results.push(hits.sort((a, b) => a[0] - b[0]));
  }
  const cpu = process.cpuUsage(cpu0);
  return { latenciesMs: latencies, results, cpuMs: (cpu.user + cpu.system) / 1000 };
}

// Update latency: time from the start of an add/remove to the end of the next search that
// must see it (so it includes any incremental compaction slice the mutation performed).
function updates(count) {
  const rand = rng(99);
  const addMs = [], removeMs = [];
  let missed = 0;
  const live = [];
  const before = index.stats();
  for (let i = 0; i < count; i++) {
    const q = new Uint32Array(8);
    for (let k = 0; k < 8; k++) q[k] = rand();
    let t = process.hrtime.bigint();
    const id = index.add(q);
    let hits = index.search(q, 31);
    addMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!hits.some((h) => h.id === id)) missed++;
    live.push([id, q]);
    if (i % 2 === 1) {
      const [victim, vq] = live.shift();
      t = process.hrtime.bigint();
      index.remove(victim);
      hits = index.search(vq, 31);
      removeMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (hits.some((h) => h.id === victim)) missed++;
    }
  }
  return { addMs, removeMs, missed, statsBefore: before, statsAfter: index.stats() };
}

const rl = readline.createInterface({ input: process.stdin });
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
send({ ready: true, engine, n, buildSeconds, rssBytes: vm('VmRSS'), peakRssBytes: vm('VmHWM'), stats: index ? index.stats() : null });
rl.on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.cmd === 'query') send(run(cmd.from, cmd.to, cmd.radius));
  else if (cmd.cmd === 'updates') send(updates(cmd.count));
  else if (cmd.cmd === 'memory') { gc(); send({ rssBytes: vm('VmRSS'), peakRssBytes: vm('VmHWM') }); }
  else if (cmd.cmd === 'exit') process.stdout.write(JSON.stringify({ bye: true }) + '\n', () => process.exit(0));
});
