/**
 * PDQ hashing of decoded pixels, bit-compatible with Meta's reference (`pdq-photo-hasher`).
 *
 * Why a class: one hash touches about 2 MB of float scratch space. A {@link PdqHasher} owns that
 * space and reuses it, so a worker thread hashing a stream of images allocates only the small
 * result arrays. A hasher is not re-entrant; use one per thread (the module-level functions share
 * one lazily created instance, which is safe because JavaScript runs them to completion).
 *
 * Steps (the reference's, in its float32 arithmetic):
 * 1. Images larger than 512 on either side are resampled to exactly 512×512 by nearest
 *    neighbour, source index `floor(dst · size / 512)`; the aspect ratio is not kept.
 * 2. Luma `Y = 0.299 R + 0.587 G + 0.114 B` in float32; grey input is used as is.
 * 3. Two passes of Jarosz box filtering (window `ceil(size / 128)`), then decimation to 64×64.
 * 4. Quality: the sum over neighbouring 64×64 cells of `|trunc((u − v) · 100 / 255)|`, integer
 *    divided by 90, capped at 100.
 * 5. 16×16 DCT (DC skipped); bit = coefficient strictly greater than the lower median.
 * Images under 5 pixels on a side hash to all zeros with quality 0.
 */
import { dct64To16, dihedralTransform } from './dct';
import { JaroszScratch, jaroszDownsample64 } from './jarosz';
import { PDQ_HASH_BYTES } from './layout';
import type { PdqHash } from './layout';

const fround = Math.fround;

/** Side above which the reference resamples to exactly {@link PDQ_PRESIZE}×{@link PDQ_PRESIZE}. */
export const PDQ_PRESIZE = 512;
/** Images with a side smaller than this hash to all zeros with quality 0. */
export const PDQ_MIN_DIMENSION = 5;
/** Hamming distance at or under which two PDQ hashes are a match (Meta's recommendation). */
export const PDQ_MATCH_THRESHOLD = 31;
/** Hashes with quality below this are too flat to match reliably and should be discarded. */
export const PDQ_MIN_QUALITY = 50;

const LUMA_R = Float64Array.from({ length: 256 }, (_, v) => fround(fround(0.299) * v));
const LUMA_G = Float64Array.from({ length: 256 }, (_, v) => fround(fround(0.587) * v));
const LUMA_B = Float64Array.from({ length: 256 }, (_, v) => fround(fround(0.114) * v));

/** `CMYK_TO_RGB[ink * 256 + black] = round((255 − ink) · (255 − black) / 255)`, the reference decoder's plain formula. */
const CMYK_TO_RGB = (() => {
  const t = new Uint8Array(256 * 256);
  for (let ink = 0; ink < 256; ink++) {
    for (let k = 0; k < 256; k++) t[ink * 256 + k] = Math.round(((255 - ink) * (255 - k)) / 255);
  }
  return t;
})();

/**
 * How the interleaved samples of a {@link PixelImage} are to be read.
 * - `grey`: 1 sample (grey) or 2 (grey, alpha).
 * - `rgb`: 3 samples (R, G, B) or 4 (R, G, B, alpha).
 * - `cmyk`: 4 samples (C, M, Y, K, ink amounts with 255 = full ink) or 5 (plus alpha); converted
 *   with `R = round((255 − C)(255 − K) / 255)` and likewise G (M) and B (Y), as the reference's
 *   decoder does, before the luma formula.
 * Alpha is ignored (not composited), like the reference.
 */
export type PixelModel = 'grey' | 'rgb' | 'cmyk';

/**
 * Decoded 8-bit pixels, interleaved, rows top to bottom without padding
 * (`data.length ≥ width · height · channels`).
 */
