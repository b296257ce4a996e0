'use strict';
/**
 * PDQ hashing benchmark: images per second per core, end to end (read, decode, hash), for
 *   - safeguard exact mode (default; bit-identical to the reference): JPEGs through the native
 *     libjpeg-turbo decoder of @safeguard/hashing (when built), everything else through sharp,
 *   - safeguard exact mode through sharp only (`jpegDecoder: 'sharp'`), to show what the native
 *     decoder changes,
 *   - safeguard fast mode (reduced-scale JPEG/WebP decode),
 *   - Meta's PDQ via Python `pdqhash` (PyPI) with PIL decoding (venv: bench/.work/venv),
 *   - Meta's C++ `pdq-photo-hasher` (path in env PDQ_CPP_BIN; skipped when absent; it shells out
 *     to ImageMagick `convert`).
 * Every implementation runs pinned to ONE core (taskset -c $BENCH_CPU, default 1), with one
 * libvips / libuv / OpenMP / BLAS / ImageMagick thread. Implementations are interleaved round
 * image by image (A, B, C, D on image 1, then B, C, D, A on image 2…) because the machine is
 * shared; ratios are taken within a round, then the median over rounds is reported.
 * Also measures fast mode's Hamming distance to the reference on every photograph.
 *
 *   node bench/hashing/run.js [--rounds 3] [--reps 2]
 *   PDQ_CPP_BIN=/path/to/pdq-photo-hasher node bench/hashing/run.js
 * Writes bench/results/hashing.json. Needs `npm run build` (dist of @safeguard/hashing),
 * `apt install mate-backgrounds` (photographs), the venv (see README) for Python.
 */
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const sharp = require('sharp');
const { fastShrinkFactor, nativeJpeg } = require('@safeguard/hashing');
const { startLineWorker } = require('./line-worker');

const ROOT = path.resolve(__dirname, '..', '..');
const WORK = path.join(ROOT, 'bench', '.work');
const CPU = process.env.BENCH_CPU ?? '1';
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = arg('--rounds', 3);
const REPS = arg('--reps', 2);
const PYTHON = process.env.PDQ_PYTHON ?? path.join(WORK, 'venv', 'bin', 'python');
const CPP = process.env.PDQ_CPP_BIN;
const SINGLE_THREAD_ENV = {
  ...process.env,
  UV_THREADPOOL_SIZE: '1',
  VIPS_CONCURRENCY: '1',
  OMP_NUM_THREADS: '1',
  OPENBLAS_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
  MAGICK_THREAD_LIMIT: '1',
};

function log(msg) {
  process.stderr.write(msg + '\n');
}

/** Photographs of 0.5–12 MP: Debian mate-backgrounds, scikit-image samples, one derived 11.9 MP. */
async function corpus() {
  const files = [];
  const mate = '/usr/share/backgrounds/mate';
  if (existsSync(path.join(mate, 'nature'))) {
    for (const f of readdirSync(path.join(mate, 'nature')).sort()) if (f.endsWith('.jpg')) files.push(path.join(mate, 'nature', f));
    for (const f of ['Elephants.jpg', 'Elephants_3840x2160.jpg']) if (existsSync(path.join(mate, 'abstract', f))) files.push(path.join(mate, 'abstract', f));
    const big = path.join(mate, 'abstract', 'Elephants_5640x3172.jpg');
    const derived = path.join(WORK, 'photos', 'elephants-4600x2587.jpg');
    if (existsSync(big)) {
      if (!existsSync(derived)) {
        mkdirSync(path.dirname(derived), { recursive: true });
        await sharp(big).resize(4600, 2587).jpeg({ quality: 92 }).toFile(derived);
      }
      files.push(derived);
    }
  } else {
    log('mate-backgrounds not installed (apt install mate-backgrounds): fewer photographs');
  }
  const sk = spawnSync(PYTHON, ['-c', 'import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), "data"))'], { encoding: 'utf8' });
  if (sk.status === 0) {
    for (const f of ['retina.jpg', 'hubble_deep_field.jpg']) {
      const p = path.join(sk.stdout.trim(), f);
      if (existsSync(p)) files.push(p);
    }
  }
  const out = [];
  for (const file of files) {
    const m = await sharp(file).metadata();
    const mp = (m.width * m.height) / 1e6;
    if (mp >= 0.5 && mp <= 12.1) out.push({ file, width: m.width, height: m.height, mp });
  }
  return out;
}

function pinned(cmd, cmdArgs, input) {
  return spawnSync('taskset', ['-c', CPU, cmd, ...cmdArgs], { env: SINGLE_THREAD_ENV, encoding: 'utf8', input, maxBuffer: 64 << 20 });
}

/**
 * A long-lived worker process (pinned with taskset when `pin`): send a file path, get one JSON
 * line back. Keeping workers alive lets run.js alternate implementations image by image.
 */
