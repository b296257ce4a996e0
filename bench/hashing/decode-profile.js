'use strict';
/**
 * Where does our decode time go? Per photograph of the hashing bench corpus, pinned to ONE core
 * (taskset -c $BENCH_CPU, default 1; VIPS_CONCURRENCY=1, UV_THREADPOOL_SIZE=1), decode only
 * (bytes already in memory, except the `file-path` variant and the external tools):
 *   - ours: `decodeImage(bytes, { mode: 'exact' })` of @safeguard/hashing, as hashImage uses it,
 *     the same as it was before it read JPEG frame headers itself (sharp `.metadata()`, then the
 *     pixel pipeline), and the parts (the `.metadata()` call alone, the pixel pipeline alone);
 *   - minimal sharp calls that produce RGB pixels (`sharp(buf).raw().toBuffer()`), with and
 *     without sequentialRead, ignoreIcc, failOn / limitInputPixels, a file path instead of a
 *     Buffer, the libvips operation cache on, SIMD (highway) off;
 *   - ours again in a process started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (page faults);
 *   - libjpeg-turbo's own `djpeg` (Debian libjpeg-turbo-progs; one process per decode, PPM to
 *     /dev/null; the spawn cost of `djpeg -version` is subtracted) when installed;
 *   - PIL (`Image.open(BytesIO(b)).convert('RGB')`, bench/.work/venv) when present.
 * Every variant's pixels are compared byte for byte with ours (SHA-256 of the RGB samples; djpeg
 * through a PPM written once, outside the timing). Variants alternate image by image (starting
 * variant rotates per image and round); per image the median over rounds × reps is kept, of wall
 * time and of the CPU time of the process (all threads), which other load on the shared machine
 * disturbs less.
 *
 *   node bench/hashing/decode-profile.js [--rounds 3] [--reps 3]
 * Corpus: bench/.work/hashing-bench-files.txt (written by bench/hashing/run.js). Needs the built
 * dist of @safeguard/hashing. Writes bench/results/hashing-decode-profile.json.
 */
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { performance } = require('node:perf_hooks');
const { startLineWorker } = require('./line-worker');

const ROOT = path.resolve(__dirname, '..', '..');
const WORK = path.join(ROOT, 'bench', '.work');
const CPU = process.env.BENCH_CPU ?? '1';
const PYTHON = process.env.PDQ_PYTHON ?? path.join(WORK, 'venv', 'bin', 'python');
const ENV = { ...process.env, UV_THREADPOOL_SIZE: '1', VIPS_CONCURRENCY: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

// ---------------------------------------------------------------- Node worker (sharp variants)

/** Node variants: name → async (bytes, file) → Buffer of pixels (or null when it yields none). */
function nodeVariants(sharp, hashing) {
  const ours = { failOn: 'error', limitInputPixels: 100_000_000, sequentialRead: true, pages: 1, page: 0, ignoreIcc: true, autoOrient: false };
  return {
    // Through sharp (jpegDecoder 'sharp'): this profile compares full RGB decodes; the native JPEG
    // path hands over only the 512×512 sample and is measured by run.js (safeguard-exact).
    'ours-decodeImage': async (b) => (await hashing.decodeImage(b, { mode: 'exact', jpegDecoder: 'sharp' })).pixels.data,
    // decodeImage before the JPEG frame-header reader (commit after e3ee3f8): sharp metadata()
    // for dimensions and colour space, then the same pixel pipeline.
    'ours-before-metadata-then-pipeline': async (b) => {
      const m = await sharp(b, ours).metadata();
      let p = sharp(b, ours).timeout({ seconds: 10 });
      if (m.space === 'cmyk') p = p.pipelineColourspace('cmyk').toColourspace('cmyk');
      else if (m.space === 'b-w' || m.space === 'grey16') p = p.toColourspace('b-w');
      return (await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })).data;
    },
    'ours-metadata-only': async (b) => {
      await sharp(b, ours).metadata();
      return null;
    },
    'ours-pipeline-only': async (b) => (await sharp(b, ours).timeout({ seconds: 10 }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })).data,
    'sharp-defaults': async (b) => sharp(b).raw().toBuffer(),
    'sharp-random-access': async (b) => sharp(b, { sequentialRead: false }).raw().toBuffer(),
    'sharp-ignoreIcc': async (b) => sharp(b, { ignoreIcc: true }).raw().toBuffer(),
    'sharp-ignoreIcc-failOn-none-unlimited-pixels': async (b) => sharp(b, { ignoreIcc: true, failOn: 'none', limitInputPixels: false }).raw().toBuffer(),
    'sharp-ignoreIcc-file-path': async (_b, f) => sharp(f, { ignoreIcc: true }).raw().toBuffer(),
    'sharp-ignoreIcc-pipelineColourspace-srgb': async (b) => sharp(b, { ignoreIcc: true }).pipelineColourspace('srgb').raw().toBuffer(),
  };
}

