import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MediaError } from './errors';
import { classifyDecodeFailure, decodeImage, toMediaError } from './decode';

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
