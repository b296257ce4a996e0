'use strict';
// Memory of a whole BankSet (PDQ index + entry store) by bank size, with realistic entries.
//
//   npx turbo run build --filter=@safeguard/domain
//   node bench/matching/bank-memory.js [--sizes 1000000,10000000] [--baseline DIR] [--baseline-sizes N,...]
//
// For each size, child processes (one engine each, so RSS is that engine's alone) build:
//   index     MihPdqIndex.fromWords over the same hashes: the floor (hash words + tables only);
//   bankset   a BankSet fed N upserts by apply() (bulk-load mode when the library has it),
//             then compactAll();
//   baseline  the same with another build of @safeguard/domain (`--baseline DIR`, a copy of a
//             previous packages/domain with its dist/), e.g. the one before a change; only at
//             --baseline-sizes when given (an object per entry takes long to build at 10M).
// Entries are realistic: 4 banks (block/review/allow), entry ids of the suppliers' shapes
// (UUIDs, 10-digit numbers, 16-digit ThreatExchange-style ids), a few label sets per bank,
// 12 list versions per bank, 0.5 % disabled, 0.05 % quarantined, 1 % edited at their own
// millisecond. Hashes are uniformly random 256-bit PDQ hashes (seeded: same data every run).
// Each child also checks that 200 near-duplicates (0..31 bits away) of sampled entries match
// their entry (the stores are not just small, they answer).
// Writes bench/results/matching-bank-memory.json.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { rng, flip } = require('./data');

const root = path.resolve(__dirname, '..', '..');
function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

function vm(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

const BANKS = [
  { bank: 'ncmec', kind: 'block', source: 'ncmec', share: 45, labels: [['a1'], ['a2'], ['b1'], ['a1', 'sextortion'], []] },
  { bank: 'eu-centre', kind: 'block', source: 'eu_centre', share: 30, labels: [['eu:known'], ['eu:known', 'eu:priority'], ['eu:unconfirmed']] },
  { bank: 'industry', kind: 'review', source: 'platform', share: 20, labels: [['te:csam'], ['te:csam', 'te:video'], []] },
  { bank: 'benign', kind: 'allow', source: 'platform', share: 5, labels: [['meme'], []] },
];
const VERSIONS = 12;
const DAY_MS = 86_400_000;
const BASE_MS = Date.UTC(2026, 0, 1);

const hex8 = (x) => (x >>> 0).toString(16).padStart(8, '0');
function uuid(rand) {
  const a = hex8(rand()), b = hex8(rand()), c = hex8(rand()), d = hex8(rand());
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${((parseInt(c[0], 16) & 3) | 8).toString(16)}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}
function entryId(b, i, rand) {
  switch (b) {
    case 0: return `ncmec-${String(1_000_000_000 + i)}`;
    case 1: return uuid(rand);
    case 2: return `te-${String(1_000_000_000_000_000 + i * 37)}`;
    default: return `meme/2026/${String(i).padStart(6, '0')}`;
  }
}
function listVersion(b, v) {
  return `2026${String(1 + (v % 12)).padStart(2, '0')}01T000000Z-${hex8(0x9e3779b9 * (b * 31 + v + 1))}${hex8(0x85ebca6b * (b + 7 * v + 3))}`;
}

/** Calls `fn(update, words)` for N realistic upserts; returns up to `sample` (words, bank, entryId). */
function generate(n, fn, sample = 200) {
  const rand = rng(12345);
  const words = new Uint32Array(8);
  const picks = [];
  const every = Math.max(1, Math.floor(n / sample));
  for (let i = 0; i < n; i++) {
    const r = rand() % 100;
    const b = r < 45 ? 0 : r < 75 ? 1 : r < 95 ? 2 : 3;
    const spec = BANKS[b];
    for (let k = 0; k < 8; k++) words[k] = rand();
    let hashHex = '';
    for (let k = 0; k < 8; k++) hashHex += hex8(words[k]);
    const v = Math.min(VERSIONS - 1, Math.floor(Math.sqrt(rand() % (VERSIONS * VERSIONS))));
    const edited = rand() % 100 === 0;
    const flags = rand() % 10_000;
    const update = {
      deleted: false,
      bank: spec.bank,
      kind: spec.kind,
      source: spec.source,
      pdqThreshold: 31,
      entryId: entryId(b, i, rand),
      algorithm: 'pdq',
      hashHex,
      labels: spec.labels[rand() % spec.labels.length],
      listVersion: listVersion(b, v),
      disabled: flags < 50,
      quarantined: flags >= 50 && flags < 55,
      updatedAtMs: BASE_MS + v * DAY_MS + (edited ? 1 + (rand() % DAY_MS) : 0),
    };
    fn(update, words);
    if (i % every === 0 && picks.length < sample && !update.disabled) picks.push({ words: words.slice(), bank: update.bank, entryId: update.entryId });
  }
  return picks;
}

/** The index alone over the same hashes (in its own function: the input array must not stay reachable). */
function buildIndex(m, n) {
  const all = new Uint32Array(n * 8);
  let at = 0;
  const picks = generate(n, (_u, w) => {
    all.set(w, at);
    at += 8;
  });
  return { index: m.MihPdqIndex.fromWords(all, n), picks };
}

function gc() {
  if (global.gc) for (let i = 0; i < 3; i++) global.gc();
}

async function child(engine, n, lib) {
  const m = require(lib);
  gc();
  const before = { rss: vm('VmRSS'), heapUsed: process.memoryUsage().heapUsed };
  const t0 = process.hrtime.bigint();
  let picks;
  let check;
  let bulkLoad = false;
  let stats;
  if (engine === 'index') {
    const built = buildIndex(m, n);
    const index = built.index;
    picks = built.picks;
    stats = index.stats();
    check = (q) => index.search(q, 31).length > 0;
    globalThis.keep = index;
  } else {
    const set = new m.BankSet({ flood: false });
    if (typeof set.beginBulkLoad === 'function') {
      set.beginBulkLoad();
      bulkLoad = true;
    }
    picks = generate(n, (u) => set.apply(u));
    set.compactAll();
    const near = (p, q) => set.match([{ algorithm: 'pdq', value: m.formatPdqWords(q) }]).matches.some((d) => d.bank === p.bank && d.entryId === p.entryId);
    check = (q, p) => near(p, q);
    stats = set.stats();
    globalThis.keep = set;
  }
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const mem = process.memoryUsage();
  const rss = vm('VmRSS');
  const rand = rng(777);
  let found = 0;
  for (const p of picks) {
    const q = p.words.slice();
    flip(q, 0, rand() % 32, rand);
    if (check(q, p)) found++;
  }
  return {
    engine,
    n,
    lib,
    bulkLoad,
    buildSeconds,
    rssBeforeBytes: before.rss,
    rssBytes: rss,
    peakRssBytes: vm('VmHWM'),
    heapUsedBytes: mem.heapUsed,
    heapUsedBeforeBytes: before.heapUsed,
    arrayBuffersBytes: mem.arrayBuffers,
    externalBytes: mem.external,
    bytesPerEntry: (rss - before.rss) / n,
    heapBytesPerEntry: (mem.heapUsed - before.heapUsed) / n,
    nearDuplicatesFound: found,
    nearDuplicatesTried: picks.length,
    stats,
  };
}

function runChild(engine, n, lib) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=16384', __filename, '--child', engine, '--n', String(n), '--lib', lib], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${engine} ${n} exited ${code}`))));
  });
}