async function nodeWorker(kind) {
  const sharp = require('sharp');
  const hashing = require('@safeguard/hashing');
  hashing.configureSharp({ concurrency: 1, cache: kind === 'cache-on' });
  if (kind === 'simd-off') sharp.simd(false);
  let variants = nodeVariants(sharp, hashing);
  if (kind === 'glibc-hugetlb') variants = { 'ours-decodeImage-glibc-hugetlb': variants['ours-decodeImage'] };
  else if (kind !== 'main') variants = { [`sharp-ignoreIcc-${kind}`]: variants['sharp-ignoreIcc'] };
  const sha = (buf) => (buf ? crypto.createHash('sha256').update(buf).digest('hex') : null);
  process.stdout.write(JSON.stringify({ ready: true, variants: Object.keys(variants), simd: sharp.simd() }) + '\n');
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line) continue;
    const { variant, file, reps } = JSON.parse(line);
    const times = [];
    const cpu = [];
    let digest = null;
    for (let r = 0; r < reps; r++) {
      const bytes = readFileSync(file); // fresh buffer per rep: no cache hit on a reused pointer
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = await variants[variant](bytes, file);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      digest = sha(out);
    }
    process.stdout.write(JSON.stringify({ times, cpu, digest }) + '\n');
  }
}

// ---------------------------------------------------------------- orchestrator

/** A worker pinned to the bench core that answers one JSON request line with one JSON line. */
function lineWorker(cmd, cmdArgs, env = ENV) {
  const worker = startLineWorker('taskset', ['-c', CPU, cmd, ...cmdArgs], env);
  return { ready: worker.ready, ask: (msg) => worker.request(JSON.stringify(msg)), stop: worker.stop };
}

// PIL decodes in process; djpeg runs as a child of this (pinned) worker so that its CPU time
// comes from getrusage(RUSAGE_CHILDREN).
const PY_WORKER = String.raw`
import hashlib, io, json, resource, subprocess, sys, time
try:
    from PIL import Image
except ImportError:
    Image = None
def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000
print(json.dumps({'ready': True, 'pil': Image is not None}), flush=True)
for line in sys.stdin:
    m = json.loads(line)
    times, cpu, digest = [], [], None
    for _ in range(m['reps']):
        if m['tool'] == 'pil':
            data = open(m['file'], 'rb').read()
            c0, t0 = time.process_time(), time.perf_counter()
            px = Image.open(io.BytesIO(data)).convert('RGB').tobytes()
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            digest = hashlib.sha256(px).hexdigest()
        else:
            argv = ['djpeg', '-version'] if m['file'] is None else ['djpeg', '-outfile', '/dev/null', m['file']]
            c0, t0 = child_cpu(), time.perf_counter()
            subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append(child_cpu() - c0)
    print(json.dumps({'times': times, 'cpu': cpu, 'digest': digest}), flush=True)
`;

