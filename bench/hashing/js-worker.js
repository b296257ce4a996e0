'use strict';
// Benchmark worker for our hasher (modes: exact = the default path, native libjpeg-turbo for
// JPEGs when built; exact-sharp = exact mode decoded through sharp only; fast). Reads file paths from stdin, one per line; for each, hashes
// it `reps` times (read, decode, PDQ; crypto timed separately) and answers one JSON line with
// the mean timings and the hash. run.js keeps one worker per implementation alive, pinned to one
// core (taskset), with UV_THREADPOOL_SIZE=1 and sharp.concurrency(1), and feeds the
// implementations one image at a time, in turn.
const { readFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');
const readline = require('node:readline');
const { configureSharp, decodeImage, nativeJpeg, pdqOfDecoded, cryptoHashes } = require('@safeguard/hashing');

async function measure(file, mode, reps) {
  let read = 0, decode = 0, pdq = 0, crypto = 0, hash = '', quality = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const bytes = readFileSync(file);
    const t1 = performance.now();
    const decoded = await decodeImage(bytes, mode === 'exact-sharp' ? { mode: 'exact', jpegDecoder: 'sharp' } : { mode });
    const t2 = performance.now();
    const h = pdqOfDecoded(decoded, false);
    const t3 = performance.now();
    cryptoHashes(bytes);
    const t4 = performance.now();
    read += t1 - t0; decode += t2 - t1; pdq += t3 - t2; crypto += t4 - t3;
    hash = h.pdq; quality = h.quality;
  }
  return { file, readMs: read / reps, decodeMs: decode / reps, hashMs: pdq / reps, cryptoMs: crypto / reps, pdq: hash, quality };
}

async function main() {
  const [mode, repsText, warmFile] = process.argv.slice(2);
  const reps = Number(repsText || '1');
  if (mode === 'exact' && !nativeJpeg && process.env.SAFEGUARD_NATIVE_JPEG !== 'off') throw new Error('native JPEG decoder not built (npm run build -w @safeguard/hashing); set SAFEGUARD_NATIVE_JPEG=off to measure without it');
  configureSharp({ concurrency: 1, cache: false });
  // Warm up (JIT of the PDQ core, libvips initialisation); not timed.
  if (warmFile) for (let i = 0; i < 5; i++) await measure(warmFile, mode, 1);
  process.stdout.write('{"ready":true}\n');
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line) continue;
    process.stdout.write(JSON.stringify(await measure(line, mode, reps)) + '\n');
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exitCode = 1;
});