function startWorker(impl, warmFile, pin = true) {
  const cmd =
    impl === 'python-pdqhash'
      ? [PYTHON, path.join(__dirname, 'pdqhash_worker.py'), String(REPS), warmFile]
      : [process.execPath, path.join(__dirname, 'js-worker.js'), impl.replace('safeguard-', ''), String(REPS), warmFile];
  const worker = pin ? startLineWorker('taskset', ['-c', CPU, ...cmd], SINGLE_THREAD_ENV) : startLineWorker(cmd[0], cmd.slice(1), SINGLE_THREAD_ENV);
  return { ready: worker.ready, measure: (file) => worker.request(file), stop: worker.stop };
}

/** The C++ tool on one file (one process, as it is used), plus `convert … pnm:-` alone for the decode share. */
function runCpp(file) {
  {
    let total = 0;
    let decode = 0;
    let line = '';
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      const out = pinned(CPP, [file]);
      const t1 = performance.now();
      if (out.status !== 0) throw new Error(`pdq-photo-hasher failed on ${file}: ${out.stderr}`);
      line = out.stdout.trim();
      const t2 = performance.now();
      const conv = spawnSync('taskset', ['-c', CPU, 'convert', file, 'pnm:-'], { env: SINGLE_THREAD_ENV, maxBuffer: 1 << 30 });
      const t3 = performance.now();
      if (conv.status !== 0) throw new Error(`convert failed on ${file}`);
      total += t1 - t0;
      decode += t3 - t2;
    }
    const [pdq, quality] = line.split(',');
    return { file, readMs: 0, decodeMs: decode / REPS, hashMs: (total - decode) / REPS, pdq, quality: Number(quality) };
  }
}

async function distanceStudy(photoFiles) {
  const files = [...photoFiles];
  const variants = path.join(WORK, 'variants');
  mkdirSync(variants, { recursive: true });
  for (const f of photoFiles) {
    const out = path.join(variants, path.basename(f).replace(/\.jpe?g$/i, '') + '-60pct.jpg');
    if (!existsSync(out)) {
      const m = await sharp(f).metadata();
      await sharp(f).resize(Math.round(m.width * 0.6)).jpeg({ quality: 90 }).toFile(out);
    }
    files.push(out);
  }
  const vectors = process.env.PDQ_VECTORS_DIR ?? path.join(ROOT, 'test', 'fixtures', 'pdq-vectors');
  if (existsSync(path.join(vectors, 'expected.csv'))) {
    for (const line of readFileSync(path.join(vectors, 'expected.csv'), 'utf8').trim().split('\n')) {
      const f = path.join(vectors, 'images', line.split(',')[2]);
      const m = await sharp(f).metadata();
      if (m.width > 512 || m.height > 512) files.push(f);
    }
  }
  const run = async (impl) => {
    const w = startWorker(impl, '', false);
    await w.ready;
    const out = [];
    for (const f of files) out.push(await w.measure(f));
    w.stop();
    return out;
  };
  const fast = await run('safeguard-fast');
  const exact = await run('safeguard-exact');
  let reference = exact;
  let referenceName = 'safeguard-exact (bit-identical to the reference on every vector)';
  if (CPP && existsSync(CPP)) {
    const out = spawnSync(CPP, ['-i'], { input: files.join('\n') + '\n', encoding: 'utf8', env: SINGLE_THREAD_ENV, maxBuffer: 64 << 20 });
    const lines = out.stdout.trim().split('\n');
    reference = files.map((file, i) => ({ file, pdq: lines[i].split(',')[0] }));
    referenceName = 'cpp-pdq-photo-hasher';
  }
  const exactVsRef = exact.map((r, i) => distance(r.pdq, reference[i].pdq));
  const rows = [];
  for (let i = 0; i < files.length; i++) {
    const m = await sharp(files[i]).metadata();
    rows.push({ file: path.basename(files[i]), width: m.width, height: m.height, shrink: m.format === 'jpeg' || m.format === 'webp' ? fastShrinkFactor(m.width, m.height) : 1, distance: distance(fast[i].pdq, reference[i].pdq) });
  }
  const reduced = rows.filter((r) => r.shrink > 1).map((r) => r.distance);
  const allD = rows.map((r) => r.distance);
  const hist = {};
  for (const d of allD) hist[d] = (hist[d] ?? 0) + 1;
  return {
    reference: referenceName,
    images: rows.length,
    exactVsReference: { max: Math.max(...exactVsRef), identical: exactVsRef.filter((d) => d === 0).length },
    fastAll: { p50: median(allD), p95: percentile(allD, 95), max: Math.max(...allD) },
    fastReducedOnly: reduced.length ? { images: reduced.length, p50: median(reduced), p95: percentile(reduced, 95), max: Math.max(...reduced) } : null,
    histogram: hist,
    perImage: rows,
  };
}