export interface PixelImage {
  /** Samples, `channels` per pixel, row-major. */
  data: Uint8Array;
  /** Width in pixels (≥ 1). */
  width: number;
  /** Height in pixels (≥ 1). */
  height: number;
  /** Samples per pixel, 1..5, consistent with `model`. */
  channels: number;
  /** How to read the samples; default: `grey` for 1–2 channels, `rgb` for 3–4. */
  model?: PixelModel;
  /**
   * Set by a decoder that already checked the whole stored image for R = G = B and found colour,
   * and hands over only part of it (a sample): {@link PdqOptions.detectGrey} is then skipped, as
   * a sample can look grey where the image is not. A decoder that found the image grey passes it
   * as `model: 'grey'` instead.
   */
  greyChecked?: boolean;
}

/** Options of a PDQ computation. */
export interface PdqOptions {
  /** Also compute the 8 dihedral hashes (from the same DCT). Default false. */
  dihedral?: boolean;
  /**
   * Treat an RGB image whose every pixel has R = G = B as grey (Y = R), as the reference's
   * decoder does (ImageMagick writes such images as greyscale PNM). The float32 luma formula
   * differs from the grey value by one ulp for some values, which can flip a bit. Default true.
   */
  detectGrey?: boolean;
}

/** The result of hashing one image. Plain data: safe to post between threads. */
export interface PdqResult {
  /** The 256-bit hash, 32 bytes in the reference's hex order (see `layout.ts`). */
  hash: PdqHash;
  /** Quality 0..100; under {@link PDQ_MIN_QUALITY} the hash should not be used for matching. */
  quality: number;
  /**
   * With `dihedral: true`: the 8 hashes in {@link PDQ_DIHEDRAL_NAMES} order. Entry 0 equals
   * `hash` except for inputs of exactly 64×64, where the reference's dihedral path filters and
   * its plain path does not.
   */
  dihedral?: PdqHash[];
}

/**
 * Reusable PDQ engine: owns its scratch buffers. See the module comment for the algorithm.
 * Not safe for concurrent re-entry (there is none in JavaScript unless you call it from a callback
 * of itself); create one per worker thread.
 */
export class PdqHasher {
  /** Luma plane, row-major. */
  private luma = new Float32Array(PDQ_PRESIZE * PDQ_PRESIZE);
  private readonly scratch = new JaroszScratch();
  private readonly block64 = new Float32Array(64 * 64);
  private readonly block16x64 = new Float32Array(16 * 64);
  private readonly dct16 = new Float32Array(16 * 16);
  private readonly aux16 = new Float32Array(16 * 16);
  private readonly sorted16 = new Float32Array(16 * 16);
  private readonly xIndex = new Int32Array(PDQ_PRESIZE);
  private readonly yIndex = new Int32Array(PDQ_PRESIZE);

  /**
   * Hashes decoded pixels exactly like the reference hashes a decoded file: resample to 512×512
   * when larger, luma, filter, DCT.
   * @throws RangeError when the dimensions, channel count or buffer length are inconsistent
   *   (a programmer error: decoders produce consistent images).
   */
  hashPixels(image: PixelImage, options: PdqOptions = {}): PdqResult {
    const { data, width, height, channels } = image;
    const model = image.model ?? (channels <= 2 ? 'grey' : 'rgb');
    checkImage(image, model);
    let rows = height;
    let cols = width;
    if (width > PDQ_PRESIZE || height > PDQ_PRESIZE) {
      rows = PDQ_PRESIZE;
      cols = PDQ_PRESIZE;
    }
    const xs = this.xIndex;
    const ys = this.yIndex;
    for (let x = 0; x < cols; x++) xs[x] = Math.floor((x * width) / cols) * channels;
    for (let y = 0; y < rows; y++) ys[y] = Math.floor((y * height) / rows) * width * channels;

    const luma = this.luma;
    let asGrey = model === 'grey';
    if (model === 'rgb' && !image.greyChecked && (options.detectGrey ?? true) && isAllGrey(data, width * height, channels)) asGrey = true;
    if (asGrey) {
      for (let y = 0; y < rows; y++) {
        const base = ys[y];
        for (let x = 0, o = y * cols; x < cols; x++, o++) luma[o] = data[base + xs[x]];
      }
    } else if (model === 'rgb') {
      for (let y = 0; y < rows; y++) {
        const base = ys[y];
        for (let x = 0, o = y * cols; x < cols; x++, o++) {
          const p = base + xs[x];
          luma[o] = fround(LUMA_R[data[p]] + LUMA_G[data[p + 1]]) + LUMA_B[data[p + 2]];
        }
      }
    } else {
      const t = CMYK_TO_RGB;
      for (let y = 0; y < rows; y++) {
        const base = ys[y];
        for (let x = 0, o = y * cols; x < cols; x++, o++) {
          const p = base + xs[x];
          const k = data[p + 3];
          const r = t[data[p] * 256 + k];
          const g = t[data[p + 1] * 256 + k];
          const b = t[data[p + 2] * 256 + k];
          luma[o] = fround(LUMA_R[r] + LUMA_G[g]) + LUMA_B[b];
        }
      }
    }
    return this.hashPrepared(rows, cols, options);
  }

