/**
 * The one place that turns untrusted image bytes into pixels: sharp for every format, and for
 * exact-mode JPEGs the package's native libjpeg-turbo decoder when it was built (`native-jpeg.ts`;
 * same pixels, same limits, same error codes, tested against sharp on every vector).
 *
 * Why one helper: every decoder call must carry the same defences (byte and pixel limits read
 * from the header before any pixel is decoded, first page only, a time budget, strict failure on
 * corrupt data) and the same choices that make PDQ bit-identical to Meta's reference:
 * - EXIF orientation is NOT applied (the reference hashes stored pixels); `autoOrient` opts in.
 * - Embedded ICC profiles are ignored (sharp `ignoreIcc`), as the reference does.
 * - CMYK is read as raw ink channels and converted with the reference's plain formula (in
 *   `@safeguard/domain/pdq`), not through a colour profile.
 * - Alpha is dropped, not composited; palette, 1-bit and 16-bit images become 8-bit grey or RGB
 *   (16-bit samples are reduced by sharp to their high byte; the reference has no 16-bit vectors).
 * - Multi-page and animated files (GIF, TIFF, WebP) contribute their first page only.
 */
import sharp from 'sharp';
import { PDQ_PRESIZE } from '@safeguard/domain/pdq';
import type { PixelImage } from '@safeguard/domain/pdq';
import { MediaError } from './errors';
import { nativeJpeg } from './native-jpeg';
import { sniffMedia } from './sniff';
import type { ImageFormat } from './sniff';

/** Limits applied to every decode. Each trades coverage of rare huge media against memory and CPU per worker. */
export interface DecodeLimits {
  /** Largest accepted input in bytes. Default 64 MiB. Over it: `media_too_large`. */
  maxBytes?: number;
  /**
   * Largest accepted width × height, checked from the header before decoding (and enforced again
   * by sharp's `limitInputPixels`). Default 100 million: a full RGB decode then needs up to
   * 300 MB, so size worker memory accordingly. Over it: `media_dimensions_exceeded`.
   */
  maxPixels?: number;
  /** Largest accepted width or height. Default 65,500 (libjpeg's own ceiling). Over it: `media_dimensions_exceeded`. */
  maxDimension?: number;
  /** Time budget for decoding one image, in ms (rounded up to whole seconds for libvips). Default 10,000. Over it: `decode_timeout`. */
  timeoutMs?: number;
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions extends DecodeLimits {
  /** Apply the EXIF orientation before hashing. Default false, like the reference (its hashes are of the stored pixels). */
  autoOrient?: boolean;
  /**
   * `exact` (default): full decode, then the reference's 512×512 nearest-neighbour resampling in
   * the PDQ step; bit-identical to the reference.
   * `fast`: for JPEG and WebP of at least 1536 on both sides, decode at a reduced scale (libjpeg
   * DCT scaling / libwebp shrink-on-load, see {@link fastShrinkFactor}), still at least 512 on
   * both sides, then the reference's 512×512 resampling. Faster on large photographs; a few bits
   * from the reference (see the README). Other inputs decode as in `exact`.
   */
  mode?: HashMode;
  /**
   * JPEGs (8-bit YCbCr or grey, no `autoOrient`): `auto` (default) decodes them with the system's
   * libjpeg-turbo through the package's native addon when it was built (see `native-jpeg.ts`),
   * keeping only the reference's 512×512 sample; `sharp` always decodes through sharp. In exact
   * mode both give the same pixels and hashes, `auto` faster. In fast mode the native path
   * decodes at 1/{@link fastShrinkFactor} in the DCT domain and samples that directly with the
   * reference's rule (sharp's path adds a nearest-neighbour resize to side / (factor + 1) first),
   * so the two fast paths can differ by a few bits; both are measured in the README.
   */
  jpegDecoder?: 'auto' | 'sharp';
}

/** Most scans accepted in a progressive JPEG by the native decoder (real encoders write about 10). */
export const MAX_JPEG_SCANS = 1000;

/** See {@link DecodeOptions.mode}. */
export type HashMode = 'exact' | 'fast';

/** Default limits, see {@link DecodeLimits}. */
export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxPixels: 100_000_000,
  maxDimension: 65_500,
  timeoutMs: 10_000,
});

