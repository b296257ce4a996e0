'use strict';
// Standalone reference process for bench/hasher/run.js: the hashing library alone on N worker
// threads (standalone-worker.js), no Kafka. Its own process so that its CPU time can be read
// from /proc like the service's. IPC: { files } in, { seconds, done, busySeconds } out.
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const threads = Number(process.argv[2] ?? '2');
const counter = new SharedArrayBuffer(4);
const workers = Array.from({ length: threads }, () => new Worker(path.join(__dirname, 'standalone-worker.js'), { workerData: { counter } }));

process.on('message', async ({ files }) => {
  Atomics.store(new Int32Array(counter), 0, 0);
  const started = performance.now();
  const answers = await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
          w.postMessage({ files });
        }),
    ),
  );
  process.send({
    seconds: (performance.now() - started) / 1000,
    done: answers.reduce((s, a) => s + a.done, 0),
    busySeconds: answers.reduce((s, a) => s + a.busyMs, 0) / 1000,
  });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
