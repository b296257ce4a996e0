import { MediaError } from './errors';
import { toMediaError } from './decode';

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