/** A decoded image ready for `pdqHashPixels`, plus what the header said. */
export interface DecodedImage {
  /** 8-bit interleaved pixels (grey, RGB or CMYK, alpha possibly present and ignored by PDQ). */
  pixels: PixelImage;
  /** Container format. */
  format: ImageFormat;
  /** Width of the stored image (first page), in pixels, before any fast-mode reduction. */
  width: number;
  /** Height of the stored image (first page), in pixels, before any fast-mode reduction. */
  height: number;
  /**
   * PDQ's 64×64 filtered and decimated luma of `pixels`, when the decoder computed it (the native
   * JPEG path, whose `pixels` of an image larger than 512 on a side are already the reference's
   * 512×512 nearest-neighbour sample: hashing them gives the same PDQ as hashing the whole
   * image); `pdqOfDecoded` then hashes it instead of filtering `pixels` again.
   */
  downsampled?: Float32Array;
}

/** Side at or under which the reference does not resample, so fast mode has nothing to save. */
const FAST_TARGET = 512;

/**
 * Fast mode's JPEG shrink-on-load factor: the largest of 8, 4, 2 that still leaves both sides at
 * least 512 after a further reduction to `side / (factor + 1)`. sharp applies libjpeg's DCT
 * scaling by `factor` only when the overall reduction is at least `factor + 1` (it keeps a margin
 * for libjpeg's rounding), so we ask for `side / (factor + 1)` with nearest-neighbour sampling,
 * and the PDQ step then samples that down to 512×512 with the reference's own index rule. This
 * keeps each sample close to where the reference samples (see README "Hashing" for distances).
 * 1 means no reduction (exact decode).
 */
export function fastShrinkFactor(width: number, height: number): number {
  for (const factor of [8, 4, 2]) {
    if (width / (factor + 1) >= FAST_TARGET && height / (factor + 1) >= FAST_TARGET) return factor;
  }
  return 1;
}

