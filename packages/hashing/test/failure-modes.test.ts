/**
 * One fixture per failure mode and per awkward-but-valid format, each with its expected outcome.
 * Fixtures are generated from benign images (see fixtures.ts).
 */
import sharp from 'sharp';
import { pdqDistanceHex } from '@safeguard/domain/pdq';
import { pngBomb, svgBytes, textBytes, truncatedJpeg } from '@safeguard/testkit';
import { MediaError, decodeImage, hashImage, hashMediaOutcome, pdqOfPixels } from '../src';
import { animatedGif, benignJpeg, benignPng, benignRaw, cmykJpeg, multiPageTiff, png16 } from './fixtures';

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MediaError);
    expect((err as MediaError).retriable).toBe(false);
    return (err as MediaError).code;
  }
  throw new Error('expected the input to be refused');
}

async function referenceOf(png: Buffer): Promise<string> {
  return (await hashImage(png)).pdq;
}

describe('refused inputs', () => {
  it('empty: media_empty', async () => {
    expect(await refusal(hashImage(Buffer.alloc(0)))).toBe('media_empty');
  });

  it('oversized bytes: media_too_large, before decoding', async () => {
    expect(await refusal(hashImage(benignJpeg(), { maxBytes: 1000 }))).toBe('media_too_large');
  });

  it('text named .jpg: media_unsupported_type', async () => {
    expect(await refusal(hashImage(textBytes()))).toBe('media_unsupported_type');
  });

  it('SVG: media_unsupported_type', async () => {
    expect(await refusal(hashImage(svgBytes()))).toBe('media_unsupported_type');
  });

  it('a video where an image is expected: media_unsupported_type', async () => {
    const mp4Head = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom\0\0\x02\0isomiso2', 'latin1')]);
    expect(await refusal(decodeImage(mp4Head))).toBe('media_unsupported_type');
  });

  it('truncated JPEG: media_truncated', async () => {
    expect(await refusal(hashImage(truncatedJpeg()))).toBe('media_truncated');
  });

  it('JPEG cut inside its header: media_truncated', async () => {
    expect(await refusal(hashImage(benignJpeg().subarray(0, 200)))).toBe('media_truncated');
  });

  it('corrupt PNG: decode_failed', async () => {
    const png = Buffer.from(await benignPng());
    for (let i = 100; i < png.length - 20; i += 7) png[i] ^= 0x5a;
    expect(['decode_failed', 'media_truncated']).toContain(await refusal(hashImage(png)));
  });

  it('30000×30000 PNG bomb (under 100 bytes): media_dimensions_exceeded, refused from the header', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(100);
    expect(await refusal(hashImage(bomb))).toBe('media_dimensions_exceeded');
  });

  it('a bomb under the pixel limit but over a tighter one: media_dimensions_exceeded', async () => {
    expect(await refusal(hashImage(pngBomb(3000), { maxPixels: 1_000_000 }))).toBe('media_dimensions_exceeded');
    expect(await refusal(hashImage(pngBomb(3000), { maxDimension: 2000 }))).toBe('media_dimensions_exceeded');
  });

  it('returns refusals as plain data from the worker-task form', async () => {
    const out = await hashMediaOutcome(pngBomb());
    expect(out).toEqual({ ok: false, error: { code: 'media_dimensions_exceeded', message: expect.any(String), retriable: false } });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
});

describe('accepted awkward formats', () => {
  it('CMYK JPEG: decoded as raw ink and converted with the reference formula', async () => {
    const cmyk = await cmykJpeg();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const decoded = await decodeImage(cmyk);
    expect(decoded.pixels.model).toBe('cmyk');
    expect(decoded.pixels.channels).toBe(4);
    const r = await hashImage(cmyk);
    // Same picture as the RGB original, up to JPEG re-encoding and the profile round trip.
    expect(pdqDistanceHex(r.pdq, await referenceOf(await benignPng()))).toBeLessThanOrEqual(16);
  });

  it('16-bit PNG: reduced to 8 bits, same hash as the 8-bit original', async () => {
    const wide = await png16();
    expect((await sharp(wide).metadata()).depth).toBe('ushort');
    const r = await hashImage(wide);
    expect(r.pdq).toBe(await referenceOf(await benignPng()));
  });

  it('greyscale and grey+alpha PNG: grey path', async () => {
    const { data, info } = await benignRaw();
    const luma = Buffer.alloc(info.width * info.height);
    for (let i = 0; i < luma.length; i++) luma[i] = data[3 * i + 1];
    const grey = await sharp(luma, { raw: { width: info.width, height: info.height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const la = Buffer.alloc(luma.length * 2);
    for (let i = 0; i < luma.length; i++) {
      la[2 * i] = luma[i];
      la[2 * i + 1] = i % 3 ? 255 : 10;
    }
    const greyAlpha = await sharp(la, { raw: { width: info.width, height: info.height, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    expect((await decodeImage(grey)).pixels.channels).toBe(1);
    expect((await sharp(greyAlpha).metadata()).channels).toBe(2);
    expect((await decodeImage(greyAlpha)).pixels.model).toBe('grey');
    expect((await hashImage(greyAlpha)).pdq).toBe((await hashImage(grey)).pdq);
  });

  it('palette PNG with alpha: alpha dropped, not composited', async () => {
    const { data, info } = await benignRaw();
    const rgba = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) {
      data.copy(rgba, 4 * i, 3 * i, 3 * i + 3);
      rgba[4 * i + 3] = i % 2 ? 255 : 0;
    }
    const opaque = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
    const translucent = await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
    expect((await hashImage(translucent)).pdq).toBe((await hashImage(opaque)).pdq);
    const palette = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).png({ palette: true, colours: 256, dither: 0 }).toBuffer();
    const decoded = await decodeImage(palette);
    expect(decoded.pixels.channels).toBeGreaterThanOrEqual(3);
    expect(pdqDistanceHex((await hashImage(palette)).pdq, (await hashImage(opaque)).pdq)).toBeLessThanOrEqual(16);
  });

  it('animated GIF: first frame only', async () => {
    const gif = await animatedGif();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const r = await hashImage(gif);
    const { data, info } = await benignRaw();
    const firstFrameGif = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).gif().toBuffer();
    expect(r.height).toBe(info.height);
    expect(r.pdq).toBe((await hashImage(firstFrameGif)).pdq);
  });

  it('multi-page TIFF: first page only', async () => {
    const tiff = await multiPageTiff();
    expect((await sharp(tiff).metadata()).pages).toBe(2);
    const r = await hashImage(tiff);
    expect(r.format).toBe('tiff');
    expect(r.height).toBe((await benignRaw()).info.height);
    expect(r.pdq).toBe(await referenceOf(await benignPng()));
  });

  it('WebP and AVIF are accepted', async () => {
    const png = await benignPng();
    const webp = await sharp(png).webp({ lossless: true }).toBuffer();
    expect((await hashImage(webp)).pdq).toBe(await referenceOf(png));
    const avif = await sharp(png).avif({ quality: 90 }).toBuffer();
    const r = await hashImage(avif);
    expect(r.format).toBe('avif');
    expect(pdqDistanceHex(r.pdq, await referenceOf(png))).toBeLessThanOrEqual(20);
  });

  it('EXIF orientation is ignored by default and applied with autoOrient', async () => {
    const { data, info } = await benignRaw();
    const raw = { raw: { width: info.width, height: info.height, channels: 3 as const } };
    // Stored pixels rotated 90° clockwise, tagged "rotate 90° counter-clockwise to display" (orientation 8).
    const storedRotated = await sharp(data, raw).rotate(90).png().toBuffer();
    const tagged = await sharp(storedRotated).withMetadata({ orientation: 8 }).jpeg({ quality: 100 }).toBuffer();
    const upright = await sharp(data, raw).jpeg({ quality: 100 }).toBuffer();
    const plain = await hashImage(tagged);
    const oriented = await hashImage(tagged, { autoOrient: true });
    expect(plain.width).toBe(info.height);
    expect(oriented.width).toBe(info.width);
    expect(pdqDistanceHex(oriented.pdq, (await hashImage(upright)).pdq)).toBeLessThanOrEqual(16);
    expect(pdqDistanceHex(plain.pdq, oriented.pdq)).toBeGreaterThan(40);
  });

  it('pdqOfPixels hashes decoded pixels directly', async () => {
    const d = await decodeImage(benignJpeg());
    expect(pdqOfPixels(d.pixels, false).pdq).toBe((await hashImage(benignJpeg())).pdq);
  });
});
