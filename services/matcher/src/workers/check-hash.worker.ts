/**
 * Piscina task module of the check API: image bytes in, hashes out (plain data). Imports only the
 * hashing library, the domain and sharp; no logging, no metrics, no I/O. The main thread matches,
 * counts and answers.
 */
import { performance } from 'node:perf_hooks';
import { isSafeguardError } from '@safeguard/domain';
import { configureSharp, hashImage, sniffMedia } from '@safeguard/hashing';
import type { HashImageOptions } from '@safeguard/hashing';

// One libvips thread per worker: the pool has one worker per core already.
configureSharp({ concurrency: 1 });

/** What a task carries. The buffer is transferred (not copied) and owned by the worker afterwards. */
export interface CheckHashTask {
  /** The image bytes: the whole ArrayBuffer. */
  buffer: ArrayBuffer;
  /** Decoding limits, mode and whether to compute the dihedral variants. */
  image: HashImageOptions;
}

/** The hashes of one image. */
export interface CheckHashes {
  /** PDQ, 64 lowercase hex digits (reference layout). */
  pdq: string;
  /** PDQ quality 0..100. */
  quality: number;
  /** With dihedral hashing: the 8 variants in the reference's order (orig first). */
  dihedral?: string[];
  md5: string;
  sha1: string;
  sha256: string;
  /** Decoded container format (`jpeg`, `png`, ...). */
  format: string;
  width: number;
  height: number;
}

/** Outcome of a task: hashes, or the refusal's stable code. Never throws for bad input. */
export type CheckHashResult =
  | { ok: true; hashes: CheckHashes; workerMs: number }
  | { ok: false; code: string; message: string; workerMs: number };

/** Hashes one image. Videos are refused (`media_unsupported_type`): they take seconds; submit them through ingest. */
export default async function checkHash(task: CheckHashTask): Promise<CheckHashResult> {
  const started = performance.now();
  const bytes = Buffer.from(task.buffer);
  const elapsed = (): number => performance.now() - started;
  if (bytes.length > 0 && sniffMedia(bytes.subarray(0, 512)).kind === 'video') {
    return { ok: false, code: 'media_unsupported_type', message: 'videos are not checked synchronously; submit them through ingest', workerMs: elapsed() };
  }
  try {
    const r = await hashImage(bytes, task.image);
    const hashes: CheckHashes = { pdq: r.pdq, quality: r.quality, md5: r.md5, sha1: r.sha1, sha256: r.sha256, format: r.format, width: r.width, height: r.height };
    if (r.dihedral) hashes.dihedral = r.dihedral;
    return { ok: true, hashes, workerMs: elapsed() };
  } catch (err) {
    if (!isSafeguardError(err)) throw err;
    return { ok: false, code: err.code, message: err.message, workerMs: elapsed() };
  }
}