  /**
   * Hashes a float luma plane of any size as the reference's `pdqHash256FromFloatLuma` does
   * (no 512×512 resampling; filter windows from the given size). Useful for frames that were
   * already scaled, or luma from another decoder. `luma` is not modified.
   * @throws RangeError when `luma` is shorter than width × height.
   */
  hashLuma(luma: Float32Array, width: number, height: number, options: PdqOptions = {}): PdqResult {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
      throw new RangeError('width and height must be positive integers');
    }
    if (luma.length < width * height) throw new RangeError('luma plane is shorter than width × height');
    if (width * height > this.luma.length) this.luma = new Float32Array(width * height);
    this.luma.set(luma.subarray(0, width * height));
    return this.hashPrepared(height, width, options);
  }

  /**
   * Hashes the 64×64 result of the reference's luma, Jarosz filtering and centre decimation
   * (row-major), computed elsewhere: by a decoder that filters while it decodes (the hashing
   * package's native JPEG path). Quality, DCT, bits and dihedral hashes as in
   * {@link PdqHasher.hashPixels}. Not for images of exactly 64×64 or under 5 pixels a side,
   * which the reference does not filter. `block` is not modified.
   * @throws RangeError when `block` is shorter than 64 × 64.
   */
  hashDownsampled(block: Float32Array, options: PdqOptions = {}): PdqResult {
    if (block.length < 64 * 64) throw new RangeError('a downsampled block has 64 × 64 values');
    this.block64.set(block.subarray(0, 64 * 64));
    return this.hashBlock(options);
  }

  /** Hashes the row-major luma in `luma` (rows × cols). */
  private hashPrepared(rows: number, cols: number, options: PdqOptions): PdqResult {
    if (rows < PDQ_MIN_DIMENSION || cols < PDQ_MIN_DIMENSION) {
      const result: PdqResult = { hash: new Uint8Array(PDQ_HASH_BYTES), quality: 0 };
      if (options.dihedral) result.dihedral = Array.from({ length: 8 }, () => new Uint8Array(PDQ_HASH_BYTES));
      return result;
    }
    if (rows !== 64 || cols !== 64) {
      jaroszDownsample64(this.luma, rows, cols, this.block64, this.scratch);
      return this.hashBlock(options);
    }
    // Exactly 64×64: the reference hashes the luma unfiltered, but its dihedral path filters
    // (`luma` is still intact here: only the filter overwrites it).
    this.block64.set(this.luma.subarray(0, 64 * 64));
    const result = this.hashBlock({});
    if (options.dihedral) {
      jaroszDownsample64(this.luma, rows, cols, this.block64, this.scratch);
      dct64To16(this.block64, this.block16x64, this.dct16);
      result.dihedral = this.dihedralOf(this.dct16);
    }
    return result;
  }

  /** Quality, DCT, bits and dihedral hashes of the filtered 64×64 in `block64`. */
  private hashBlock(options: PdqOptions): PdqResult {
    const quality = qualityOf(this.block64);
    dct64To16(this.block64, this.block16x64, this.dct16);
    const result: PdqResult = { hash: this.bitsOf(this.dct16), quality };
    if (options.dihedral) result.dihedral = this.dihedralOf(this.dct16);
    return result;
  }

  /** The 8 dihedral hashes of a 16×16 DCT, in {@link PDQ_DIHEDRAL_NAMES} order. */
  private dihedralOf(dct: Float32Array): PdqHash[] {
    const dihedral: PdqHash[] = [];
    for (let t = 0; t < 8; t++) {
      dihedralTransform(dct, this.aux16, t);
      dihedral.push(this.bitsOf(this.aux16));
    }
    return dihedral;
  }

  /** Bits of a 16×16 DCT: 1 where the coefficient is above the lower median. */
  private bitsOf(dct: Float32Array): PdqHash {
    const sorted = this.sorted16;
    sorted.set(dct);
    sorted.sort();
    const median = sorted[127];
    const hash = new Uint8Array(PDQ_HASH_BYTES);
    for (let row = 0; row < 16; row++) {
      let lo = 0;
      let hi = 0;
      for (let col = 0; col < 8; col++) {
        if (dct[row * 16 + col] > median) lo |= 1 << col;
        if (dct[row * 16 + col + 8] > median) hi |= 1 << col;
      }
      hash[2 * (15 - row)] = hi;
      hash[2 * (15 - row) + 1] = lo;
    }
    return hash;
  }
}

