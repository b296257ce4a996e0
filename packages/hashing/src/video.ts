/**
 * Video frame hashing in the vPDQ style: PDQ of frames sampled at a fixed rate, decoded by
 * `ffmpeg` (from the OS, on PATH) and streamed to us as raw RGB over a pipe.
 *
 * Why this shape: ffmpeg decodes every codec we could meet, in its own process (a crash or a
 * hang there cannot take the worker down, and a time budget kills it); frames arrive one at a
 * time, so memory stays at one frame whatever the video's length. Each frame is hashed at its
 * stored resolution with the same PDQ pipeline as still images (the reference's 512×512
 * resampling included), so a frame hash equals the hash of that frame saved as a lossless image.
 * Rotation metadata is not applied (`-noautorotate`), like EXIF orientation for images.
 *
 * Consecutive duplicates collapse: a sampled frame whose PDQ is within `dedupeDistance` bits of
 * the last KEPT frame is dropped (comparing with the last kept frame, not the previous one, so a
 * slow fade cannot drift arbitrarily far). Default 2 bits: identical scenes re-encoded jitter by
 * a bit or two; distinct shots are tens of bits apart.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PdqHasher, pdqBytesToHex, pdqDistance } from '@safeguard/domain/pdq';
import type { PdqHash } from '@safeguard/domain/pdq';
import { CryptoHasher, cryptoHashes } from './crypto-hashes';
import type { CryptoHashes } from './crypto-hashes';
import { MediaError, ToolUnavailableError } from './errors';
import { sniffMedia } from './sniff';
import type { VideoFormat } from './sniff';

/** Options and limits of video hashing; every limit bounds CPU, memory or wall time per video. */
export interface VideoHashOptions {
  /** Frames sampled per second of video. Default 1 (vPDQ's usual rate); higher finds shorter clips at proportional cost. */
  framesPerSecond?: number;
  /** Drop a sampled frame within this many bits of the last kept frame. Default 2; 0 collapses only identical hashes; -1 keeps every frame. */
  dedupeDistance?: number;
  /** Largest accepted file, bytes. Default 2 GiB. Over it: `media_too_large`. */
  maxBytes?: number;
  /** Longest accepted duration (from the container header), seconds. Default 3 hours. Over it: `video_too_long`. */
  maxDurationSec?: number;
  /** Most sampled frames hashed. Default 20,000. Over it: `video_too_long`. */
  maxFrames?: number;
  /** Largest accepted frame, width × height. Default 40 million (one RGB frame ≈ 120 MB). Over it: `media_dimensions_exceeded`. */
  maxFramePixels?: number;
  /** Wall-clock budget for decoding and hashing, ms. Default 600,000. Over it ffmpeg is killed: `decode_timeout`. */
  timeoutMs?: number;
  /** ffmpeg executable. Default `ffmpeg` (on PATH). */
  ffmpegPath?: string;
  /** ffprobe executable. Default `ffprobe` (on PATH). */
  ffprobePath?: string;
}

/** One kept frame. */
export interface VideoFrameHash {
  /** Index of the frame in the sampled sequence (0-based; sampled frame `n` is at `n / framesPerSecond` s). */
  frame: number;
  /** Presentation time of the sampled frame, seconds from the start, millisecond precision. */
  timestampSec: number;
  /** PDQ of the frame, 64 hex digits (reference layout). */
  pdq: string;
  /** PDQ quality of the frame, 0..100. */
  quality: number;
}

/** Everything computed for one video: plain data. */
export interface VideoHashResult extends CryptoHashes {
  /** Always `video`. */
  kind: 'video';
  /** Container sniffed from the first bytes. */
  format: VideoFormat;
  /** Frame width in pixels (first video stream). */
  width: number;
  /** Frame height in pixels (first video stream). */
  height: number;
  /** Duration from the container, seconds (0 when unknown). */
  durationSec: number;
  /** Sampling rate used. */
  framesPerSecond: number;
  /** Number of frames sampled and hashed (before duplicates collapsed). */
  sampledFrames: number;
  /** Kept frames, in time order. */
  frames: VideoFrameHash[];
}

