// Load harness: the five services as processes (test/support launcher) on the broker the testkit
// selection provides; content submissions by URI at stepped target rates; throughput, latency
// percentiles from event timestamps (ingest's submittedAtMs → hasher's hashedAtMs → matcher's
// matchedAtMs), consumer lag and CPU per process over time; and, in the same run on the same
// images, the hasher service's standalone drain rate, to which the pipeline's end-to-end drain
// rate is compared.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Reader, Transport } from '@safeguard/kafka';
import { renameTopic, topics, type ContentSubmitted } from '@safeguard/schemas';
import { repoRoot, waitFor } from '@safeguard/testkit';
import { Pipeline, PLATFORM_ID, SERVICE_NAMES, type ServiceName } from '../support/pipeline';
import { sumSamples } from '../support/prometheus';
import { seededRandom } from '../support/random';
import { chartSvg, svgToPng, type Series } from './chart';
import { machineBusySeconds, processCpuSeconds } from './cpu';
import { loadImages, vectorPdq, type ImageSet, type LoadImage } from './images';
import { burstRate, slope, summarize, type LatencySummary } from './stats';

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Tiny run for CI: vector images, one short step, small bursts. */
  smoke?: boolean;
  /** Target rates (submissions/s) to step through; default an automatic ramp (×`factor` from `startRate`). */
  rates?: number[];
  startRate?: number;
  factor?: number;
  /** Highest rate the automatic ramp tries. */
  maxRate?: number;
  /** Seconds per rate step. */
  stepSeconds?: number;
  /** Extra steps bisecting between the best sustainable and the first unsustainable rate. Default 2 (0 with `rates` or `smoke`). */
  refine?: number;
  /** Images per drain burst (hasher standalone, pipeline end to end). */
  burst?: number;
  /**
   * Milliseconds to wait after the five services and the harness's readers have started, before
   * the end-to-end burst, so that it measures the running pipeline and not its start-up (group
   * joins, first fetches: the broker used 0.48 cores during a burst sent at once against 0.18
   * after 15 s). Default 15,000 (0 with `smoke`).
   */
  settleMs?: number;
  images?: ImageSet;
  /** Where `<name>.json` and `<name>.png` go; default `bench/results`. */
  outDir?: string;
  name?: string;
  log?: (message: string) => void;
}

/** One rate step's figures. */
export interface StepResult {
  targetRate: number;
  /** Seconds since the ramp's clock started (chart x axis). */
  startT: number;
  seconds: number;
  submitted: number;
  /** Submissions per second actually sent. */
  sentRate: number;
  /** Step contents hashed (or dead-lettered) by the end of the step, per second of the step. */
  completedRateInStep: number;
  /** Step contents not yet hashed when the step ended. */
  backlogAtEnd: number;
  /** Growth of the submitted-but-not-hashed queue during the step, contents per second (least squares). */
  queueGrowthPerSecond: number;
  /** Seconds after the step until every step content was hashed; null if it did not drain. */
  drainSeconds: number | null;
  latencyMs: { submittedToHashed: LatencySummary; hashedToMatched: LatencySummary; submittedToMatched: LatencySummary; httpResponse: LatencySummary };
  /** Consumer lag growth per service during the step, records per second (least squares). */
  lagSlope: Partial<Record<ServiceName, number>>;
  /** Mean cores used per process during the step (`others`: the rest of the machine's busy time). */
  cpuCores: Record<string, number>;
  /** Hasher CPU per submission of the step (fetch, decode, PDQ, crypto, publish). */
  hasherCpuMsPerImage: number | null;
  sustainable: boolean;
}

/** A drain burst's figures. */
export interface BurstResult {
  images: number;
  /** Completions per second between the first and the last hashed event. */
  imagesPerSecond: number | null;
  seconds: number;
  /** CPU seconds of the hasher process per image. */
  hasherCpuMsPerImage: number | null;
  cpuCores: Record<string, number>;
}

/** One point of the time series. */
export interface Sample {
  t: number;
  submitted: number;
  hashed: number;
  matched: number;
  lag: Partial<Record<ServiceName, number>>;
  cpuCores: Record<string, number>;
}

