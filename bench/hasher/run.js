'use strict';
/**
 * Hasher service throughput against the hashing library's standalone rate, in the same run.
 *
 *   standalone   the library alone: a process with N worker threads (N = --pool), each reading a
 *                file and calling hashMediaOutcome, taking the next image from a shared counter.
 *   service-file the hasher service as its own process (node services/hasher/dist/main.js, pool
 *                of --pool threads) on the real broker and registry: the batch of content-submitted
 *                events with file:// URIs is produced, the clock stops when the last
 *                content-hashed event is on the output topic (high watermarks).
 *   service-http the same with http:// URIs served by a local HTTP server in this process.
 *
 * Rounds alternate the order of the three; each reports images/s and the ratio to the standalone
 * rate of the same round; the medians over rounds go to bench/results/hasher-service.json with a
 * breakdown from the service's own metrics (fetch, PDQ, crypto, worker busy time, process CPU)
 * and the broker's CPU time (/proc), per image.
 *
 *   node bench/hasher/run.js [--rounds 3] [--reps 8] [--pool 2] [--concurrency C] [--max-queue Q] [--out name]
 * Needs: npm run build (dist of @safeguard/hasher and its dependencies), npm run infra:up,
 * apt install mate-backgrounds (photographs; else the PDQ reference vectors are used).
 * KAFKA_BROKERS / SCHEMA_REGISTRY_URL default to the local infra.
 */
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, openSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const sharp = require('sharp');
const { createTransport, partitionForKey } = require('@safeguard/kafka');
const { topics } = require('@safeguard/schemas');

const ROOT = path.resolve(__dirname, '..', '..');
const WORK = path.join(ROOT, 'bench', '.work', 'hasher');
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROUNDS = Number(arg('--rounds', '3'));
const REPS = Number(arg('--reps', '8'));
const POOL = Number(arg('--pool', '2'));
const CONCURRENCY = arg('--concurrency', undefined);
const MAX_QUEUE = arg('--max-queue', undefined);
const OUT = arg('--out', 'hasher-service');
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const CLK_TCK = 100;