/** SHA-256 of the RGB samples djpeg writes (PPM header stripped), computed once, untimed. */
const djpegDigests = new Map();
function djpegDigest(file) {
  if (!djpegDigests.has(file)) djpegDigests.set(file, djpegDigestOnce(file));
  return djpegDigests.get(file);
}
function djpegDigestOnce(file) {
  const out = spawnSync('djpeg', ['-pnm', file], { maxBuffer: 1 << 30 });
  if (out.status !== 0) return null;
  const buf = out.stdout;
  let fields = 0;
  let i = 0;
  while (fields < 4) {
    while (/\s/.test(String.fromCharCode(buf[i]))) i++;
    if (buf[i] === 0x23) {
      while (buf[i] !== 0x0a) i++;
      continue;
    }
    while (!/\s/.test(String.fromCharCode(buf[i]))) i++;
    fields++;
  }
  return crypto.createHash('sha256').update(buf.subarray(i + 1)).digest('hex');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const round = (x, n = 2) => Math.round(x * 10 ** n) / 10 ** n;

async function main() {
  const ROUNDS = arg('--rounds', 3);
  const REPS = arg('--reps', 3);
  const listFile = path.join(WORK, 'hashing-bench-files.txt');
  if (!existsSync(listFile)) throw new Error(`no corpus list at ${listFile}: run bench/hashing/run.js once first`);
  const files = readFileSync(listFile, 'utf8').trim().split('\n').filter((f) => existsSync(f));
  const sharp = require('sharp');
  const photos = [];
  for (const file of files) {
    const m = await sharp(file).metadata();
    photos.push({ file, width: m.width, height: m.height, mp: round((m.width * m.height) / 1e6), progressive: m.isProgressive, chroma: m.chromaSubsampling, icc: Boolean(m.icc), bytes: readFileSync(file).length });
  }

  const self = path.resolve(__filename);
  const main = lineWorker(process.execPath, [self, '--worker', 'main']);
  const cacheOn = lineWorker(process.execPath, [self, '--worker', 'cache-on']);
  const simdOff = lineWorker(process.execPath, [self, '--worker', 'simd-off']);
  // Same decodeImage, process started with glibc malloc asking for transparent huge pages
  // (fewer page faults on the large output buffers). A deployment setting, not code.
  const hugetlb = lineWorker(process.execPath, [self, '--worker', 'glibc-hugetlb'], { ...ENV, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  const nodeWorkers = [main, cacheOn, simdOff, hugetlb];
  const readies = await Promise.all(nodeWorkers.map((w) => w.ready));
  const python = existsSync(PYTHON) ? PYTHON : 'python3';
  const py = lineWorker(python, ['-c', PY_WORKER]);
  const hasPil = (await py.ready).pil;
  const hasDjpeg = spawnSync('djpeg', ['-version']).status === 0;
  const djpegVersion = hasDjpeg ? spawnSync('djpeg', ['-version'], { encoding: 'utf8' }).stderr.trim() : null;

  /** variant → runner(file, reps) → { times, digest } */
  const runners = {};
  readies.forEach((ready, k) => {
    for (const v of ready.variants) runners[v] = (file, reps) => nodeWorkers[k].ask({ variant: v, file, reps });
  });
  if (hasPil) runners['pil-convert-rgb'] = (file, reps) => py.ask({ tool: 'pil', file, reps });
  let spawnMs = 0;
  let spawnCpuMs = 0;
  if (hasDjpeg) {
    // The cost of starting djpeg (exec, dynamic loading), subtracted from every djpeg decode.
    const spawnCost = await py.ask({ tool: 'djpeg', file: null, reps: 15 });
    spawnMs = median(spawnCost.times);
    spawnCpuMs = median(spawnCost.cpu);
    runners['djpeg (spawn subtracted)'] = async (file, reps) => {
      const r = await py.ask({ tool: 'djpeg', file, reps });
      return { times: r.times.map((t) => t - spawnMs), cpu: r.cpu.map((t) => t - spawnCpuMs), digest: djpegDigest(file) };
    };
  }
  const names = Object.keys(runners);
  process.stderr.write(`${photos.length} photographs, ${names.length} variants, ${ROUNDS} rounds × ${REPS} reps, pinned to CPU ${CPU}; djpeg spawn ${round(spawnMs)} ms wall, ${round(spawnCpuMs)} ms CPU\n`);

  // Warm-up (JIT, libvips init), untimed.
  for (const n of names) await runners[n](photos[0].file, 2);

  const samples = Object.fromEntries(photos.map((p) => [p.file, Object.fromEntries(names.map((n) => [n, []]))]));
  const cpuSamples = Object.fromEntries(photos.map((p) => [p.file, Object.fromEntries(names.map((n) => [n, []]))]));
  const digests = Object.fromEntries(photos.map((p) => [p.file, {}]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < photos.length; i++) {
      for (let k = 0; k < names.length; k++) {
        const n = names[(i + r + k) % names.length];
        const { times, cpu, digest } = await runners[n](photos[i].file, REPS);
        samples[photos[i].file][n].push(...times);
        cpuSamples[photos[i].file][n].push(...cpu);
        digests[photos[i].file][n] = digest;
      }
    }
    process.stderr.write(`round ${r + 1} done\n`);
  }
  for (const w of nodeWorkers) w.stop();
  py.stop();

  const perImage = photos.map((p) => {
    const ref = digests[p.file]['ours-decodeImage'];
    const row = { file: path.basename(p.file), mp: p.mp, progressive: p.progressive, chroma: p.chroma, icc: p.icc, bytes: p.bytes, ms: {}, cpuMs: {}, identicalToOurs: {} };
    for (const n of names) {
      row.ms[n] = round(median(samples[p.file][n]), 1);
      row.cpuMs[n] = round(median(cpuSamples[p.file][n]), 1);
      const d = digests[p.file][n];
      row.identicalToOurs[n] = d === null ? null : d === ref;
    }
    return row;
  });
  const totals = {};
  const subsets = { all: () => true, baseline: (r) => !r.progressive, progressive: (r) => r.progressive };
  for (const [s, keep] of Object.entries(subsets)) {
    const rows = perImage.filter(keep);
    totals[s] = { images: rows.length };
    const ours = rows.reduce((a, r) => a + r.ms['ours-decodeImage'], 0);
    const oursCpu = rows.reduce((a, r) => a + r.cpuMs['ours-decodeImage'], 0);
    for (const n of names) {
      const t = rows.reduce((a, r) => a + r.ms[n], 0);
      const c = rows.reduce((a, r) => a + r.cpuMs[n], 0);
      totals[s][n] = { totalMs: round(t, 1), msPerImage: round(t / rows.length), oursOverThis: round(ours / t, 3), cpuMsPerImage: round(c / rows.length), oursOverThisCpu: round(oursCpu / c, 3) };
    }
  }
  const out = {
    benchmark: 'hashing-decode-profile',
    command: `node bench/hashing/decode-profile.js --rounds ${ROUNDS} --reps ${REPS}`,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, pinnedCpu: CPU, node: process.version, sharp: sharp.versions.sharp, vips: sharp.versions.vips, jpeg: `mozjpeg ${sharp.versions.mozjpeg}`, simd: readies[0].simd, djpeg: djpegVersion, djpegSpawnMs: round(spawnMs), djpegSpawnCpuMs: round(spawnCpuMs) },
    method: 'decode only (input bytes in memory; djpeg/file-path variants read the file); one process per implementation pinned to one core, single-threaded; variants alternate image by image, start rotating; per image the median of rounds × reps, wall (ms) and CPU time of the process, all threads (cpuMs: Node process.cpuUsage, Python process_time, djpeg getrusage of the child; less sensitive to other load on the shared machine than wall time); totals are sums of per-image medians; oursOverThis = ours-decodeImage total / this total (above 1: this variant is faster than ours), oursOverThisCpu the same on CPU time. djpeg: spawn cost of `djpeg -version` subtracted. identicalToOurs compares SHA-256 of the RGB samples.',
    rounds: ROUNDS,
    repsPerImage: REPS,
    totals,
    perImage,
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', 'hashing-decode-profile.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(totals, null, 2) + '\n');
  for (const r of perImage) {
    const bad = Object.entries(r.identicalToOurs).filter(([, v]) => v === false).map(([k]) => k);
    process.stdout.write(`${r.file.padEnd(26)} ${String(r.mp).padStart(5)} MP ${r.progressive ? 'prog' : 'base'}  ours ${r.ms['ours-decodeImage']} ms (CPU ${r.cpuMs['ours-decodeImage']})  ${names.filter((n) => n !== 'ours-decodeImage').map((n) => `${n}=${r.ms[n]} (${r.cpuMs[n]})`).join(' ')}${bad.length ? `  DIFFERENT: ${bad.join(',')}` : ''}\n`);
  }
}

if (args[0] === '--worker') {
  nodeWorker(args[1]).catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exitCode = 1;
  });
} else {
  main().catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exitCode = 1;
  });
}
