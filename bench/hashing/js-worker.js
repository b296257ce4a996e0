'use strict';
// One benchmark process for our hasher: reads a file list, hashes every file `reps` times
// (read, decode, PDQ), and prints one JSON document with per-file timings and hashes.
// Run pinned to one core by run.js (taskset), with UV_THREADPOOL_SIZE=1 and sharp.concurrency(1).
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const { configureSharp, decodeImage, pdqOfPixels, cryptoHashes } = require('@safeguard/hashing');

async function main() {
  const [mode, listFile, repsText] = process.argv.slice(2);
  const reps = Number(repsText || '1');
  const files = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  configureSharp({ concurrency: 1, cache: false });
  // Warm up (JIT of the PDQ core, libvips initialisation) on the first file; not timed.
  for (let i = 0; i < 5; i++) pdqOfPixels((await decodeImage(readFileSync(files[0]), { mode })).pixels, false);
  const results = [];
  for (const file of files) {
    let read = 0, decode = 0, pdq = 0, crypto = 0, hash = '', quality = 0;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const bytes = readFileSync(file);
      const t1 = performance.now();
      const decoded = await decodeImage(bytes, { mode });
      const t2 = performance.now();
      const h = pdqOfPixels(decoded.pixels, false);
      const t3 = performance.now();
      cryptoHashes(bytes);
      const t4 = performance.now();
      read += t1 - t0; decode += t2 - t1; pdq += t3 - t2; crypto += t4 - t3;
      hash = h.pdq; quality = h.quality;
    }
    results.push({ file, readMs: read / reps, decodeMs: decode / reps, hashMs: pdq / reps, cryptoMs: crypto / reps, pdq: hash, quality });
  }
  process.stdout.write(JSON.stringify({ impl: `safeguard-${mode}`, reps, results }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exitCode = 1;
});