const log = (msg) => process.stderr.write(`${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round3 = (x) => Math.round(x * 1000) / 1000;

/** Photographs: Debian mate-backgrounds (nature set and two Elephants); else the reference vectors. */
function corpus() {
  const mate = '/usr/share/backgrounds/mate';
  if (existsSync(path.join(mate, 'nature'))) {
    const files = readdirSync(path.join(mate, 'nature')).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(mate, 'nature', f));
    for (const f of ['Elephants.jpg', 'Elephants_3840x2160.jpg']) if (existsSync(path.join(mate, 'abstract', f))) files.push(path.join(mate, 'abstract', f));
    return { root: mate, source: 'mate-backgrounds', files };
  }
  log('mate-backgrounds not installed (apt install mate-backgrounds): using the PDQ reference vectors');
  const vectors = path.join(ROOT, 'test', 'fixtures', 'pdq-vectors', 'images');
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/\.(jpe?g|png)$/i.test(e.name)) files.push(path.join(d, e.name));
    }
  };
  walk(vectors);
  return { root: vectors, source: 'pdq-vectors', files: files.sort() };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) of a process, or of one of its threads with `tid`. */
function cpuSecondsOf(pid, tid) {
  try {
    const fields = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** CPU seconds of every thread of a process: tid → seconds. */
function threadCpu(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(tid, cpuSecondsOf(pid, tid));
  } catch {
    // process gone
  }
  return out;
}

/** Per-image CPU ms of the threads that used most between two {@link threadCpu} readings, largest first. */
function threadDeltas(pid, before, after, n) {
  return [...after]
    .map(([tid, s]) => ({ thread: Number(tid) === pid ? 'main' : 'other', ms: (1000 * (s - (before.get(tid) ?? 0))) / n }))
    .filter((t) => t.ms >= 0.5)
    .sort((a, b) => b.ms - a.ms)
    .map((t) => `${t.thread}:${t.ms.toFixed(1)}`);
}

function brokerPid() {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('-Dsafeguard.infra=kafka:')) return Number(pid);
    } catch {
      // process gone
    }
  }
  return undefined;
}

/** Parses a Prometheus exposition into name{labels} → value. */
async function scrape(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? '').replace(/service="[^"]*",?/, '').replace(/,?topic="[^"]*"/, '').replace('{}', '');
    out[`${m[1]}${labels}`] = (out[`${m[1]}${labels}`] ?? 0) + Number(m[3]);
  }
  return out;
}

/** The standalone reference: a child process with `threads` worker threads, kept across rounds. */
class Standalone {
  static async start(threads) {
    const child = spawn(process.execPath, [path.join(__dirname, 'standalone.js'), String(threads)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`standalone exited with ${code}`)));
    });
    return new Standalone(child);
  }
  constructor(child) {
    this.child = child;
  }
  async run(files) {
    const cpuBefore = cpuSecondsOf(this.child.pid);
    const threadsBefore = threadCpu(this.child.pid);
    const answer = await new Promise((resolve) => {
      this.child.once('message', resolve);
      this.child.send({ files });
    });
    if (answer.done !== files.length) throw new Error(`standalone hashed ${answer.done} of ${files.length}`);
    return {
      seconds: answer.seconds,
      imagesPerSecond: files.length / answer.seconds,
      busySeconds: answer.busySeconds,
      cpuMsPerImage: (1000 * (cpuSecondsOf(this.child.pid) - cpuBefore)) / files.length,
      threadCpuMsPerImage: threadDeltas(this.child.pid, threadsBefore, threadCpu(this.child.pid), files.length),
    };
  }
  close() {
    this.child.disconnect();
  }
}

/** The hasher service as a child process. */
class ServiceProcess {
  static async start({ prefix, roots, metricsPort }) {
    mkdirSync(WORK, { recursive: true });
    const logFile = path.join(WORK, 'service.log');
    const out = openSync(logFile, 'w');
    const env = {
      ...process.env,
      KAFKA_BROKERS: BROKERS,
      SCHEMA_REGISTRY_URL: REGISTRY,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      HASHER_POOL_SIZE: String(POOL),
      HASHER_FILE_ROOTS: roots,
      HASHER_FETCH_ALLOW_CIDRS: '127.0.0.1/32',
      ...(CONCURRENCY ? { HASHER_CONCURRENCY: CONCURRENCY } : {}),
      ...(MAX_QUEUE ? { HASHER_POOL_MAX_QUEUE: MAX_QUEUE } : {}),
    };
    // BENCH_SERVICE_NODE_ARGS: extra node flags for the service process (e.g. --cpu-prof --cpu-prof-dir=DIR).
    const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'services', 'hasher', 'dist', 'main.js')], { env, stdio: ['ignore', out, out] });
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}; see ${logFile}`);
      try {
        if ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`service not ready; see ${logFile}`);
      await sleep(200);
    }
    return new ServiceProcess(child, metricsPort);
  }
  constructor(child, metricsPort) {
    this.child = child;
    this.metricsPort = metricsPort;
  }
  async stop() {
    this.child.kill('SIGTERM');
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve() : this.child.once('exit', resolve)));
  }
}

