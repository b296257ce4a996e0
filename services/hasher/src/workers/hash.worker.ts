/**
 * Piscina task module: bytes in, plain data out. Imports only the hashing library, the domain
 * and sharp; no logging, no metrics, no I/O beyond what video hashing needs (ffmpeg and a
 * private temporary file). The main thread counts and logs.
 *
 * It composes the library's parts (`decodeImage` + `pdqOfDecoded`, `cryptoHashes`, `hashVideo`)
 * exactly as `hashMediaOutcome` does, so that it can time PDQ (decoding included) and the
 * cryptographic hashes separately; `hash.worker.test.ts` checks that both give the same results.
 */
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { isSafeguardError } from '@safeguard/domain';
import { configureSharp, cryptoHashes, decodeImage, hashVideo, nativeJpeg, pdqOfDecoded, sniffMedia } from '@safeguard/hashing';
import type { HashImageOptions, MediaHashOutcome, VideoHashOptions } from '@safeguard/hashing';

configureSharp({ concurrency: 1 });

/** What a task carries. The buffer is transferred (not copied) and owned by the worker afterwards. */
export interface HashTask {
  /** The media bytes: the whole ArrayBuffer. */
  buffer: ArrayBuffer;
  /** Options for still images (limits, mode, dihedral). */
  image: HashImageOptions;
  /** Options for videos. */
  video: VideoHashOptions;
}

/** Seconds spent per algorithm family in this task (only the ones that ran to completion). */
export interface HashTimings {
  /** Decoding plus PDQ (and its dihedral variants). */
  pdq?: number;
  /** MD5 + SHA-1 + SHA-256 of the original bytes. */
  crypto?: number;
  /** A whole video: probing, frame decoding, frame PDQ, file digests. */
  video?: number;
}

/** What a task returns: the library's outcome, per-algorithm timings, and busy time. */
export interface HashTaskResult {
  outcome: MediaHashOutcome;
  timings: HashTimings;
  /** Wall time the worker spent on the task, seconds. */
  busySeconds: number;
}

const seconds = (from: number): number => (performance.now() - from) / 1000;

/** Hashes one image or video (sniffed from the bytes). Refusals are returned, not thrown. */
export default async function hash(task: HashTask): Promise<HashTaskResult> {
  const started = performance.now();
  const bytes = Buffer.from(task.buffer);
  const timings: HashTimings = {};
  let outcome: MediaHashOutcome;
  try {
    if (bytes.length > 0 && sniffMedia(bytes.subarray(0, 512)).kind === 'video') {
      const result = await hashVideo(bytes, task.video);
      timings.video = seconds(started);
      outcome = { ok: true, result };
    } else {
      const decoded = await decodeImage(bytes, task.image);
      const pdq = pdqOfDecoded(decoded, task.image.dihedral ?? false);
      timings.pdq = seconds(started);
      const cryptoStarted = performance.now();
      const crypto = cryptoHashes(bytes);
      timings.crypto = seconds(cryptoStarted);
      outcome = {
        ok: true,
        result: { kind: 'image', format: decoded.format, width: decoded.width, height: decoded.height, mode: task.image.mode ?? 'exact', ...pdq, ...crypto },
      };
    }
  } catch (err) {
    if (!isSafeguardError(err)) throw err;
    outcome = { ok: false, error: { code: err.code, message: err.message, retriable: err.retriable } };
  }
  return { outcome, timings, busySeconds: seconds(started) };
}

/**
 * Versions of the native code this worker hashes with (part of the published `hasherVersion`):
 * sharp, libvips, and which decoder handles JPEGs (`libjpeg62`: the hashing package's native
 * libjpeg-turbo decoder with that ABI; `sharp` when the addon is not built).
 */
export function versions(): HasherVersions {
  return { sharp: sharp.versions.sharp ?? 'unknown', libvips: sharp.versions.vips, jpeg: nativeJpeg ? `libjpeg${nativeJpeg.libraryInfo().jpegLibVersion}` : 'sharp' };
}

/** See {@link versions}. */
export interface HasherVersions {
  sharp: string;
  libvips: string;
  jpeg: string;
}