const DEFAULTS = {
  framesPerSecond: 1,
  dedupeDistance: 2,
  maxBytes: 2 * 1024 * 1024 * 1024,
  maxDurationSec: 3 * 3600,
  maxFrames: 20_000,
  maxFramePixels: 40_000_000,
  timeoutMs: 600_000,
  ffmpegPath: 'ffmpeg',
  ffprobePath: 'ffprobe',
};

/**
 * Hashes the video file at `path`: MD5/SHA-1/SHA-256 of its bytes and PDQ of frames.
 * @throws MediaError `media_empty`, `media_too_large`, `media_unsupported_type`,
 *   `media_dimensions_exceeded`, `video_too_long`, `decode_failed`, `decode_timeout`.
 * @throws ToolUnavailableError `video_tool_unavailable` when ffmpeg/ffprobe cannot be started.
 */
export async function hashVideoFile(path: string, options: VideoHashOptions = {}): Promise<VideoHashResult> {
  const o = { ...DEFAULTS, ...definedOnly(options) };
  if (!(o.framesPerSecond > 0 && o.framesPerSecond <= 60)) throw new RangeError('framesPerSecond must be in (0, 60]');
  const size = (await stat(path)).size;
  if (size === 0) throw new MediaError('media_empty', 'media has zero bytes');
  if (size > o.maxBytes) throw new MediaError('media_too_large', `media exceeds ${o.maxBytes} bytes`);
  const head = await readHead(path, 512);
  const sniffed = sniffMedia(head);
  if (sniffed.kind !== 'video') throw new MediaError('media_unsupported_type', 'not a supported video container');
  const crypto = await cryptoOfFile(path);
  return { ...(await framesOf(path, sniffed.format, o)), ...crypto };
}

/**
 * Hashes a video given as bytes (written to a private temporary file for ffmpeg, which needs
 * to seek in MP4, then removed).
 * @throws as {@link hashVideoFile}.
 */
