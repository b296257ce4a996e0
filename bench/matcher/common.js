'use strict';
// Helpers shared by the matcher benchmarks (propagation, ready time, check API load).
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const WORK = path.join(ROOT, 'bench', '.work', 'matcher');
const RESULTS = path.join(ROOT, 'bench', 'results');
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

const log = (msg) => process.stderr.write(`${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** Percentile (nearest rank) of a list of numbers. */
function pct(xs, p) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
/** Median (mean of the two middle values for an even count). */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const r3 = (x) => (x === null || x === undefined ? x : Math.round(x * 1000) / 1000);
function summary(xs) {
  return { count: xs.length, p50: r3(pct(xs, 50)), p95: r3(pct(xs, 95)), p99: r3(pct(xs, 99)), max: r3(xs.length ? Math.max(...xs) : null), mean: r3(xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null) };
}

/** A random PDQ hash (64 hex digits). */
const randomPdq = () => randomBytes(32).toString('hex');
/** `hex` with `bits` distinct random bits flipped. */
function nearPdq(hex, bits) {
  const b = Buffer.from(hex, 'hex');
  const chosen = new Set();
  while (chosen.size < bits) chosen.add(Math.floor(Math.random() * 256));
  for (const i of chosen) b[i >> 3] ^= 1 << (i & 7);
  return b.toString('hex');
}

/** An IndicatorUpdated value. */
function indicatorValue(bank, kind, entryId, hashValue, over = {}) {
  return {
    bank: { name: bank, kind, source: 'benchmark', listVersion: 'bench-v1' },
    pdqThreshold: 31,
    entryId,
    algorithm: 'pdq',
    hashValue,
    labels: [],
    status: 'ACTIVE',
    reason: 'imported',
    updatedBy: 'bench',
    updatedAtMs: Date.now(),
    ...over,
  };
}

function machine() {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, totalMemBytes: os.totalmem(), loadavg: os.loadavg() };
}

/**
 * A matcher replica in its own process (replica.js), talking over IPC. `env` adds settings
 * (SAFEGUARD_TOPIC_PREFIX, ...; SAFEGUARD_BENCH_DOMAIN_DIR runs it on another copy of the matching
 * library, see baseline-hook.js). Resolves `ready` with the replica's report once its index is loaded.
 */
function spawnReplica(name, env) {
  const spawnedAt = Date.now();
  const hook = env.SAFEGUARD_BENCH_DOMAIN_DIR ? ['-r', path.join(__dirname, 'baseline-hook.js')] : [];
  const child = spawn(process.execPath, ['--max-old-space-size=8192', ...hook, path.join(__dirname, 'replica.js')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, KAFKA_BROKERS: BROKERS, SCHEMA_REGISTRY_URL: REGISTRY, METRICS_PORT: '0', LOG_LEVEL: 'warn', MATCHER_CHECK_API: 'false', MATCHER_FLOOD_QUARANTINE: 'false', ...env },
  });
  const listeners = new Set();
  child.on('message', (m) => {
    for (const l of listeners) l(m);
  });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  const next = (pred, timeoutMs = 600_000) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        listeners.delete(on);
        reject(new Error(`${name}: timed out`));
      }, timeoutMs);
      const on = (m) => {
        if (!pred(m)) return;
        clearTimeout(t);
        listeners.delete(on);
        resolve(m);
      };
      listeners.add(on);
      exited.then((code) => reject(new Error(`${name} exited with ${code}`)));
    });
  const ready = next((m) => m.type === 'ready').then((m) => ({ ...m, spawnToReadyMs: m.readyAtMs - spawnedAt }));
  return {
    name,
    child,
    ready,
    next,
    send: (m) => child.send(m),
    stop: async () => {
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

module.exports = { ROOT, WORK, RESULTS, BROKERS, REGISTRY, log, sleep, arg, pct, median, r3, summary, randomPdq, nearPdq, indicatorValue, machine, spawnReplica };
