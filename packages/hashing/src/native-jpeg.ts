/**
 * The exact-mode JPEG fast path: libjpeg-turbo through a small Node-API addon
 * (`native/safeguard_jpeg.c`, built by `native/build.js` when a C compiler and libjpeg-turbo's
 * headers are present).
 *
 * Why: the reference decodes with libjpeg-turbo and then keeps only a 512×512 nearest-neighbour
 * sample of large images. The addon decodes row by row into one reused buffer and keeps only the
 * sampled pixels (skipping the colour conversion of rows the sample never reads), instead of
 * handing every pixel through libvips into a JavaScript buffer; it also computes PDQ's luma and
 * Jarosz filtering of the sample in C. Same pixels, same hashes (tested on every vector and
 * re-encoding against the sharp path); timings in README "Hashing".
 *
 * Without the addon (not built, or `SAFEGUARD_NATIVE_JPEG=off`) {@link nativeJpeg} is undefined
 * and every JPEG decodes through sharp.
 */
import path from 'node:path';

/** What the addon returns for a JPEG it handles. */
export interface NativeJpegDecode {
  /** Stored width in pixels. */
  width: number;
  /** Stored height in pixels. */
  height: number;
  /** Width of `data`: the stored width, or the presize when a side exceeded it. */
  sampledWidth: number;
  /** Height of `data`: the stored height, or the presize when a side exceeded it. */
  sampledHeight: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  /** True when the image is greyscale-coded or every decoded pixel (not only the sampled ones) has R = G = B. */
  grey: boolean;
  /** Sampled pixels, interleaved, row-major. */
  data: Uint8Array;
  /**
   * PDQ's luma, two Jarosz passes and 64×64 centre decimation of `data`, computed in C with the
   * same float32 operations as `@safeguard/domain` (bit-identical). Absent for images of exactly
   * 64×64 or under 5 pixels a side, which the reference does not filter.
   */
  downsampled?: Float32Array;
}

/** Limits the addon enforces (see `DecodeLimits`), plus its scan limit and the resampling size. */
export interface NativeJpegOptions {
  maxPixels: number;
  maxDimension: number;
  timeoutMs: number;
  /** Most scans accepted in a progressive file (a defence against scan bombs). */
  maxScans: number;
  /** Side above which the image is sampled to presize × presize (the reference's 512). */
  presize: number;
  /** Fast mode: decode at 1/scaleDenom (2, 4 or 8) in the DCT domain first. Default 1 (exact). */
  scaleDenom?: 1 | 2 | 4 | 8;
}

/** The addon's functions. */
export interface NativeJpegAddon {
  /**
   * Decodes a JPEG and samples it. Returns undefined for JPEGs it does not handle (CMYK, YCCK,
   * RGB-coded, 12-bit): decode those through sharp.
   * @throws Error with `code` set to a MediaError code (`media_truncated`, `decode_failed`,
   *   `decode_timeout`, `media_dimensions_exceeded`).
   */
  decodeForPdq(bytes: Uint8Array, options: NativeJpegOptions): NativeJpegDecode | undefined;
  /** Which libjpeg the addon is bound to: its file and `JPEG_LIB_VERSION`. */
  libraryInfo(): { file: string; jpegLibVersion: number };
}

/** Where `native/build.js` writes the addon (the same from `src/` under jest and from `dist/`). */
export const NATIVE_JPEG_PATH = path.join(__dirname, '..', 'native', 'build', 'safeguard_jpeg.node');

function load(): NativeJpegAddon | undefined {
  if (process.env.SAFEGUARD_NATIVE_JPEG === 'off') return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(NATIVE_JPEG_PATH) as NativeJpegAddon;
  } catch {
    return undefined;
  }
}

/** The loaded addon, or undefined when it was not built or is switched off (`SAFEGUARD_NATIVE_JPEG=off`). */
export const nativeJpeg: NativeJpegAddon | undefined = load();