function distance(a, b) {
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      d += x & 1;
      x >>>= 1;
    }
  }
  return d;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const round = (x, n = 2) => Math.round(x * 10 ** n) / 10 ** n;

function summarise(results, subset) {
  const rs = results.filter((r) => subset.has(r.file));
  const sum = (k) => rs.reduce((a, r) => a + (r[k] ?? 0), 0);
  const totalMs = sum('readMs') + sum('decodeMs') + sum('hashMs');
  return {
    images: rs.length,
    imagesPerSecondPerCore: round((rs.length * 1000) / totalMs),
    msPerImage: round(totalMs / rs.length),
    readMs: round(sum('readMs') / rs.length),
    decodeMs: round(sum('decodeMs') / rs.length),
    hashMs: round(sum('hashMs') / rs.length),
    decodeShare: round(sum('decodeMs') / totalMs, 3),
  };
}

async function main() {
  const photos = await corpus();
  if (photos.length === 0) throw new Error('no photographs found');
  mkdirSync(WORK, { recursive: true });
  const listFile = path.join(WORK, 'hashing-bench-files.txt');
  writeFileSync(listFile, photos.map((p) => p.file).join('\n') + '\n');
  log(`${photos.length} photographs, ${round(Math.min(...photos.map((p) => p.mp)))}–${round(Math.max(...photos.map((p) => p.mp)))} MP; pinned to CPU ${CPU}; ${ROUNDS} rounds × ${REPS} reps`);

  const impls = ['safeguard-exact', 'safeguard-exact-sharp', 'safeguard-fast'];
  const skipped = {};
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pdqhash, PIL, numpy'], { encoding: 'utf8' }).status === 0) impls.push('python-pdqhash');
  else skipped['python-pdqhash'] = `no Python with pdqhash at ${PYTHON} (python3 -m venv bench/.work/venv && bench/.work/venv/bin/pip install pdqhash pillow numpy scikit-image)`;
  if (CPP && existsSync(CPP)) impls.push('cpp-pdq-photo-hasher');
  else skipped['cpp-pdq-photo-hasher'] = 'PDQ_CPP_BIN not set (path to a pdq-photo-hasher built from facebook/ThreatExchange pdq/cpp, outside this repository)';
  for (const [impl, why] of Object.entries(skipped)) log(`skipping ${impl}: ${why}`);

  const all = new Set(photos.map((p) => p.file));
  const large = new Set(photos.filter((p) => p.mp >= 4).map((p) => p.file));
  const small = new Set(photos.filter((p) => p.mp < 4).map((p) => p.file));
  const workers = {};
  for (const impl of impls) if (impl !== 'cpp-pdq-photo-hasher') workers[impl] = startWorker(impl, photos[0].file);
  await Promise.all(Object.values(workers).map((w) => w.ready));
  const rounds = [];
  const lastResults = {};
  for (let r = 0; r < ROUNDS; r++) {
    const results = Object.fromEntries(impls.map((impl) => [impl, []]));
    // Image by image, every implementation in turn (starting implementation rotates), so load
    // changes on the shared machine hit all implementations alike.
    for (let i = 0; i < photos.length; i++) {
      for (let k = 0; k < impls.length; k++) {
        const impl = impls[(i + r + k) % impls.length];
        const file = photos[i].file;
        results[impl].push(impl === 'cpp-pdq-photo-hasher' ? runCpp(file) : await workers[impl].measure(file));
      }
    }
    const roundOut = {};
    for (const impl of impls) {
      lastResults[impl] = results[impl];
      roundOut[impl] = { all: summarise(results[impl], all), '4-12MP': summarise(results[impl], large), '0.5-4MP': summarise(results[impl], small) };
      log(`round ${r + 1} ${impl}: ${roundOut[impl].all.imagesPerSecondPerCore} images/s/core (${roundOut[impl].all.msPerImage} ms/image)`);
    }
    rounds.push(roundOut);
  }
  for (const w of Object.values(workers)) w.stop();

  const ratio = (a, b, subset) => round(median(rounds.map((x) => x[a][subset].imagesPerSecondPerCore / x[b][subset].imagesPerSecondPerCore)));
  const ratios = {};
  for (const subset of ['all', '4-12MP', '0.5-4MP']) {
    ratios[subset] = {};
    for (const ours of ['safeguard-exact', 'safeguard-exact-sharp', 'safeguard-fast']) {
      for (const ref of ['python-pdqhash', 'cpp-pdq-photo-hasher']) {
        if (impls.includes(ref)) ratios[subset][`${ours} / ${ref}`] = ratio(ours, ref, subset);
      }
    }
    ratios[subset]['safeguard-exact / safeguard-exact-sharp'] = ratio('safeguard-exact', 'safeguard-exact-sharp', subset);
    ratios[subset]['safeguard-fast / safeguard-exact'] = ratio('safeguard-fast', 'safeguard-exact', subset);
  }
  // Typical per-image speed-up (median over images of the per-image time ratio, last round):
  // less dominated than the totals by the few slow progressive JPEGs.
  const perImage = {};
  for (const ours of ['safeguard-exact', 'safeguard-fast']) {
    for (const ref of ['python-pdqhash', 'cpp-pdq-photo-hasher']) {
      if (!impls.includes(ref)) continue;
      const refBy = new Map(lastResults[ref].map((r) => [r.file, r.readMs + r.decodeMs + r.hashMs]));
      const xs = lastResults[ours].map((r) => refBy.get(r.file) / (r.readMs + r.decodeMs + r.hashMs));
      perImage[`${ours} / ${ref}`] = { median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) };
    }
  }
  const medians = {};
  for (const impl of impls) {
    medians[impl] = {};
    for (const subset of ['all', '4-12MP', '0.5-4MP']) {
      const pick = (k) => round(median(rounds.map((x) => x[impl][subset][k])));
      medians[impl][subset] = {
        images: rounds[0][impl][subset].images,
        imagesPerSecondPerCore: pick('imagesPerSecondPerCore'),
        msPerImage: pick('msPerImage'),
        readMs: pick('readMs'),
        decodeMs: pick('decodeMs'),
        hashMs: pick('hashMs'),
        decodeShare: pick('decodeShare'),
      };
    }
  }

  // Fast mode's distance to the reference on a wider set: the photographs, each also re-encoded
  // at 60 % scale (JPEG q90), and the reference vectors larger than 512 px. Not timed.
  const study = await distanceStudy(photos.map((p) => p.file));

  // Agreement with the reference on these photographs.
  const ref = lastResults['cpp-pdq-photo-hasher'] ?? null;
  const refBy = new Map((ref ?? lastResults['safeguard-exact']).map((r) => [r.file, r.pdq]));
  const agreement = {};
  for (const impl of impls) {
    const ds = lastResults[impl].map((r) => distance(r.pdq, refBy.get(r.file)));
    agreement[impl] = { p50: median(ds), p95: percentile(ds, 95), max: Math.max(...ds), distances: ds };
  }
  const fastDs = lastResults['safeguard-fast'].map((r) => ({ file: path.basename(r.file), mp: round(photos.find((p) => p.file === r.file).mp), distance: distance(r.pdq, refBy.get(r.file)) }));

  const out = {
    benchmark: 'pdq-hashing',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, pinnedCpu: CPU, node: process.version, sharp: sharp.versions, nativeJpeg: nativeJpeg?.libraryInfo() ?? null },
    method: 'each implementation in its own process pinned to one core (taskset), single-threaded libraries; per image: read + decode + PDQ (crypto hashes excluded, measured separately); implementations alternate image by image (starting implementation rotates); ratios per round, median over rounds. safeguard-exact decodes JPEGs with the native libjpeg-turbo decoder (machine.nativeJpeg), safeguard-exact-sharp with sharp (same hashes). C++: one process per file as the tool is used (includes spawning ImageMagick convert); its decode share is timed by running convert alone.',
    rounds: ROUNDS,
    repsPerImage: REPS,
    photographs: photos.map((p) => ({ file: p.file, width: p.width, height: p.height, mp: round(p.mp) })),
    skipped,
    results: medians,
    ratios,
    perImageSpeedup: perImage,
    perImageMsLastRound: photos.map((p) => ({
      file: path.basename(p.file),
      mp: round(p.mp),
      ...Object.fromEntries(impls.map((impl) => {
        const r = lastResults[impl].find((x) => x.file === p.file);
        return [impl, { decodeMs: round(r.decodeMs, 1), hashMs: round(r.hashMs, 1), totalMs: round(r.readMs + r.decodeMs + r.hashMs, 1) }];
      })),
    })),
    cryptoMsPerImage: round(median(lastResults['safeguard-exact'].map((r) => r.cryptoMs))),
    referenceForDistances: ref ? 'cpp-pdq-photo-hasher' : 'safeguard-exact (bit-identical to the reference on every vector)',
    distanceToReference: agreement,
    fastModeDistances: fastDs,
    fastModeDistanceStudy: study,
    perRound: rounds,
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', 'hashing.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify({ results: medians, ratios, perImageSpeedup: perImage, fastModeDistanceStudy: { ...study, perImage: undefined }, distanceToReference: Object.fromEntries(Object.entries(agreement).map(([k, v]) => [k, { p50: v.p50, p95: v.p95, max: v.max }])) }, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exitCode = 1;
});