/**
 * Decodes untrusted bytes into 8-bit pixels with every limit applied.
 * @throws MediaError `media_empty`, `media_too_large`, `media_unsupported_type`,
 *   `media_dimensions_exceeded` (before decoding), `media_truncated`, `decode_failed`,
 *   `decode_timeout`.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const limits = { ...DEFAULT_DECODE_LIMITS, ...stripUndefined(options) };
  if (bytes.length === 0) throw new MediaError('media_empty', 'media has zero bytes');
  if (bytes.length > limits.maxBytes) throw new MediaError('media_too_large', `media exceeds ${limits.maxBytes} bytes`);
  const sniffed = sniffMedia(bytes);
  if (sniffed.kind !== 'image') {
    throw new MediaError('media_unsupported_type', sniffed.kind === 'video' ? `video (${sniffed.format}) where an image was expected` : 'not a supported image format');
  }
  const format = sniffed.format;
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inputOptions: sharp.SharpOptions = {
    failOn: 'error',
    limitInputPixels: limits.maxPixels,
    sequentialRead: true,
    pages: 1,
    page: 0,
    ignoreIcc: true,
    autoOrient: options.autoOrient ?? false,
  };

  // Dimensions and colour space before any pixel is decoded. For a plain 8-bit JPEG (nearly all
  // photographs) they come from its frame header, read here; sharp's metadata() would open the
  // image once more just for them (about 1 ms per image, see README "Hashing"). Anything else,
  // or a JPEG header this reader does not accept, goes through metadata().
  const frame = format === 'jpeg' && !options.autoOrient ? jpegFrameHeader(input) : undefined;
  let width: number | undefined;
  let pageHeight: number;
  let space: string | undefined;
  if (frame) {
    width = frame.width;
    pageHeight = frame.height;
    space = frame.components === 4 ? 'cmyk' : frame.components === 1 ? 'b-w' : 'srgb';
  } else {
    let meta: sharp.Metadata;
    try {
      meta = await sharp(input, inputOptions).metadata();
    } catch (err) {
      throw classifyDecodeFailure(err, format, input);
    }
    width = meta.autoOrient?.width !== undefined && options.autoOrient ? meta.autoOrient.width : meta.width;
    const height = meta.autoOrient?.height !== undefined && options.autoOrient ? meta.autoOrient.height : meta.height;
    if (!width || !height) throw new MediaError('decode_failed', 'image header has no dimensions');
    pageHeight = meta.pageHeight && meta.pageHeight < height ? meta.pageHeight : height;
    if (meta.format && !SHARP_FORMATS.has(meta.format)) throw new MediaError('media_unsupported_type', 'not a supported image format');
    space = meta.space;
  }
  if (width > limits.maxDimension || pageHeight > limits.maxDimension || width * pageHeight > limits.maxPixels) {
    throw new MediaError('media_dimensions_exceeded', `image of ${width}×${pageHeight} exceeds the limits`);
  }

  if (frame && frame.components !== 4 && options.jpegDecoder !== 'sharp' && nativeJpeg) {
    const scaleDenom = options.mode === 'fast' ? (fastShrinkFactor(width, pageHeight) as 1 | 2 | 4 | 8) : 1;
    const native = decodeJpegNatively(input, limits, scaleDenom);
    if (native) return native;
  }

  let pipeline = sharp(input, inputOptions).timeout({ seconds: Math.max(1, Math.ceil(limits.timeoutMs / 1000)) });
  const cmyk = space === 'cmyk';
  if (cmyk) pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
  else if (space === 'b-w' || space === 'grey16') pipeline = pipeline.toColourspace('b-w');
  const shrink = options.mode === 'fast' && !cmyk && (format === 'jpeg' || format === 'webp') ? fastShrinkFactor(width, pageHeight) : 1;
  if (shrink > 1) {
    pipeline = pipeline.resize(Math.floor(width / (shrink + 1)), Math.floor(pageHeight / (shrink + 1)), { fit: 'fill', kernel: 'nearest', fastShrinkOnLoad: true });
  }
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw classifyDecodeFailure(err, format, input);
  }
  const { info, data } = out;
  const channels = info.channels;
  const model = cmyk && channels >= 4 ? 'cmyk' : channels <= 2 ? 'grey' : 'rgb';
  return {
    pixels: { data, width: info.width, height: info.height, channels, model },
    format,
    width,
    height: pageHeight,
  };
}

/** The native addon's decode (see `native-jpeg.ts`); undefined when it leaves this JPEG to sharp. */
function decodeJpegNatively(input: Buffer, limits: Required<DecodeLimits>, scaleDenom: 1 | 2 | 4 | 8): DecodedImage | undefined {
  let r;
  try {
    r = nativeJpeg?.decodeForPdq(input, { maxPixels: limits.maxPixels, maxDimension: limits.maxDimension, timeoutMs: limits.timeoutMs, maxScans: MAX_JPEG_SCANS, presize: PDQ_PRESIZE, scaleDenom });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'media_truncated') throw new MediaError('media_truncated', 'image data ends early (truncated)', { cause: err });
    if (code === 'decode_timeout') throw new MediaError('decode_timeout', 'decoding exceeded the time budget', { cause: err });
    if (code === 'media_dimensions_exceeded') throw new MediaError('media_dimensions_exceeded', 'image exceeds the limits', { cause: err });
    // As on the sharp path: damaged data that also lacks its end marker counts as truncated.
    throw classifyDecodeFailure(new MediaError('decode_failed', 'image could not be decoded', { cause: err }), 'jpeg', input);
  }
  if (!r) return undefined;
  return {
    pixels: { data: r.data, width: r.sampledWidth, height: r.sampledHeight, channels: r.channels, model: r.grey ? 'grey' : 'rgb', greyChecked: true },
    format: 'jpeg',
    width: r.width,
    height: r.height,
    ...(r.downsampled ? { downsampled: r.downsampled } : {}),
  };
}

/** What {@link jpegFrameHeader} reads from a JPEG's frame header. */
export interface JpegFrameHeader {
  /** Samples per line, in pixels (1..65,535). */
  width: number;
  /** Lines, in pixels (1..65,535). */
  height: number;
  /** Colour components: 1 (grey, libvips `b-w`), 3 (YCbCr or RGB, `srgb`) or 4 (CMYK or YCCK, `cmyk`). */
  components: 1 | 3 | 4;
}

/**
 * Reads width, height and component count from the frame header of an 8-bit baseline, extended
 * or progressive JPEG (SOF0, SOF1, SOF2), walking the marker segments that may precede it (APPn,
 * COM, DQT, DHT, DRI; fill bytes allowed). Reads at most the header; never decodes.
 * @returns undefined for anything else: not JPEG, other frame types (lossless, hierarchical,
 *   arithmetic), other precisions or component counts, height defined later (DNL), scan data or
 *   an unexpected marker before the frame header, or a header cut short. The caller then asks
 *   the decoder (sharp `metadata()`), which gives the authoritative answer or error.
 */
