import { open, stat } from 'node:fs/promises';
import { isSafeguardError } from '@safeguard/domain';
import { DEFAULT_DECODE_LIMITS } from './decode';
import { MediaError } from './errors';
import { hashImage } from './hash-image';
import type { HashImageOptions, ImageHashResult } from './hash-image';
import { sniffMedia } from './sniff';
import { hashVideo, hashVideoFile } from './video';
import type { VideoHashOptions, VideoHashResult } from './video';

/** Options of {@link hashMedia} and {@link hashFile}: image options, plus `video` for video inputs. */
export interface HashMediaOptions extends HashImageOptions {
  /** Options for video inputs; default {} (1 frame per second). */
  video?: VideoHashOptions;
}

/** The result for an image or a video; discriminate on `kind`. */
export type MediaHashResult = ImageHashResult | VideoHashResult;

/**
 * Outcome of {@link hashMediaOutcome}: plain data only, so it crosses a worker-thread boundary
 * intact (thrown errors lose their `code` under structured cloning).
 */
export type MediaHashOutcome = { ok: true; result: MediaHashResult } | { ok: false; error: { code: string; message: string; retriable: boolean } };

/**
 * Hashes an image or a video given as bytes; the kind is sniffed from the first bytes.
 * @throws MediaError when the media is refused; ToolUnavailableError when a video needs ffmpeg
 *   and it is missing.
 */
export async function hashMedia(bytes: Uint8Array, options: HashMediaOptions = {}): Promise<MediaHashResult> {
  if (bytes.length > 0 && sniffMedia(bytes.subarray(0, 512)).kind === 'video') return hashVideo(bytes, options.video);
  return hashImage(bytes, options);
}

/**
 * Like {@link hashMedia}, but never throws for refused input: returns `{ ok: false, error }` with
 * the stable code instead. Unexpected (programmer) errors still throw. Designed as the body of a
 * Piscina worker task: bytes and options in, plain data out, no logging.
 */
export async function hashMediaOutcome(bytes: Uint8Array, options: HashMediaOptions = {}): Promise<MediaHashOutcome> {
  try {
    return { ok: true, result: await hashMedia(bytes, options) };
  } catch (err) {
    if (isSafeguardError(err)) return { ok: false, error: { code: err.code, message: err.message, retriable: err.retriable } };
    throw err;
  }
}

/**
 * Hashes the file at `path` (image or video, sniffed). The size is checked before reading, so an
 * oversized file is refused without being loaded.
 * @throws MediaError when refused; ToolUnavailableError for video without ffmpeg; Node's
 *   filesystem errors (ENOENT, EACCES…) as they are.
 */
export async function hashFile(path: string, options: HashMediaOptions = {}): Promise<MediaHashResult> {
  const info = await stat(path);
  if (!info.isFile()) throw new MediaError('media_unsupported_type', 'not a regular file');
  if (info.size === 0) throw new MediaError('media_empty', 'media has zero bytes');
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(512, info.size));
    await handle.read(head, 0, head.length, 0);
    if (sniffMedia(head).kind === 'video') {
      await handle.close();
      return await hashVideoFile(path, options.video);
    }
    const maxBytes = options.maxBytes ?? DEFAULT_DECODE_LIMITS.maxBytes;
    if (info.size > maxBytes) throw new MediaError('media_too_large', `media exceeds ${maxBytes} bytes`);
    const bytes = await handle.readFile();
    return await hashImage(bytes, options);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
