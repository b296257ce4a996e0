/**
 * The native JPEG path (libjpeg-turbo through `native/safeguard_jpeg.c`) must be a pure speed-up:
 * for every JPEG it accepts, the same sampled pixels as a full sharp decode sampled with the
 * reference's rule, the same hashes, the same refusals. Inputs: every JPEG of the reference
 * vectors, re-encodings of one in the layouts encoders write (4:2:0 / 4:4:4, baseline /
 * progressive / mozjpeg scans, grey, odd and extreme sizes), and damaged copies.
 *
 * CI builds the addon and sets SAFEGUARD_NATIVE_JPEG=required, so a missing toolchain fails the
 * suite instead of silently testing sharp against itself.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { JaroszScratch, PDQ_PRESIZE, jaroszDownsample64, pdqDistanceHex } from '@safeguard/domain/pdq';
import { MediaError, decodeImage, hashImage } from '../src';
import { nativeJpeg } from '../src/native-jpeg';
import type { NativeJpegOptions } from '../src/native-jpeg';
import { benignJpeg, cmykJpeg } from './fixtures';

const VECTORS_DIR = resolve(process.env.PDQ_VECTORS_DIR ?? join(__dirname, '..', '..', '..', 'test', 'fixtures', 'pdq-vectors'));
const LIMITS: NativeJpegOptions = { maxPixels: 100_000_000, maxDimension: 65_500, timeoutMs: 10_000, maxScans: 1000, presize: PDQ_PRESIZE };

function jpegsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jpegsUnder(p));
    else if (/\.jpe?g$/i.test(name)) out.push(p);
  }
  return out;
}

/** A full sharp decode (the reference's choices: no ICC, no orientation) sampled with the reference's 512×512 rule. */
async function sharpSample(bytes: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number; allGrey: boolean }> {
  const { data, info } = await sharp(bytes, { ignoreIcc: true, failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const resample = width > PDQ_PRESIZE || height > PDQ_PRESIZE;
  const cols = resample ? PDQ_PRESIZE : width;
  const rows = resample ? PDQ_PRESIZE : height;
  let allGrey = channels === 1;
  if (channels === 3) {
    allGrey = true;
    for (let p = 0; p < width * height * 3 && allGrey; p += 3) allGrey = data[p] === data[p + 1] && data[p] === data[p + 2];
  }
  const outChannels = allGrey ? 1 : channels;
  const out = Buffer.alloc(cols * rows * outChannels);
  for (let y = 0; y < rows; y++) {
    const sy = Math.floor((y * height) / rows);
    for (let x = 0; x < cols; x++) {
      const sx = Math.floor((x * width) / cols);
      for (let c = 0; c < outChannels; c++) out[(y * cols + x) * outChannels + c] = data[(sy * width + sx) * channels + c];
    }
  }
  return { data: out, width: cols, height: rows, channels: outChannels, allGrey };
}

/** @safeguard/domain's luma (float32, the reference's formula) and Jarosz downsampling of sampled pixels. */
function tsDownsampled(data: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const f = Math.fround;
  const luma = new Float32Array(width * height);
  for (let i = 0; i < luma.length; i++) {
    luma[i] = channels === 1 ? data[i] : f(f(f(0.299) * data[3 * i]) + f(f(0.587) * data[3 * i + 1])) + f(f(0.114) * data[3 * i + 2]);
  }
  const block = new Float32Array(64 * 64);
  jaroszDownsample64(luma, height, width, block, new JaroszScratch());
  return block;
}

async function outcome(bytes: Buffer, jpegDecoder: 'auto' | 'sharp'): Promise<string> {
  try {
    const r = await hashImage(bytes, { dihedral: true, jpegDecoder });
    return `${r.pdq} ${r.quality} ${r.width}x${r.height} ${r.dihedral?.join(',')}`;
  } catch (err) {
    if (err instanceof MediaError) return `refused ${err.code}`;
    throw err;
  }
}

/** Re-encodings of a vector in the layouts encoders write, at awkward sizes. */
async function encodings(): Promise<Array<{ name: string; bytes: Buffer }>> {
  const source = readFileSync(join(VECTORS_DIR, 'images', 'bridge-mods', 'aaa-orig.jpg'));
  const sizes: Array<[number, number]> = [
    [1, 1],
    [7, 5],
    [513, 700],
    [1000, 37],
    [17, 1200],
    [2049, 1537],
  ];
  const out: Array<{ name: string; bytes: Buffer }> = [];
  for (const [w, h] of sizes) {
    const base = sharp(source).resize(w, h, { fit: 'fill' });
    for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
      for (const progressive of [false, true]) {
        out.push({ name: `${w}x${h} ${chromaSubsampling}${progressive ? ' progressive' : ''}`, bytes: await base.clone().jpeg({ quality: 90, chromaSubsampling, progressive }).toBuffer() });
      }
    }
    out.push({ name: `${w}x${h} mozjpeg scans`, bytes: await base.clone().jpeg({ quality: 85, mozjpeg: true }).toBuffer() });
    out.push({ name: `${w}x${h} grey`, bytes: await base.clone().greyscale().jpeg({ quality: 90 }).toBuffer() });
  }
  // Colour-coded (3 components) but every pixel grey: the reference hashes it as grey.
  out.push({ name: 'grey pixels, YCbCr-coded', bytes: await sharp(source).greyscale().toColourspace('srgb').jpeg({ quality: 95 }).toBuffer() });
  return out;
}

(process.env.SAFEGUARD_NATIVE_JPEG === 'required' ? it : it.skip)('the addon is built (SAFEGUARD_NATIVE_JPEG=required)', () => {
  expect(nativeJpeg).toBeDefined();
  expect(nativeJpeg?.libraryInfo().file).toMatch(/libjpeg/);
});

const describeNative = nativeJpeg ? describe : describe.skip;

describeNative('native JPEG decoding: same pixels as sharp, sampled', () => {
  const vectorJpegs = jpegsUnder(join(VECTORS_DIR, 'images'));

  it('covers the vectors', () => {
    expect(vectorJpegs.length).toBeGreaterThan(30);
  });

  it.each(vectorJpegs.map((f) => [relative(VECTORS_DIR, f), f]))('%s', async (_name, file) => {
    const bytes = readFileSync(file);
    const native = nativeJpeg?.decodeForPdq(bytes, LIMITS);
    if (!native) {
      // Only CMYK/YCCK/RGB-coded files are left to sharp.
      const meta = await sharp(bytes).metadata();
      expect(meta.space === 'cmyk' || meta.channels === 4).toBe(true);
      return;
    }
    const expected = await sharpSample(bytes);
    expect({ width: native.sampledWidth, height: native.sampledHeight, channels: native.channels, grey: native.grey }).toEqual({
      width: expected.width,
      height: expected.height,
      channels: expected.channels,
      grey: expected.allGrey,
    });
    expect(Buffer.from(native.data).equals(expected.data)).toBe(true);
    // The C luma + Jarosz filter + decimation equals the TypeScript one, bit for bit.
    const unfiltered = native.sampledWidth < 5 || native.sampledHeight < 5 || (native.sampledWidth === 64 && native.sampledHeight === 64);
    expect(native.downsampled === undefined).toBe(unfiltered);
    if (unfiltered) return;
    const block = tsDownsampled(native.data, native.sampledWidth, native.sampledHeight, native.channels);
    expect(Buffer.from(native.downsampled?.buffer ?? new ArrayBuffer(0)).equals(Buffer.from(block.buffer))).toBe(true);
  });

  it('re-encodings (subsampling, progressive, mozjpeg scans, grey, odd sizes): same pixels and hashes', async () => {
    for (const { name, bytes } of await encodings()) {
      const native = nativeJpeg?.decodeForPdq(bytes, LIMITS);
      expect({ name, handled: native !== undefined }).toEqual({ name, handled: true });
      const expected = await sharpSample(bytes);
      expect({ name, same: Buffer.from(native?.data ?? []).equals(expected.data), grey: native?.grey }).toEqual({ name, same: true, grey: expected.allGrey });
      expect({ name, outcome: await outcome(bytes, 'auto') }).toEqual({ name, outcome: await outcome(bytes, 'sharp') });
    }
  });

  it('damaged files (240 seeded mutations): the same hash or the same refusal as through sharp', async () => {
    const source = readFileSync(join(VECTORS_DIR, 'images', 'bridge-mods', 'aaa-orig.jpg'));
    const bases: Buffer[] = [];
    for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
      for (const progressive of [false, true]) bases.push(await sharp(source).resize(700, 520, { fit: 'fill' }).jpeg({ quality: 85, chromaSubsampling, progressive }).toBuffer());
    }
    bases.push(await sharp(source).resize(600, 560).greyscale().jpeg({ progressive: true }).toBuffer());
    let seed = 20261128;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 240; i++) {
      let bytes = Buffer.from(bases[i % bases.length]);
      for (let k = 1 + Math.floor(random() * 8); k > 0; k--) {
        const pos = Math.floor(random() * bytes.length);
        const kind = random();
        if (kind < 0.4) bytes[pos] = Math.floor(random() * 256); // a random byte
        else if (kind < 0.6) bytes[pos] = 0xff; // a stray marker
        else if (kind < 0.8) bytes.fill(Math.floor(random() * 256), pos, pos + Math.floor(random() * 32)); // a run
        else bytes[pos] ^= 1 << Math.floor(random() * 8); // one flipped bit
      }
      if (random() < 0.1) bytes = bytes.subarray(0, Math.floor(random() * bytes.length)); // cut short
      const auto = await outcome(bytes, 'auto');
      expect({ i, auto }).toEqual({ i, auto: await outcome(bytes, 'sharp') });
      const kind = auto.startsWith('refused') ? auto : 'hashed';
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    // Concealed damage and both refusals occur, so the comparison covers each.
    expect(Object.keys(counts).sort()).toEqual(['hashed', 'refused decode_failed', 'refused media_truncated']);
  });

  it('decodeImage hands over the 512×512 sample of a large JPEG, grey-checked, with its 64×64 filtered luma', async () => {
    const colour = readFileSync(join(VECTORS_DIR, 'images', 'bridge-mods', 'aaa-orig.jpg'));
    const big = await sharp(colour).resize(1600, 900, { fit: 'fill' }).jpeg().toBuffer();
    const d = await decodeImage(big);
    expect({ width: d.width, height: d.height, downsampled: d.downsampled?.length }).toEqual({ width: 1600, height: 900, downsampled: 64 * 64 });
    expect({ w: d.pixels.width, h: d.pixels.height, channels: d.pixels.channels, greyChecked: d.pixels.greyChecked }).toEqual({ w: 512, h: 512, channels: 3, greyChecked: true });
    const viaSharp = await decodeImage(big, { jpegDecoder: 'sharp' });
    expect({ w: viaSharp.pixels.width, downsampled: viaSharp.downsampled }).toEqual({ w: 1600, downsampled: undefined });
  });

  it('autoOrient decodes through sharp', async () => {
    const big = await sharp(benignJpeg()).resize(2000, 1800, { fit: 'fill' }).jpeg().toBuffer();
    const oriented = await decodeImage(big, { autoOrient: true });
    expect({ w: oriented.pixels.width, downsampled: oriented.downsampled }).toEqual({ w: 2000, downsampled: undefined });
  });

  it('fast mode: decodes at 1/factor in the DCT domain (libjpeg scaled IDCT), then the 512×512 sample; stored size reported; close to exact', async () => {
    const colour = readFileSync(join(VECTORS_DIR, 'images', 'bridge-mods', 'aaa-orig.jpg'));
    const big = await sharp(colour).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
    const fast = await decodeImage(big, { mode: 'fast' });
    expect({ width: fast.width, height: fast.height, downsampled: fast.downsampled?.length, w: fast.pixels.width, h: fast.pixels.height }).toEqual({ width: 4000, height: 3000, downsampled: 64 * 64, w: 512, h: 512 });
    const exact = await hashImage(big);
    const viaNative = await hashImage(big, { mode: 'fast' });
    const viaSharp = await hashImage(big, { mode: 'fast', jpegDecoder: 'sharp' });
    expect(pdqDistanceHex(viaNative.pdq, exact.pdq)).toBeLessThanOrEqual(16);
    expect(pdqDistanceHex(viaNative.pdq, viaSharp.pdq)).toBeLessThanOrEqual(16);
  });

  it('fast mode rejects scale factors libjpeg does not offer', () => {
    expect(() => nativeJpeg?.decodeForPdq(benignJpeg(), { ...LIMITS, scaleDenom: 3 as unknown as 2 })).toThrow(expect.objectContaining({ name: 'RangeError' }));
  });
});

