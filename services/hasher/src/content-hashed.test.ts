import type { ImageHashResult, VideoHashResult } from '@safeguard/hashing';
import type { ContentSubmitted } from '@safeguard/schemas';
import { contentHashedOf, hashValuesOf, hashedEventId, mediaTypeOf } from './content-hashed';

const crypto = { md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64) };
const image: ImageHashResult = { kind: 'image', format: 'png', width: 640, height: 480, mode: 'exact', pdq: 'd'.repeat(64), quality: 87, ...crypto };
const video: VideoHashResult = {
  kind: 'video',
  format: 'mp4',
  width: 320,
  height: 240,
  durationSec: 12.3456,
  framesPerSecond: 1,
  sampledFrames: 13,
  frames: [
    { frame: 0, timestampSec: 0, pdq: '1'.repeat(64), quality: 100 },
    { frame: 7, timestampSec: 7.0004, pdq: '2'.repeat(64), quality: 55 },
  ],
  ...crypto,
};
const submitted: ContentSubmitted = {
  eventId: 'sub-1',
  platformId: 'p',
  contentId: 'c-1',
  uploaderAccountId: 'u-9',
  contentKind: 'IMAGE',
  media: { uri: 'https://cdn.example/a.png?token=secret', inlineBytes: null, mimeType: null, sizeBytes: null },
  uploadContext: { uploadedAtMs: 5, ipAddress: '203.0.113.4', countryCode: 'DE', publiclyAvailable: true },
  channel: 'http',
  submittedAtMs: 1,
};

describe('ContentHashed', () => {
  it('derives a stable version-5 UUID from the submission event id', () => {
    const id = hashedEventId('sub-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(hashedEventId('sub-1')).toBe(id);
    expect(hashedEventId('sub-2')).not.toBe(id);
  });

  it('lists PDQ then the crypto hashes for an image, dihedral variants except the original when present', () => {
    expect(hashValuesOf(image).map((h) => [h.algorithm, h.variant, h.quality])).toEqual([
      ['pdq', null, 87],
      ['md5', null, null],
      ['sha1', null, null],
      ['sha256', null, null],
    ]);
    const dihedral = ['0', '1', '2', '3', '4', '5', '6', '7'].map((d) => d.repeat(64));
    const values = hashValuesOf({ ...image, pdq: dihedral[0]!, dihedral });
    expect(values.filter((h) => h.algorithm === 'pdq').map((h) => [h.variant, h.value[0]])).toEqual([
      [null, '0'],
      ['rot90', '1'],
      ['rot180', '2'],
      ['rot270', '3'],
      ['flipx', '4'],
      ['flipy', '5'],
      ['flipplus1', '6'],
      ['flipminus1', '7'],
    ]);
  });

  it('lists one vpdq per kept frame with its timestamp for a video', () => {
    expect(hashValuesOf(video).map((h) => [h.algorithm, h.frameTimestampMs, h.quality])).toEqual([
      ['vpdq', 0, 100],
      ['vpdq', 7000, 55],
      ['md5', null, null],
      ['sha1', null, null],
      ['sha256', null, null],
    ]);
  });

  it('copies ids, uploader, upload context and the URI as evidence reference', () => {
    const event = contentHashedOf(submitted, image, 1234, 'v1', 99);
    expect(event).toEqual({
      eventId: hashedEventId('sub-1'),
      submittedEventId: 'sub-1',
      platformId: 'p',
      contentId: 'c-1',
      uploaderAccountId: 'u-9',
      mediaUri: 'https://cdn.example/a.png?token=secret',
      mediaType: 'PNG',
      sizeBytes: 1234,
      width: 640,
      height: 480,
      durationMs: null,
      hashes: hashValuesOf(image),
      uploadContext: submitted.uploadContext,
      hasherVersion: 'v1',
      hashedAtMs: 99,
    });
    const inline = contentHashedOf({ ...submitted, media: { ...submitted.media, uri: null, inlineBytes: Buffer.from('x') } }, video, 1, 'v1', 1);
    expect([inline.mediaUri, inline.mediaType, inline.durationMs]).toEqual([null, 'VIDEO', 12346]);
    expect(mediaTypeOf({ ...image, format: 'avif' })).toBe('AVIF');
  });
});