const MiB = (b) => (b / 2 ** 20).toFixed(0);

async function main() {
  const sizes = arg('sizes', '1000000,10000000').split(',').map(Number);
  const baseline = arg('baseline', null);
  const baselineSizes = arg('baseline-sizes', null)?.split(',').map(Number);
  const current = path.join(root, 'packages', 'domain', 'dist', 'matching');
  const started = new Date().toISOString();
  const loadavgAtStart = os.loadavg();
  const results = [];
  for (const n of sizes) {
    const engines = [['index', current], ['bankset', current]];
    if (baseline && (!baselineSizes || baselineSizes.includes(n))) engines.push(['baseline', path.join(path.resolve(baseline), 'dist', 'matching')]);
    const row = { n };
    for (const [engine, lib] of engines) {
      const r = await runChild(engine === 'baseline' ? 'bankset' : engine, n, lib);
      row[engine] = r;
      console.log(
        `${String(n).padStart(9)} ${engine.padEnd(8)} RSS ${MiB(r.rssBytes)} MiB (peak ${MiB(r.peakRssBytes)}), +${r.bytesPerEntry.toFixed(0)} B/entry, JS heap +${r.heapBytesPerEntry.toFixed(0)} B/entry, ` +
          `array buffers ${MiB(r.arrayBuffersBytes)} MiB, build ${r.buildSeconds.toFixed(1)} s${r.bulkLoad ? ' (bulk load)' : ''}, near-duplicates found ${r.nearDuplicatesFound}/${r.nearDuplicatesTried}`,
      );
    }
    row.ratios = {
      banksetOverIndexRss: Number((row.bankset.rssBytes / row.index.rssBytes).toFixed(3)),
      ...(row.baseline
        ? {
            banksetOverBaselineRss: Number((row.bankset.rssBytes / row.baseline.rssBytes).toFixed(3)),
            banksetOverBaselineBuild: Number((row.bankset.buildSeconds / row.baseline.buildSeconds).toFixed(3)),
          }
        : {}),
    };
    console.log(`${String(n).padStart(9)} ratios ${JSON.stringify(row.ratios)}`);
    results.push(row);
  }
  const report = {
    benchmark: 'matching-bank-memory',
    started,
    finished: new Date().toISOString(),
    command: `node bench/matching/bank-memory.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, totalMemBytes: os.totalmem(), loadavgAtStart, loadavgAtEnd: os.loadavg() },
    notes:
      'One child process per engine and size. rssBytes: VmRSS after the build and a full GC; bytesPerEntry: (rssBytes - VmRSS before building) / n; heapBytesPerEntry: JS heap growth / n (typed-array contents are outside the JS heap). index = MihPdqIndex.fromWords alone (the floor); bankset = BankSet.apply of n realistic upserts (bulk load when available) + compactAll; baseline = the same with the library given by --baseline. buildSeconds includes generating the synthetic entries.',
    results,
  };
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'results', 'matching-bank-memory.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log('wrote bench/results/matching-bank-memory.json');
}

if (process.argv.includes('--child')) {
  child(arg('child'), Number(arg('n')), arg('lib')).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
