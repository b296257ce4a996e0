'use strict';
// Reference for ready-time.js: the same bank built in memory by the matching library alone (no
// Kafka, no Avro): parse the TSV file, apply every entry to a BankSet in a bulk load (as the
// service does at start-up), compact. Prints JSON.
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const { BankSet } = require('@safeguard/domain/matching');

const file = process.argv[2];
const started = performance.now();
const lines = readFileSync(file, 'utf8').split('\n');
const set = new BankSet({ flood: false });
if (typeof set.beginBulkLoad === 'function') set.beginBulkLoad();
let n = 0;
for (const line of lines) {
  if (line === '') continue;
  const [entryId, algorithm, hashHex] = line.split('\t');
  set.apply({ deleted: false, bank: 'bench-bank', kind: 'block', source: 'benchmark', pdqThreshold: 31, entryId, algorithm, hashHex, labels: [], listVersion: 'v', disabled: false, updatedAtMs: 1 });
  n++;
}
set.compactAll();
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ entries: n, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes: process.memoryUsage().rss })}\n`);