function checkImage(image: PixelImage, model: PixelModel): void {
  const { data, width, height, channels } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
    throw new RangeError('width and height must be positive integers');
  }
  const allowed = model === 'grey' ? channels === 1 || channels === 2 : model === 'rgb' ? channels === 3 || channels === 4 : channels === 4 || channels === 5;
  if (!allowed) throw new RangeError(`${channels} channels do not fit pixel model ${model}`);
  if (data.length < width * height * channels) throw new RangeError('pixel buffer is shorter than width × height × channels');
}

/** True when every pixel has R = G = B (stops at the first coloured pixel). */
function isAllGrey(data: Uint8Array, pixels: number, channels: number): boolean {
  const end = pixels * channels;
  for (let p = 0; p < end; p += channels) {
    const r = data[p];
    if (data[p + 1] !== r || data[p + 2] !== r) return false;
  }
  return true;
}

/** The reference's gradient quality metric of a 64×64 block, 0..100. */
function qualityOf(block: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const u = block[i * 64 + j];
      const v = block[(i + 1) * 64 + j];
      sum += Math.abs(Math.trunc(fround(fround(fround(u - v) * 100) / 255)));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const u = block[i * 64 + j];
      const v = block[i * 64 + j + 1];
      sum += Math.abs(Math.trunc(fround(fround(fround(u - v) * 100) / 255)));
    }
  }
  return Math.min(100, Math.trunc(sum / 90));
}

let shared: PdqHasher | undefined;

/**
 * Hashes decoded pixels with a shared, lazily created {@link PdqHasher}. See
 * {@link PdqHasher.hashPixels}.
 * @throws RangeError on inconsistent dimensions, channels or buffer length.
 */
export function pdqHashPixels(image: PixelImage, options: PdqOptions = {}): PdqResult {
  shared ??= new PdqHasher();
  return shared.hashPixels(image, options);
}

/**
 * Hashes a float luma plane with a shared {@link PdqHasher}. See {@link PdqHasher.hashLuma}.
 * @throws RangeError when `luma` is shorter than width × height.
 */
export function pdqHashLuma(luma: Float32Array, width: number, height: number, options: PdqOptions = {}): PdqResult {
  shared ??= new PdqHasher();
  return shared.hashLuma(luma, width, height, options);
}