describeNative('native JPEG decoding: defences', () => {
  it('refuses from the header, before decoding, what exceeds the pixel or side limits', () => {
    const bytes = benignJpeg();
    expect(() => nativeJpeg?.decodeForPdq(bytes, { ...LIMITS, maxPixels: 100 })).toThrow(expect.objectContaining({ code: 'media_dimensions_exceeded' }));
    expect(() => nativeJpeg?.decodeForPdq(bytes, { ...LIMITS, maxDimension: 10 })).toThrow(expect.objectContaining({ code: 'media_dimensions_exceeded' }));
  });

  it('stops at the time budget', async () => {
    const big = await sharp(benignJpeg()).resize(4000, 3000, { fit: 'fill' }).jpeg({ progressive: true }).toBuffer();
    expect(() => nativeJpeg?.decodeForPdq(big, { ...LIMITS, timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'decode_timeout' }));
  });

  it('refuses progressive files with more scans than allowed', async () => {
    const progressive = await sharp(benignJpeg()).jpeg({ progressive: true }).toBuffer();
    expect(nativeJpeg?.decodeForPdq(progressive, LIMITS)).toBeDefined();
    expect(() => nativeJpeg?.decodeForPdq(progressive, { ...LIMITS, maxScans: 2 })).toThrow(expect.objectContaining({ code: 'decode_failed', message: expect.stringContaining('scans') }));
  });

  it('truncated: media_truncated; not a JPEG: decode_failed; errors name no content', () => {
    const bytes = benignJpeg();
    expect(() => nativeJpeg?.decodeForPdq(bytes.subarray(0, bytes.length >> 1), LIMITS)).toThrow(expect.objectContaining({ code: 'media_truncated' }));
    // libjpeg's own text would quote the first bytes ("starts with 0x6e 0x6f"): only its number is kept.
    expect(() => nativeJpeg?.decodeForPdq(Buffer.from('not a jpeg at all'), LIMITS)).toThrow(expect.objectContaining({ code: 'decode_failed', message: expect.stringMatching(/^libjpeg error \d+$/) }));
    expect(() => nativeJpeg?.decodeForPdq(Buffer.alloc(0), LIMITS)).toThrow(expect.objectContaining({ code: 'decode_failed' }));
  });

  it('leaves CMYK to sharp (undefined), and decodeImage then converts it with the reference formula', async () => {
    const cmyk = await cmykJpeg();
    expect(nativeJpeg?.decodeForPdq(cmyk, LIMITS)).toBeUndefined();
    expect((await decodeImage(cmyk)).pixels.model).toBe('cmyk');
  });

  it('rejects arguments of the wrong type (TypeError, from the addon\'s realm)', () => {
    const addon = nativeJpeg as unknown as { decodeForPdq: (...args: unknown[]) => unknown };
    expect(() => addon.decodeForPdq('x', LIMITS)).toThrow(expect.objectContaining({ name: 'TypeError', message: 'bytes must be a Uint8Array' }));
    expect(() => addon.decodeForPdq(new Uint16Array(4), LIMITS)).toThrow(expect.objectContaining({ name: 'TypeError', message: 'bytes must be a Uint8Array' }));
    expect(() => addon.decodeForPdq(benignJpeg())).toThrow(expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('two arguments') }));
  });

  it('refusals through decodeImage are MediaErrors with the same codes as through sharp', async () => {
    const bytes = benignJpeg();
    for (const cut of [bytes.subarray(0, 200), bytes.subarray(0, bytes.length - 300)]) {
      const codes = [];
      for (const jpegDecoder of ['auto', 'sharp'] as const) {
        try {
          await decodeImage(cut, { jpegDecoder });
          codes.push('decoded');
        } catch (err) {
          expect(err).toBeInstanceOf(MediaError);
          codes.push((err as MediaError).code);
        }
      }
      expect(codes).toEqual(['media_truncated', 'media_truncated']);
    }
  });
});