export async function hashVideo(bytes: Uint8Array, options: VideoHashOptions = {}): Promise<VideoHashResult> {
  const o = { ...DEFAULTS, ...definedOnly(options) };
  if (bytes.length === 0) throw new MediaError('media_empty', 'media has zero bytes');
  if (bytes.length > o.maxBytes) throw new MediaError('media_too_large', `media exceeds ${o.maxBytes} bytes`);
  const sniffed = sniffMedia(bytes.subarray(0, 512));
  if (sniffed.kind !== 'video') throw new MediaError('media_unsupported_type', 'not a supported video container');
  const dir = await mkdtemp(join(tmpdir(), 'safeguard-video-'));
  try {
    const file = join(dir, 'input');
    await writeFile(file, bytes, { mode: 0o600 });
    return { ...(await framesOf(file, sniffed.format, o)), ...cryptoHashes(bytes) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Resolved = typeof DEFAULTS;

async function framesOf(path: string, format: VideoFormat, o: Resolved): Promise<Omit<VideoHashResult, keyof CryptoHashes>> {
  const deadline = Date.now() + o.timeoutMs;
  const probe = await probeVideo(path, o, deadline);
  if (probe.width * probe.height > o.maxFramePixels) {
    throw new MediaError('media_dimensions_exceeded', `video frames of ${probe.width}×${probe.height} exceed the limit`);
  }
  if (probe.durationSec > o.maxDurationSec) throw new MediaError('video_too_long', `video longer than ${o.maxDurationSec} s`);
  if (probe.durationSec * o.framesPerSecond > o.maxFrames + 1) throw new MediaError('video_too_long', `video would yield more than ${o.maxFrames} frames`);

  const { width, height } = probe;
  const frameBytes = width * height * 3;
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-noautorotate',
    '-i', path,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', `fps=${o.framesPerSecond},scale=${width}:${height}`,
    '-frames:v', String(o.maxFrames + 1),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
  const hasher = new PdqHasher();
  const frames: VideoFrameHash[] = [];
  let lastKept: PdqHash | undefined;
  let sampled = 0;
  const frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let tooMany = false;

  const onFrame = (): void => {
    const r = hasher.hashPixels({ data: frame, width, height, channels: 3, model: 'rgb' });
    const index = sampled++;
    if (o.dedupeDistance >= 0 && lastKept && pdqDistance(lastKept, r.hash) <= o.dedupeDistance) return;
    lastKept = r.hash;
    frames.push({ frame: index, timestampSec: Math.round((index / o.framesPerSecond) * 1000) / 1000, pdq: pdqBytesToHex(r.hash), quality: r.quality });
  };

  await runTool(o.ffmpegPath, args, deadline, (chunk, stop) => {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - off);
      chunk.copy(frame, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === frameBytes) {
        filled = 0;
        if (sampled >= o.maxFrames) {
          tooMany = true;
          stop();
          return;
        }
        onFrame();
      }
    }
  });
  if (tooMany) throw new MediaError('video_too_long', `video yields more than ${o.maxFrames} frames`);
  if (sampled === 0) throw new MediaError('decode_failed', 'no video frame could be decoded');
  return { kind: 'video', format, width, height, durationSec: probe.durationSec, framesPerSecond: o.framesPerSecond, sampledFrames: sampled, frames };
}

interface Probe {
  width: number;
  height: number;
  durationSec: number;
}

async function probeVideo(path: string, o: Resolved, deadline: number): Promise<Probe> {
  const chunks: Buffer[] = [];
  let total = 0;
  await runTool(
    o.ffprobePath,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,duration:format=duration', '-of', 'json', path],
    deadline,
    (chunk, stop) => {
      total += chunk.length;
      if (total > 1 << 20) stop();
      else chunks.push(chunk);
    },
  );
  let parsed: { streams?: { width?: number; height?: number; duration?: string }[]; format?: { duration?: string } };
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new MediaError('decode_failed', 'video header could not be read', { cause: err });
  }
  const s = parsed.streams?.[0];
  if (!s || !s.width || !s.height) throw new MediaError('decode_failed', 'no video stream found');
  const duration = Number(parsed.format?.duration ?? s.duration ?? 0);
  return { width: s.width, height: s.height, durationSec: Number.isFinite(duration) ? duration : 0 };
}

/**
 * Runs an external tool, streaming its stdout to `onData`, with a deadline. Resolves when the
 * tool exits 0 (or was stopped by `onData`), rejects with a MediaError otherwise.
 */
function runTool(cmd: string, args: string[], deadline: number, onData: (chunk: Buffer, stop: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stopped = false;
    let timedOut = false;
    let settled = false;
    let stderr = '';
    const stop = (): void => {
      stopped = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, Math.max(0, deadline - Date.now()));
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ENOENT' ? new ToolUnavailableError(`${cmd} was not found on PATH`, { cause: err }) : new ToolUnavailableError(`${cmd} could not be started`, { cause: err }));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (stopped) return;
      try {
        onData(chunk, stop);
      } catch (err) {
        stop();
        finish(err as Error);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => {
      if (timedOut) return finish(new MediaError('decode_timeout', 'video decoding exceeded the time budget'));
      if (stopped || code === 0) return finish();
      finish(new MediaError('decode_failed', 'video could not be decoded', { cause: new Error(stderr.trim().slice(-1000)) }));
    });
  });
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of createReadStream(path, { start: 0, end: n - 1 })) {
    chunks.push(chunk as Buffer);
    got += (chunk as Buffer).length;
    if (got >= n) break;
  }
  return Buffer.concat(chunks);
}

async function cryptoOfFile(path: string): Promise<CryptoHashes> {
  const h = new CryptoHasher();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
