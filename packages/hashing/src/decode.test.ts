import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MediaError } from './errors';
import sharp from 'sharp';
import { classifyDecodeFailure, decodeImage, jpegFrameHeader, toMediaError } from './decode';

describe('toMediaError', () => {
  it.each([
    ['timeout: 1s exceeded', 'decode_timeout'],
    ['Input image exceeds pixel limit', 'media_dimensions_exceeded'],
    ['Input buffer contains unsupported image format', 'media_unsupported_type'],
    ['VipsJpeg: premature end of JPEG image', 'media_truncated'],
    ['pngload_buffer: libspng read error', 'media_truncated'],
    ['VipsJpeg: Corrupt JPEG data: bad Huffman code', 'decode_failed'],
  ])('maps "%s" to %s, keeping the cause', (message, code) => {
    const cause = new Error(message);
    const err = toMediaError(cause);
    expect(err).toBeInstanceOf(MediaError);
    expect(err.code).toBe(code);
    expect(err.cause).toBe(cause);
    expect(err.message).not.toContain('Vips');
  });

  it('passes MediaErrors through', () => {
    const err = new MediaError('media_empty', 'x');
    expect(toMediaError(err)).toBe(err);
  });
});

describe('classifyDecodeFailure', () => {
  // Minimal well-formed tails: JPEG ends with EOI (FF D9), PNG with the IEND chunk, GIF with 0x3B.
  const jpegStart = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]);
  const pngIend = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

  it('classifies a failed decode of data without its end marker as truncated, even when libvips lost the message', () => {
    const unknown = new Error('Unknown error');
    expect(classifyDecodeFailure(unknown, 'jpeg', jpegStart).code).toBe('media_truncated');
    expect(classifyDecodeFailure(unknown, 'png', Buffer.from('\x89PNG\r\n\x1a\n0000')).code).toBe('media_truncated');
    expect(classifyDecodeFailure(unknown, 'gif', Buffer.from('GIF89a0000')).code).toBe('media_truncated');
    expect(classifyDecodeFailure(unknown, 'jpeg', jpegStart).cause).toBe(unknown);
  });

  it('keeps decode_failed for complete data and other codes as they are', () => {
    const unknown = new Error('Unknown error');
    expect(classifyDecodeFailure(unknown, 'jpeg', Buffer.concat([jpegStart, Buffer.from([0xff, 0xd9])])).code).toBe('decode_failed');
    expect(classifyDecodeFailure(unknown, 'png', Buffer.concat([Buffer.from('\x89PNG'), pngIend])).code).toBe('decode_failed');
    expect(classifyDecodeFailure(unknown, 'webp', Buffer.from('RIFF0000WEBP')).code).toBe('decode_failed');
    expect(classifyDecodeFailure(new Error('timeout: 1s exceeded'), 'jpeg', jpegStart).code).toBe('decode_timeout');
  });

  it('gives every truncated JPEG decoded concurrently the same code (libvips shares one error buffer per process)', async () => {
    const vectors = resolve(process.env.PDQ_VECTORS_DIR ?? join(__dirname, '..', '..', '..', 'test', 'fixtures', 'pdq-vectors'));
    const full = readFileSync(join(vectors, 'images', 'bridge-mods', 'aaa-orig.jpg'));
    const truncated = full.subarray(0, Math.floor(full.length * 0.35));
    const codes = await Promise.all(
      Array.from({ length: 24 }, () => decodeImage(Buffer.from(truncated)).then(() => 'decoded', (e: MediaError) => e.code)),
    );
    expect(new Set(codes)).toEqual(new Set(['media_truncated']));
  });
});