/** Everything a run measured (written as JSON). */
export interface LoadResult {
  benchmark: 'load';
  date: string;
  cpus: number;
  cpuModel: string;
  loadAverage: { start: number[]; end: number[] };
  environment: string;
  images: { set: ImageSet; count: number; photos: number; vectors: number; totalBytes: number };
  banks: { entries: number; matchedShareExpected: string };
  hasherStandalone: BurstResult[];
  pipelineBurst: BurstResult;
  /** Pipeline end-to-end drain rate ÷ mean hasher standalone drain rate (target ≥ 0.8). */
  endToEndOverStandalone: number | null;
  steps: StepResult[];
  maxSustainableRate: number | null;
  bottleneck: { step: number | null; service: string | null; reason: string };
  samples: Sample[];
  /** Phases on the time series' clock (burst, steps). */
  markers: Array<{ x: number; label: string }>;
  harnessCpuSeconds: number;
  notes: string[];
}

interface Tracked {
  step: number;
  sentAtMs: number;
  respondedAtMs?: number;
  status?: number;
  submittedAtMs?: number;
  hashedAtMs?: number;
  matchedAtMs?: number;
  deadLettered?: boolean;
}

const SERVICES_WITH_LAG: ServiceName[] = ['ingest', 'hasher', 'matcher', 'grooming', 'reporter'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tails the pipeline's submitted, hashed, matched and hasher-DLQ topics into `tracked`. */
async function tailTopics(client: Transport, pipeline: Pipeline, tracked: Map<string, Tracked>): Promise<Reader[]> {
  const topic = (t: string) => pipeline.topic(t);
  const get = (id: string) => tracked.get(id);
  const admin = client.admin();
  await admin.ensureTopics(
    [topics.contentSubmitted, topics.contentHashed, topics.contentMatched].map((b) => ({ topic: topic(b.topic), partitions: b.partitions, retentionMs: b.retentionMs })),
  );
  await admin.ensureTopics([{ topic: `${topic(topics.contentSubmitted.topic)}.dlq`, partitions: 1 }]);
  return Promise.all([
    client.reader({
      binding: renameTopic(topics.contentSubmitted, topic(topics.contentSubmitted.topic)),
      handle: (m) => {
        const t = m.value && get(m.value.contentId);
        if (t) t.submittedAtMs = m.value!.submittedAtMs;
      },
    }),
    client.reader({
      binding: renameTopic(topics.contentHashed, topic(topics.contentHashed.topic)),
      handle: (m) => {
        const t = m.value && get(m.value.contentId);
        if (t && t.hashedAtMs === undefined) t.hashedAtMs = m.value!.hashedAtMs;
      },
    }),
    client.reader({
      binding: renameTopic(topics.contentMatched, topic(topics.contentMatched.topic)),
      handle: (m) => {
        const t = m.value && get(m.value.contentId);
        if (t && t.matchedAtMs === undefined) t.matchedAtMs = m.value!.matchedAtMs;
      },
    }),
    client.reader({
      binding: renameTopic(topics.contentSubmitted, `${topic(topics.contentSubmitted.topic)}.dlq`),
      handle: (m) => {
        const t = m.value && get(m.value.contentId);
        if (t) t.deadLettered = true;
      },
    }),
  ]);
}

function submittedValue(contentId: string, uri: string, uploader: string): ContentSubmitted {
  return {
    eventId: randomUUID(),
    platformId: PLATFORM_ID,
    contentId,
    uploaderAccountId: uploader,
    contentKind: 'IMAGE',
    media: { uri, inlineBytes: null, mimeType: null, sizeBytes: null },
    uploadContext: null,
    channel: 'kafka',
    submittedAtMs: Date.now(),
  };
}

/** CPU use between two readings, in cores, per process name. */
function coresBetween(a: Record<string, number | undefined>, b: Record<string, number | undefined>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) {
    const before = a[k];
    if (v !== undefined && before !== undefined && seconds > 0) out[k] = Math.round(((v - before) / seconds) * 100) / 100;
  }
  return out;
}

/**
 * Adds `others`: the machine's busy cores not used by the pipeline's processes, the broker or the
 * harness (other work on a shared machine, the registry, the kernel).
 */
