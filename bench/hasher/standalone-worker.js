'use strict';
// Worker thread of bench/hasher/standalone.js: the hashing library alone, on worker threads,
// reading each file and calling hashMediaOutcome (what the service's pool does, without Kafka,
// fetching policy or hand-off). Workers take the next image index from a shared counter.
const { readFile } = require('node:fs/promises');
const { parentPort, workerData } = require('node:worker_threads');
const { configureSharp, hashMediaOutcome } = require('@safeguard/hashing');

configureSharp({ concurrency: 1 });
const counter = new Int32Array(workerData.counter);

parentPort.on('message', async ({ files }) => {
  let done = 0;
  let busyMs = 0;
  for (;;) {
    const i = Atomics.add(counter, 0, 1);
    if (i >= files.length) break;
    const t = performance.now();
    const out = await hashMediaOutcome(await readFile(files[i]));
    busyMs += performance.now() - t;
    if (!out.ok) throw new Error(`refused: ${out.error.code}`);
    done++;
  }
  parentPort.postMessage({ done, busyMs });
});