describe('jpegFrameHeader', () => {
  const rgb = { width: 37, height: 23, channels: 3 as const };
  const pixels = Buffer.alloc(37 * 23 * 3, 0);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 251;

  it.each([
    ['baseline', (s: sharp.Sharp) => s.jpeg({ quality: 90 }), 3],
    ['progressive', (s: sharp.Sharp) => s.jpeg({ progressive: true }), 3],
    ['grey', (s: sharp.Sharp) => s.toColourspace('b-w').jpeg(), 1],
    ['CMYK', (s: sharp.Sharp) => s.toColourspace('cmyk').jpeg(), 4],
    ['with EXIF and an ICC profile', (s: sharp.Sharp) => s.withMetadata({ orientation: 6 }).jpeg(), 3],
  ])('reads what sharp reads from a %s JPEG', async (_name, encode, components) => {
    const jpeg = await encode(sharp(pixels, { raw: rgb })).toBuffer();
    const meta = await sharp(jpeg).metadata();
    expect(jpegFrameHeader(jpeg)).toEqual({ width: meta.width, height: meta.height, components });
    expect(meta.space).toBe(components === 4 ? 'cmyk' : components === 1 ? 'b-w' : 'srgb');
  });

  it('skips fill bytes before a marker', async () => {
    const jpeg = await sharp(pixels, { raw: rgb }).jpeg().toBuffer();
    const padded = Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xff]), jpeg.subarray(2)]);
    expect(jpegFrameHeader(padded)).toEqual({ width: 37, height: 23, components: 3 });
  });

  it('leaves every unusual header to the decoder (undefined)', async () => {
    const jpeg = await sharp(pixels, { raw: rgb }).jpeg().toBuffer();
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    const patched = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(jpeg);
      copy[sof + offset] = value;
      return copy;
    };
    expect(jpegFrameHeader(jpeg.subarray(0, sof + 6))).toBeUndefined(); // cut inside the frame header
    expect(jpegFrameHeader(jpeg.subarray(0, sof))).toBeUndefined(); // no frame header at all
    expect(jpegFrameHeader(patched(1, 0xc3))).toBeUndefined(); // lossless
    expect(jpegFrameHeader(patched(1, 0xc9))).toBeUndefined(); // arithmetic coding
    expect(jpegFrameHeader(patched(4, 12))).toBeUndefined(); // 12-bit samples
    expect(jpegFrameHeader(patched(9, 2))).toBeUndefined(); // two components
    const dnl = patched(5, 0);
    dnl[sof + 6] = 0;
    expect(jpegFrameHeader(dnl)).toBeUndefined(); // height defined later by a DNL marker
    expect(jpegFrameHeader(Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xda, 0, 2]), jpeg.subarray(2)]))).toBeUndefined(); // scan first
    expect(jpegFrameHeader(Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0x00]), jpeg.subarray(2)]))).toBeUndefined(); // not a marker
    expect(jpegFrameHeader(Buffer.from('\x89PNG\r\n\x1a\n0000'))).toBeUndefined();
  });

  it('gives decodeImage the same pixels and dimensions as the metadata() path', async () => {
    for (const encode of [(s: sharp.Sharp) => s.jpeg(), (s: sharp.Sharp) => s.toColourspace('b-w').jpeg(), (s: sharp.Sharp) => s.toColourspace('cmyk').jpeg()]) {
      const jpeg = await encode(sharp(pixels, { raw: rgb })).toBuffer();
      const direct = await decodeImage(jpeg);
      // autoOrient takes the metadata() path; this image has no EXIF orientation, so nothing rotates.
      const viaMetadata = await decodeImage(jpeg, { autoOrient: true });
      expect(direct.width).toBe(viaMetadata.width);
      expect(direct.height).toBe(viaMetadata.height);
      expect(direct.pixels.model).toBe(viaMetadata.pixels.model);
      expect(direct.pixels.channels).toBe(viaMetadata.pixels.channels);
      expect(Buffer.compare(direct.pixels.data, viaMetadata.pixels.data)).toBe(0);
    }
  });

  it('refuses a JPEG over the limits from its frame header', async () => {
    const jpeg = await sharp(pixels, { raw: rgb }).jpeg().toBuffer();
    await expect(decodeImage(jpeg, { maxPixels: 37 * 23 - 1 })).rejects.toMatchObject({ code: 'media_dimensions_exceeded' });
    await expect(decodeImage(jpeg, { maxDimension: 36 })).rejects.toMatchObject({ code: 'media_dimensions_exceeded' });
    await expect(decodeImage(jpeg, { maxPixels: 37 * 23 })).resolves.toMatchObject({ width: 37, height: 23 });
  });
});