function withOthers(cores: Record<string, number>): Record<string, number> {
  if (cores.machine === undefined) return cores;
  const ours = Object.entries(cores).reduce((n, [k, v]) => (k === 'machine' ? n : n + v), 0);
  cores.others = Math.max(0, Math.round((cores.machine - ours) * 100) / 100);
  return cores;
}

/** Runs the load test and writes `<outDir>/<name>.json` and `.png`; resolves with the result. */
export async function runLoad(options: LoadOptions = {}): Promise<LoadResult> {
  const smoke = options.smoke ?? false;
  const log = options.log ?? ((m: string) => process.stdout.write(`[load ${new Date().toISOString().slice(11, 19)}] ${m}\n`));
  const imageSet: ImageSet = options.images ?? (smoke ? 'vectors' : 'mixed');
  const stepSeconds = options.stepSeconds ?? (smoke ? 6 : 45);
  const burstSize = options.burst ?? (smoke ? 20 : 300);
  const outDir = options.outDir ?? join(repoRoot(), 'bench', 'results');
  const name = options.name ?? 'load';
  const notes: string[] = [];
  const startLoad = os.loadavg();
  const harnessCpuStart = process.cpuUsage();
  const { images, roots } = loadImages(imageSet);
  const rnd = seededRandom(7);
  const sequence = (n: number): LoadImage[] => Array.from({ length: n }, () => images[Math.floor(rnd() * images.length)]!);
  const brokerPid = (() => {
    try {
      return Number(readFileSync(join(repoRoot(), '.cache', 'infra', 'kafka', 'kafka.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  })();
  const environment = `${process.env.SAFEGUARD_TEST_ENV_SOURCE ?? 'env'}: KAFKA_BROKERS=${process.env.KAFKA_BROKERS}`;
  log(`images: ${images.length} (${imageSet}); broker ${environment}${brokerPid ? ` (pid ${brokerPid})` : ''}`);

  // A review bank with the PDQ of a few reference images, so a share of submissions match and
  // the matcher and the reporter (cases) carry load too.
  const pdq = vectorPdq();
  const bankPaths = ['misc-images/wee.jpg', 'reg-test-input/labelme-subset/q0746.jpg', 'reg-test-input/labelme-subset/q2821.jpg', 'reg-test-input/pen-and-coaster.png', 'misc-images/small.jpg'];
  const bankText = bankPaths.map((p, i) => `load-${i}\tpdq\t${pdq.get(p)}\n`).join('');

  const hasherBurst = async (label: string, seq: LoadImage[]): Promise<BurstResult> => {
    const p = await Pipeline.start({ services: [], fileRoots: roots, logLevel: 'warn' });
    try {
      const client = p.transport();
      const input = renameTopic(topics.contentSubmitted, p.topic(topics.contentSubmitted.topic));
      await client.admin().ensureTopics([{ topic: input.topic, partitions: input.partitions, retentionMs: input.retentionMs }]);
      for (let i = 0; i < seq.length; i += 100) {
        await client.producer().send(
          input,
          seq.slice(i, i + 100).map((img, j) => ({ value: submittedValue(`sa-${i + j}`, img.uri, `u-${i + j}`) })),
        );
      }
      const output = renameTopic(topics.contentHashed, p.topic(topics.contentHashed.topic));
      await client.admin().ensureTopics([{ topic: output.topic, partitions: output.partitions, retentionMs: output.retentionMs }]);
      const hashedAt: number[] = [];
      const reader = await client.reader({ binding: output, handle: (m) => void (m.value && hashedAt.push(m.value.hashedAtMs)) });
      await p.start('hasher');
      const pid = p.pid('hasher');
      const cpu0 = { hasher: processCpuSeconds(pid), broker: processCpuSeconds(brokerPid), machine: machineBusySeconds() };
      const t0 = Date.now();
      await waitFor(() => hashedAt.length >= seq.length, { timeoutMs: 30 * 60_000, intervalMs: 250, description: `${label}: ${seq.length} images hashed` });
      const seconds = (Date.now() - t0) / 1000;
      const cpu1 = { hasher: processCpuSeconds(pid), broker: processCpuSeconds(brokerPid), machine: machineBusySeconds() };
      await reader.stop();
      const rate = burstRate(hashedAt);
      const result: BurstResult = {
        images: seq.length,
        imagesPerSecond: rate,
        seconds,
        hasherCpuMsPerImage: cpu0.hasher !== undefined && cpu1.hasher !== undefined ? Math.round(((cpu1.hasher - cpu0.hasher) * 1000) / seq.length) : null,
        cpuCores: coresBetween(cpu0, cpu1, seconds),
      };
      log(`${label}: ${rate?.toFixed(2)} images/s (${seq.length} images, hasher ${result.hasherCpuMsPerImage} CPU-ms/image, cores ${JSON.stringify(result.cpuCores)})`);
      return result;
    } finally {
      await p.stop();
    }
  };

  const burstImages = sequence(burstSize);
  const standalone: BurstResult[] = [await hasherBurst('hasher standalone (before)', burstImages)];

  const pipeline = await Pipeline.start({ fileRoots: roots, logLevel: 'warn' });
  const tracked = new Map<string, Tracked>();
  const samples: Sample[] = [];
  const steps: StepResult[] = [];
  const markers: Array<{ x: number; label: string }> = [];
  let pipelineBurst: BurstResult | undefined;
  let readers: Reader[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const rampStart = Date.now();
  try {
    const client = pipeline.transport();
    const bankFile = join(pipeline.workDir, 'load-bank.tsv');
    writeFileSync(bankFile, bankText);
    await pipeline.cli(['bank', 'import', '--bank', 'load-review', '--kind', 'review', '--source', 'platform', bankFile]);
    await waitFor(async () => sumSamples(await pipeline.scrape('matcher'), 'safeguard_matcher_index_entries') === bankPaths.length, { timeoutMs: 60_000, description: 'bank in the matcher index' });
    readers = await tailTopics(client, pipeline, tracked);
    const expectedMatching = images.filter((i) => i.kind === 'vector' && bankPaths.some((b) => i.id === `vector/${b}`)).length;

    // Time series: lag per service (from its /metrics), CPU per process (/proc), progress.
    const pids = (): Record<string, number | undefined> => ({ ...Object.fromEntries(SERVICE_NAMES.map((s) => [s, pipeline.pid(s)])), broker: brokerPid });
    const cpuNow = (): Record<string, number | undefined> => {
      const c: Record<string, number | undefined> = Object.fromEntries(Object.entries(pids()).map(([k, pid]) => [k, processCpuSeconds(pid)]));
      c.machine = machineBusySeconds();
      const usage = process.cpuUsage();
      c.harness = (usage.user + usage.system) / 1e6;
      return c;
    };
    let lastCpu = cpuNow();
    let lastT = Date.now();
    const sample = async (): Promise<void> => {
      const now = Date.now();
      const cpu = cpuNow();
      const lag: Partial<Record<ServiceName, number>> = {};
      await Promise.all(
        SERVICES_WITH_LAG.map(async (s) => {
          try {
            lag[s] = sumSamples(await pipeline.scrape(s), 'safeguard_consumer_lag');
          } catch {
            // a scrape that times out under load leaves a gap
          }
        }),
      );
      let submitted = 0;
      let hashed = 0;
      let matched = 0;
      for (const t of tracked.values()) {
        submitted++;
        if (t.hashedAtMs !== undefined || t.deadLettered) hashed++;
        if (t.matchedAtMs !== undefined) matched++;
      }
      const cores = coresBetween(lastCpu, cpu, (now - lastT) / 1000);
      withOthers(cores);
      samples.push({ t: (now - rampStart) / 1000, submitted, hashed, matched, lag, cpuCores: cores });
      lastCpu = cpu;
      lastT = now;
    };
    let sampling = false;
    sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      void sample().finally(() => (sampling = false));
    }, 2_000);

    // End-to-end drain: the same burst of images through ingest's Kafka input, all five services running.
    {
      const settleMs = options.settleMs ?? (smoke ? 0 : 15_000);
      if (settleMs > 0) {
        log(`settling ${settleMs} ms before the end-to-end burst`);
        await sleep(settleMs);
      }
      const input = renameTopic(topics.platformContentUploaded, pipeline.topic(topics.platformContentUploaded.topic));
      const ids = burstImages.map((_, i) => `burst-${i}`);
      ids.forEach((id) => tracked.set(id, { step: -1, sentAtMs: Date.now() }));
      const cpu0: Record<string, number | undefined> = Object.fromEntries(Object.entries(pids()).map(([k, pid]) => [k, processCpuSeconds(pid)]));
      const t0 = Date.now();
      markers.push({ x: (t0 - rampStart) / 1000, label: `burst of ${ids.length}` });
      for (let i = 0; i < burstImages.length; i += 100) {
        await client.producer().send(input, burstImages.slice(i, i + 100).map((img, j) => ({ value: submittedValue(ids[i + j]!, img.uri, `u-burst-${i + j}`) })));
      }
      await waitFor(() => ids.every((id) => tracked.get(id)!.hashedAtMs !== undefined || tracked.get(id)!.deadLettered), { timeoutMs: 30 * 60_000, intervalMs: 250, description: 'end-to-end burst hashed' });
      const seconds = (Date.now() - t0) / 1000;
      const cpu1: Record<string, number | undefined> = Object.fromEntries(Object.entries(pids()).map(([k, pid]) => [k, processCpuSeconds(pid)]));
      const hashedAt = ids.map((id) => tracked.get(id)!.hashedAtMs).filter((t): t is number => t !== undefined);
      pipelineBurst = {
        images: ids.length,
        imagesPerSecond: burstRate(hashedAt),
        seconds,
        hasherCpuMsPerImage: cpu0.hasher !== undefined && cpu1.hasher !== undefined ? Math.round(((cpu1.hasher - cpu0.hasher) * 1000) / ids.length) : null,
        cpuCores: coresBetween(cpu0, cpu1, seconds),
      };
      log(`pipeline end to end: ${pipelineBurst.imagesPerSecond?.toFixed(2)} images/s (hasher ${pipelineBurst.hasherCpuMsPerImage} CPU-ms/image, cores ${JSON.stringify(pipelineBurst.cpuCores)})`);
    }

    // Rate steps, open loop: submission i of a step is sent at i / rate seconds, whatever the answers.
    const rates = options.rates ?? (smoke ? [3] : undefined);
    const nextRate = (i: number): number | undefined => {
      if (rates) return rates[i];
      const r = (options.startRate ?? 4) * (options.factor ?? 1.5) ** i;
      return r <= (options.maxRate ?? 80) ? Math.round(r * 100) / 100 : undefined;
    };
    const ingestUrl = `${pipeline.url('ingest')}/v1/content`;
    const runStep = async (stepIndex: number, rate: number): Promise<StepResult> => {
      const seq = sequence(Math.ceil(rate * stepSeconds));
      const ids: string[] = [];
      const t0 = Date.now();
      const stepStartT = (t0 - rampStart) / 1000;
      markers.push({ x: stepStartT, label: `${rate}/s` });
      const cpu0 = cpuNow();
      let inFlight = 0;
      let capped = 0;
      for (let i = 0; i < seq.length; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        if (inFlight >= 256) {
          capped++;
          continue;
        }
        const id = `s${stepIndex}-${i}`;
        ids.push(id);
        const t: Tracked = { step: stepIndex, sentAtMs: Date.now() };
        tracked.set(id, t);
        inFlight++;
        void fetch(ingestUrl, {
          method: 'POST',
          headers: { authorization: `Bearer ${pipeline.keys.ingest}`, 'content-type': 'application/json' },
          body: JSON.stringify({ contentId: id, uploaderAccountId: `u-${stepIndex}-${i}`, contentKind: 'IMAGE', media: { uri: seq[i]!.uri } }),
          signal: AbortSignal.timeout(60_000),
        })
          .then(async (res) => {
            t.status = res.status;
            await res.arrayBuffer();
          })
          .catch(() => (t.status = 0))
          .finally(() => {
            t.respondedAtMs = Date.now();
            inFlight--;
          });
      }
      const stepEnd = Date.now();
      // The last submission goes out at (n − 1) / rate: count the step as n / rate long at least.
      const seconds = Math.max((stepEnd - t0) / 1000, ids.length / rate);
      const done = (id: string) => tracked.get(id)!.hashedAtMs !== undefined || tracked.get(id)!.deadLettered === true;
      const completedInStep = ids.filter((id) => {
        const t = tracked.get(id)!;
        return t.hashedAtMs !== undefined && t.hashedAtMs <= stepEnd;
      }).length;
      const backlogAtEnd = ids.filter((id) => !done(id)).length;
      const cpu1 = cpuNow();
      // Drain before the next step (bounded), so each step starts from an empty pipeline.
      let drainSeconds: number | null = null;
      try {
        await waitFor(() => ids.every(done) && ids.every((id) => tracked.get(id)!.respondedAtMs !== undefined), {
          timeoutMs: Math.max(60_000, stepSeconds * 4_000),
          intervalMs: 250,
          description: `step ${stepIndex} drained`,
        });
        drainSeconds = (Date.now() - stepEnd) / 1000;
      } catch {
        notes.push(`step ${stepIndex} (${rate}/s) did not drain within ${Math.max(60, stepSeconds * 4)} s`);
      }
      // Matches are published after hashing; give the matcher a moment for the last ones.
      await sleep(1_000);
      const list = ids.map((id) => tracked.get(id)!);
      const stepSamples = samples.filter((s) => s.t >= stepStartT && s.t <= (stepEnd - rampStart) / 1000);
      const lagSlope: Partial<Record<ServiceName, number>> = {};
      for (const s of SERVICES_WITH_LAG) {
        const v = slope(stepSamples.filter((x) => x.lag[s] !== undefined).map((x) => ({ x: x.t, y: x.lag[s]! })));
        if (v !== null) lagSlope[s] = Math.round(v * 100) / 100;
      }
      const lat = (f: (t: Tracked) => number | undefined) => summarize(list.map(f).filter((v): v is number => v !== undefined));
      const latencyMs = {
        submittedToHashed: lat((t) => (t.hashedAtMs !== undefined && t.submittedAtMs !== undefined ? t.hashedAtMs - t.submittedAtMs : undefined)),
        hashedToMatched: lat((t) => (t.matchedAtMs !== undefined && t.hashedAtMs !== undefined ? t.matchedAtMs - t.hashedAtMs : undefined)),
        submittedToMatched: lat((t) => (t.matchedAtMs !== undefined && t.submittedAtMs !== undefined ? t.matchedAtMs - t.submittedAtMs : undefined)),
        httpResponse: lat((t) => (t.respondedAtMs !== undefined ? t.respondedAtMs - t.sentAtMs : undefined)),
      };
      const refused = list.filter((t) => t.status !== undefined && t.status !== 202).length;
      if (refused > 0) notes.push(`step ${stepIndex}: ${refused} submissions not accepted (HTTP status other than 202)`);
      if (capped > 0) notes.push(`step ${stepIndex}: ${capped} submissions skipped (256 requests in flight)`);
      // Sustainable: the queue of submitted-but-not-hashed contents did not keep growing during
      // the step (least-squares growth under 5 % of the arrival rate: image costs are heavy-tailed,
      // so a few big photographs leave a transient queue at any rate), the p95 submitted → hashed
      // latency stayed under 5 s, and nothing was refused or skipped.
      const queueGrowth = slope(stepSamples.map((x) => ({ x: x.t, y: x.submitted - x.hashed }))) ?? 0;
      const sustainable = queueGrowth <= 0.05 * rate && (latencyMs.submittedToHashed.p95 ?? Infinity) <= 5_000 && refused === 0 && capped === 0 && drainSeconds !== null;
      const step: StepResult = {
        targetRate: rate,
        startT: Math.round(stepStartT * 10) / 10,
        seconds: Math.round(seconds * 10) / 10,
        submitted: ids.length,
        sentRate: Math.round((ids.length / seconds) * 100) / 100,
        completedRateInStep: Math.round((completedInStep / seconds) * 100) / 100,
        backlogAtEnd,
        queueGrowthPerSecond: Math.round(queueGrowth * 100) / 100,
        drainSeconds,
        latencyMs,
        lagSlope,
        cpuCores: withOthers(coresBetween(cpu0, cpu1, (stepEnd - t0) / 1000)),
        hasherCpuMsPerImage: cpu0.hasher !== undefined && cpu1.hasher !== undefined && ids.length > 0 ? Math.round(((cpu1.hasher - cpu0.hasher) * 1000) / ids.length) : null,
        sustainable,
      };
      steps.push(step);
      log(
        `step ${stepIndex}: target ${rate}/s, sent ${step.sentRate}/s, done in step ${step.completedRateInStep}/s, backlog ${backlogAtEnd} (growth ${step.queueGrowthPerSecond}/s), ` +
          `p50/p95 submitted→hashed ${latencyMs.submittedToHashed.p50}/${latencyMs.submittedToHashed.p95} ms, lag slope ${JSON.stringify(lagSlope)}, cores ${JSON.stringify(step.cpuCores)} → ${sustainable ? 'sustainable' : 'NOT sustainable'}`,
      );
      return step;
    };
    for (let stepIndex = 0; ; stepIndex++) {
      const rate = nextRate(stepIndex);
      if (rate === undefined) break;
      const step = await runStep(stepIndex, rate);
      if (!step.sustainable && !rates) break;
    }
    // Refine the knee: steps between the best sustainable and the first unsustainable rate.
    for (let i = 0; i < (options.refine ?? (smoke || rates ? 0 : 2)); i++) {
      const good = Math.max(0, ...steps.filter((s) => s.sustainable).map((s) => s.targetRate));
      const bad = Math.min(...steps.filter((s) => !s.sustainable).map((s) => s.targetRate));
      if (!(good > 0) || !Number.isFinite(bad) || bad / good < 1.1) break;
      await runStep(steps.length, Math.round(Math.sqrt(good * bad) * 100) / 100);
    }
    const matchedCount = [...tracked.values()].filter((t) => t.matchedAtMs !== undefined).length;
    notes.push(`${matchedCount} submissions matched the load bank (${expectedMatching} of the ${images.length} images are on it)`);
  } finally {
    if (sampler) clearInterval(sampler);
    await Promise.all(readers.map((r) => r.stop().catch(() => undefined)));
    await pipeline.stop();
  }

  standalone.push(await hasherBurst('hasher standalone (after)', burstImages));

  const sustainableSteps = steps.filter((s) => s.sustainable);
  const maxSustainableRate = sustainableSteps.length > 0 ? Math.max(...sustainableSteps.map((s) => s.targetRate)) : null;
  const firstBad = steps.findIndex((s) => !s.sustainable);
  const bottleneck = (() => {
    if (firstBad < 0) return { step: null, service: null, reason: 'no step was unsustainable: raise --max-rate' };
    const s = steps[firstBad]!;
    const growing = Object.entries(s.lagSlope).sort((a, b) => b[1] - a[1]);
    const [service, growth] = growing[0] ?? [null, 0];
    const cores = Object.entries(s.cpuCores).filter(([k]) => k !== 'machine').sort((a, b) => b[1] - a[1]);
    const ingestSlow = (s.latencyMs.httpResponse.p95 ?? 0) > 1_000;
    if (!ingestSlow && !((growth ?? 0) > 0)) return { step: firstBad, service: null, reason: `no consumer lag grew and ingest answered in time (p95 ${s.latencyMs.httpResponse.p95} ms); busiest processes ${JSON.stringify(cores.slice(0, 3))}` };
    if (ingestSlow && (growth ?? 0) <= 0) return { step: firstBad, service: 'ingest', reason: `HTTP p95 ${s.latencyMs.httpResponse.p95} ms while no consumer lag grew; busiest processes ${JSON.stringify(cores.slice(0, 3))}` };
    return {
      step: firstBad,
      service,
      reason: `${service} lag grew ${growth}/s at ${s.targetRate}/s (other services: ${JSON.stringify(Object.fromEntries(growing.slice(1)))}); busiest processes (cores) ${JSON.stringify(cores.slice(0, 4))}; machine busy ${s.cpuCores.machine ?? '?'} of ${os.cpus().length} cores`,
    };
  })();
  const standaloneRates = standalone.map((b) => b.imagesPerSecond).filter((r): r is number => r !== null);
  const standaloneMean = standaloneRates.length > 0 ? standaloneRates.reduce((a, b) => a + b, 0) / standaloneRates.length : null;
  const e2e = pipelineBurst?.imagesPerSecond ?? null;
  const cpu = process.cpuUsage(harnessCpuStart);
  const result: LoadResult = {
    benchmark: 'load',
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadAverage: { start: startLoad, end: os.loadavg() },
    environment,
    images: {
      set: imageSet,
      count: images.length,
      photos: images.filter((i) => i.kind === 'photo').length,
      vectors: images.filter((i) => i.kind === 'vector').length,
      totalBytes: images.reduce((n, i) => n + i.sizeBytes, 0),
    },
    banks: { entries: bankPaths.length, matchedShareExpected: `${images.filter((i) => bankPaths.some((b) => i.id === `vector/${b}`)).length}/${images.length} images` },
    hasherStandalone: standalone,
    pipelineBurst: pipelineBurst!,
    endToEndOverStandalone: e2e !== null && standaloneMean !== null ? Math.round((e2e / standaloneMean) * 1000) / 1000 : null,
    steps,
    maxSustainableRate,
    bottleneck,
    samples,
    markers,
    harnessCpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 10) / 10,
    notes,
  };
  await writeResults(result, outDir, name);
  log(`max sustainable ${maxSustainableRate}/s; end-to-end ÷ standalone ${result.endToEndOverStandalone}; bottleneck ${JSON.stringify(bottleneck)}`);
  return result;
}

/** Writes the JSON and the chart (SVG rasterised to PNG with sharp). */
export async function writeResults(result: LoadResult, outDir: string, name: string): Promise<{ json: string; png: string }> {
  const json = join(outDir, `${name}.json`);
  const png = join(outDir, `${name}.png`);
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  const colors: Record<string, string> = {
    ingest: '#1f77b4',
    hasher: '#d62728',
    matcher: '#2ca02c',
    grooming: '#9467bd',
    reporter: '#ff7f0e',
    broker: '#8c564b',
    harness: '#17becf',
    others: '#bcbd22',
    machine: '#7f7f7f',
  };
  const rateOf = (key: 'submitted' | 'hashed' | 'matched'): Series['points'] => {
    const pts: Array<{ x: number; y: number }> = [];
    for (let i = 1; i < result.samples.length; i++) {
      const a = result.samples[i - 1]!;
      const b = result.samples[i]!;
      if (b.t > a.t) pts.push({ x: b.t, y: Math.max(0, (b[key] - a[key]) / (b.t - a.t)) });
    }
    return pts;
  };
  const target: Array<{ x: number; y: number }> = [];
  for (const s of result.steps) target.push({ x: s.startT, y: 0 }, { x: s.startT, y: s.targetRate }, { x: s.startT + s.seconds, y: s.targetRate }, { x: s.startT + s.seconds, y: 0 });
  const processes = ['ingest', 'hasher', 'matcher', 'grooming', 'reporter', 'broker', 'harness', 'others', 'machine'];
  const svg = chartSvg(
    [
      {
        title: 'Throughput (per second, 2 s samples)',
        yLabel: 'contents / s',
        series: [
          { name: 'target rate', color: '#000', points: target, dashed: true },
          { name: 'submitted', color: '#1f77b4', points: rateOf('submitted') },
          { name: 'hashed', color: '#d62728', points: rateOf('hashed') },
          { name: 'matched', color: '#2ca02c', points: rateOf('matched') },
        ],
      },
      {
        title: 'Consumer lag per service (records, from /metrics)',
        yLabel: 'records',
        series: SERVICES_WITH_LAG.map((s) => ({ name: s, color: colors[s]!, points: result.samples.filter((x) => x.lag[s] !== undefined).map((x) => ({ x: x.t, y: x.lag[s]! })) })),
      },
      {
        title: `CPU per process (cores; machine has ${result.cpus})`,
        yLabel: 'cores',
        series: processes.map((p) => ({ name: p, color: colors[p]!, points: result.samples.filter((x) => x.cpuCores[p] !== undefined).map((x) => ({ x: x.t, y: x.cpuCores[p]! })) })),
      },
    ],
    {
      title: `Safeguard pipeline under load: max sustainable ${result.maxSustainableRate ?? '?'} contents/s; end-to-end ÷ hasher standalone ${result.endToEndOverStandalone ?? '?'}`,
      markers: result.markers,
    },
  );
  writeFileSync(png, await svgToPng(svg));
  return { json, png };
}

/** A throw-away output directory (the smoke test's). */
export function tempOutDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(os.tmpdir(), 'safeguard-load-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