async function main() {
  const { root, source, files } = corpus();
  const photos = await Promise.all(
    files.map(async (file) => {
      const m = await sharp(file).metadata();
      return { file: path.relative(root, file), bytes: statSync(file).size, width: m.width, height: m.height };
    }),
  );
  const batch = Array.from({ length: REPS }, () => files).flat();
  log(`${files.length} images from ${source}, ${batch.length} per run, pool ${POOL}, ${os.cpus().length} cpus`);

  const transport = createTransport({ kind: 'kafka', brokers: BROKERS.split(','), clientId: 'hasher-bench', schemaRegistryUrl: REGISTRY });
  const admin = transport.admin();
  const prefix = `bench-hasher-${randomBytes(4).toString('hex')}.`;
  const input = { ...topics.contentSubmitted, topic: `${prefix}${topics.contentSubmitted.topic}` };
  const output = { ...topics.contentHashed, topic: `${prefix}${topics.contentHashed.topic}` };
  const producer = transport.producer();
  // The "storage": the photographs from memory, so the server costs little CPU next to the service.
  const stored = files.map((f) => readFileSync(f));
  const httpServer = http.createServer((req, res) => {
    const body = stored[Number((req.url ?? '/').slice(1))];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const httpPort = httpServer.address().port;

  const standalone = await Standalone.start(POOL);
  const service = await ServiceProcess.start({ prefix, roots: root, metricsPort: await freePort() });
  const broker = brokerPid();
  let produced = 0;
  const outputCount = async () => (await admin.listOffsets(output.topic)).reduce((s, p) => s + Number(p.high), 0);
  const dlqCount = async () => {
    try {
      return (await admin.listOffsets(`${input.topic}.dlq`)).reduce((s, p) => s + Number(p.high), 0);
    } catch {
      return 0;
    }
  };

  // Content ids chosen so that every partition gets the same share of a batch, as a long stream
  // does on average (a short batch keyed at random leaves one partition finishing alone).
  const partitions = await admin.partitionCount(input.topic).catch(() => topics.contentSubmitted.partitions);
  // The service's defaults (services/hasher/src/service.ts) unless overridden.
  const concurrency = CONCURRENCY ? Number(CONCURRENCY) : Math.max(2 * POOL, partitions);
  const maxQueue = MAX_QUEUE ? Number(MAX_QUEUE) : Math.max(POOL, concurrency - POOL);
  const balancedId = (i) => {
    for (let salt = 0; ; salt++) {
      const id = `c-${produced}-${salt}`;
      if (partitionForKey(Buffer.from(`bench/${id}`), partitions) === i % partitions) return id;
    }
  };

  async function serviceRun(kind, list) {
    const records = list.map((file, i) => {
      produced++;
      const contentId = balancedId(i);
      const uri = kind === 'file' ? pathToFileURL(file).href : `http://127.0.0.1:${httpPort}/${files.indexOf(file)}`;
      return {
        value: {
          eventId: `bench-${produced}`,
          platformId: 'bench',
          contentId,
          uploaderAccountId: null,
          contentKind: 'IMAGE',
          media: { uri, inlineBytes: null, mimeType: null, sizeBytes: null },
          uploadContext: null,
          channel: 'kafka',
          submittedAtMs: Date.now(),
        },
      };
    });
    const target = (await outputCount()) + records.length;
    const before = await scrape(service.metricsPort);
    const brokerBefore = broker ? cpuSecondsOf(broker) : NaN;
    const mainBefore = cpuSecondsOf(service.child.pid, service.child.pid);
    const threadsBefore = threadCpu(service.child.pid);
    const driverBefore = process.cpuUsage();
    const started = performance.now();
    await producer.send(input, records);
    for (let poll = 1; (await outputCount()) < target; poll++) {
      if (poll % 20 === 0 && (await dlqCount()) > 0) throw new Error('the service dead-lettered a benchmark image');
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    const driver = process.cpuUsage(driverBefore);
    const after = await scrape(service.metricsPort);
    const d = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    const n = records.length;
    return {
      seconds,
      imagesPerSecond: n / seconds,
      perImageMs: {
        fetch: (1000 * d(`safeguard_hasher_fetch_seconds_sum{scheme="${kind}"}`)) / n,
        pdqInWorker: (1000 * d('safeguard_hasher_hash_seconds_sum{algorithm="pdq"}')) / n,
        cryptoInWorker: (1000 * d('safeguard_hasher_hash_seconds_sum{algorithm="crypto"}')) / n,
        workerBusy: (1000 * d('safeguard_hasher_pool_busy_seconds_total')) / n,
        handlerWall: (1000 * d('safeguard_message_processing_seconds_sum')) / n,
        serviceProcessCpu: (1000 * d('process_cpu_seconds_total')) / n,
        serviceMainThreadCpu: (1000 * (cpuSecondsOf(service.child.pid, service.child.pid) - mainBefore)) / n,
        brokerCpu: (1000 * (cpuSecondsOf(broker) - brokerBefore)) / n,
        driverCpu: (driver.user + driver.system) / 1000 / n,
      },
      workerUtilization: d('safeguard_hasher_pool_busy_seconds_total') / (POOL * seconds),
      threadCpuMsPerImage: threadDeltas(service.child.pid, threadsBefore, threadCpu(service.child.pid), n),
    };
  }

  // Warm-up, not timed: JIT, libvips, schema registration, connections.
  await standalone.run(files);
  await serviceRun('file', files);
  await serviceRun('http', files);

  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['standalone', 'file', 'http'] : ['http', 'file', 'standalone'];
    const row = { loadAverage: os.loadavg().map(round3) };
    for (const what of order) {
      row[what === 'standalone' ? 'standalone' : `service_${what}`] = what === 'standalone' ? await standalone.run(batch) : await serviceRun(what, batch);
    }
    row.ratioFile = row.service_file.imagesPerSecond / row.standalone.imagesPerSecond;
    row.ratioHttp = row.service_http.imagesPerSecond / row.standalone.imagesPerSecond;
    rounds.push(row);
    log(
      `round ${r + 1}: standalone ${row.standalone.imagesPerSecond.toFixed(2)}/s, service file ${row.service_file.imagesPerSecond.toFixed(2)}/s (${(100 * row.ratioFile).toFixed(1)} %), http ${row.service_http.imagesPerSecond.toFixed(2)}/s (${(100 * row.ratioHttp).toFixed(1)} %), load ${row.loadAverage[0]}`,
    );
  }

  await service.stop();
  standalone.close();
  httpServer.close();
  await admin.deleteTopics([input.topic, output.topic, `${input.topic}.dlq`]);
  await transport.close();

  const med = (f) => round3(median(rounds.map(f)));
  const breakdown = (kind) =>
    Object.fromEntries(Object.keys(rounds[0][`service_${kind}`].perImageMs).map((k) => [k, med((r) => r[`service_${kind}`].perImageMs[k])]));
  const result = {
    benchmark: 'hasher-service',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverageAtEnd: os.loadavg().map(round3) },
    method:
      'standalone = hashMediaOutcome on --pool worker threads reading the files; service = services/hasher/dist/main.js as a process with HASHER_POOL_SIZE=--pool on the real broker, batch produced at once, clock stopped at the last content-hashed record; rounds alternate the order; medians over rounds',
    config: { pool: POOL, partitions, concurrency, maxQueue, mode: 'exact', rounds: ROUNDS, imagesPerRun: batch.length },
    corpus: { source, images: photos },
    median: {
      standaloneImagesPerSecond: med((r) => r.standalone.imagesPerSecond),
      serviceFileImagesPerSecond: med((r) => r.service_file.imagesPerSecond),
      serviceHttpImagesPerSecond: med((r) => r.service_http.imagesPerSecond),
      ratioFile: med((r) => r.ratioFile),
      ratioHttp: med((r) => r.ratioHttp),
      workerUtilizationFile: med((r) => r.service_file.workerUtilization),
      workerUtilizationHttp: med((r) => r.service_http.workerUtilization),
      ratioOfMediansFile: round3(median(rounds.map((r) => r.service_file.imagesPerSecond)) / median(rounds.map((r) => r.standalone.imagesPerSecond))),
      ratioOfMediansHttp: round3(median(rounds.map((r) => r.service_http.imagesPerSecond)) / median(rounds.map((r) => r.standalone.imagesPerSecond))),
      standaloneWorkerBusyMsPerImage: med((r) => (1000 * r.standalone.busySeconds) / batch.length),
      standaloneWorkerCpuMsPerImage: med((r) => r.standalone.cpuMsPerImage),
      // CPU the standalone workers spend per image over CPU the service process (and the broker
      // on the same cores) spends per image: the throughput ratio on a machine with no one else.
      cpuRatioFile: med((r) => r.standalone.cpuMsPerImage / r.service_file.perImageMs.serviceProcessCpu),
      cpuRatioFileWithBroker: med((r) => r.standalone.cpuMsPerImage / (r.service_file.perImageMs.serviceProcessCpu + r.service_file.perImageMs.brokerCpu)),
      cpuRatioHttp: med((r) => r.standalone.cpuMsPerImage / r.service_http.perImageMs.serviceProcessCpu),
    },
    perImageMsFile: breakdown('file'),
    perImageMsHttp: breakdown('http'),
    rounds,
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ median: result.median, perImageMsFile: result.perImageMsFile, perImageMsHttp: result.perImageMsHttp }, null, 2));
}

main().catch((err) => {
  log(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