export function jpegFrameHeader(b: Uint8Array): JpegFrameHeader | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte before a marker
      continue;
    }
    const length = (b[i + 2] << 8) | b[i + 3];
    if (length < 2) return undefined;
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (length < 8 || i + 10 > b.length) return undefined;
      const precision = b[i + 4];
      const height = (b[i + 5] << 8) | b[i + 6];
      const width = (b[i + 7] << 8) | b[i + 8];
      const components = b[i + 9];
      if (precision !== 8 || height === 0 || width === 0) return undefined;
      if (components !== 1 && components !== 3 && components !== 4) return undefined;
      return { width, height, components };
    }
    const skippable = (marker >= 0xe0 && marker <= 0xef) || marker === 0xfe || marker === 0xdb || marker === 0xc4 || marker === 0xdd;
    if (!skippable) return undefined;
    i += 2 + length;
  }
  return undefined;
}

/** sharp/libvips loader names accepted; anything else (svg, pdf, heif/hevc, jp2, magick…) is refused. */
const SHARP_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif']);

/**
 * Maps a sharp/libvips failure to a {@link MediaError}. libvips reports failures only as text, so
 * this is the one place that reads messages; everything downstream branches on codes.
 */
export function toMediaError(err: unknown): MediaError {
  if (err instanceof MediaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = message.toLowerCase();
  if (m.includes('timeout')) return new MediaError('decode_timeout', 'decoding exceeded the time budget', { cause: err });
  if (m.includes('exceeds pixel limit')) return new MediaError('media_dimensions_exceeded', 'image exceeds the pixel limit', { cause: err });
  if (m.includes('unsupported image format')) return new MediaError('media_unsupported_type', 'not a supported image format', { cause: err });
  // libjpeg's "Corrupt JPEG data: premature end of data segment" is a warning about damaged
  // entropy data (a stray marker), not a short file: it does not count as truncation.
  const t = m.replaceAll('premature end of data segment', '');
  if (t.includes('premature end') || m.includes('truncated') || m.includes('unexpected end') || m.includes('not enough data') || m.includes('read error')) {
    return new MediaError('media_truncated', 'image data ends early (truncated)', { cause: err });
  }
  return new MediaError('decode_failed', 'image could not be decoded', { cause: err });
}

/**
 * {@link toMediaError} for a failed decode of `bytes` (sniffed as `format`), deterministic under
 * concurrency. libvips keeps one error buffer per process, so when images fail in several worker
 * threads at once a failure can arrive as "Unknown error" (another thread took the text) and read
 * as `decode_failed`. Data that lacks its format's end marker (JPEG EOI, PNG IEND, GIF trailer)
 * and fails to decode is therefore `media_truncated` whatever the text says.
 */
export function classifyDecodeFailure(err: unknown, format: ImageFormat, bytes: Uint8Array): MediaError {
  const mapped = toMediaError(err);
  if (mapped.code === 'decode_failed' && lacksEndMarker(format, bytes)) return new MediaError('media_truncated', 'image data ends early (truncated)', { cause: err });
  return mapped;
}

/** True when `bytes` of `format` do not end with the format's end marker (allowing a little trailing padding for JPEG). */
function lacksEndMarker(format: ImageFormat, bytes: Uint8Array): boolean {
  const n = bytes.length;
  switch (format) {
    case 'jpeg':
      for (let i = n - 2; i >= Math.max(0, n - 64); i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return false;
      return true;
    case 'png':
      return !(n >= 12 && bytes[n - 8] === 0x49 && bytes[n - 7] === 0x45 && bytes[n - 6] === 0x4e && bytes[n - 5] === 0x44);
    case 'gif':
      return bytes[n - 1] !== 0x3b;
    default:
      return false;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Process-wide sharp settings for hashing workers: `concurrency` libvips threads per image
 * (1 for one worker per core, default 1) and the libvips operation cache off (every input is
 * different, so caching only holds memory). Call once per process or worker thread.
 */
export function configureSharp(options: { concurrency?: number; cache?: boolean } = {}): void {
  sharp.concurrency(options.concurrency ?? 1);
  if (!(options.cache ?? false)) sharp.cache(false);
}
