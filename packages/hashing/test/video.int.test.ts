/**
 * Video hashing through the system ffmpeg. Test videos are made here, with ffmpeg, from benign
 * images: a lossless FFV1/Matroska clip (frame hashes must equal the image hashes exactly) and
 * an H.264/MP4 clip (lossy: frame hashes land near the image hashes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pdqDistanceHex } from '@safeguard/domain/pdq';
import { MediaError, ToolUnavailableError, cryptoHashes, hashFile, hashImage, hashMedia, hashVideoFile } from '../src';
import { benignPng } from './fixtures';

let dir: string;
let pngA: Buffer;
let pngB: Buffer;

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** 3 s of picture A then 3 s of picture B, 10 fps, encoded with `codec`. */
function makeClip(name: string, codecArgs: string[]): string {
  const out = join(dir, name);
  ffmpeg([
    '-loop', '1', '-framerate', '10', '-t', '3', '-i', join(dir, 'a.png'),
    '-loop', '1', '-framerate', '10', '-t', '3', '-i', join(dir, 'b.png'),
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', ...codecArgs, out,
  ]);
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'safeguard-video-test-'));
  pngA = await benignPng();
  // Picture B: picture A upside down, a different hash.
  pngB = await (await import('sharp')).default(pngA).flip().png().toBuffer();
  writeFileSync(join(dir, 'a.png'), pngA);
  writeFileSync(join(dir, 'b.png'), pngB);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('video frame hashes (ffmpeg)', () => {
  it('lossless clip: one kept frame per scene, bit-identical to the image hashes, with timestamps', async () => {
    const file = makeClip('lossless.mkv', ['-c:v', 'ffv1', '-pix_fmt', 'bgr0']);
    const r = await hashVideoFile(file, { framesPerSecond: 2 });
    const a = await hashImage(pngA);
    const b = await hashImage(pngB);
    expect(r.kind).toBe('video');
    expect(r.format).toBe('matroska');
    expect(r.sampledFrames).toBeGreaterThanOrEqual(11);
    expect(r.sampledFrames).toBeLessThanOrEqual(13);
    expect(r.frames.map((f) => f.pdq)).toEqual([a.pdq, b.pdq]);
    expect(r.frames[0]).toMatchObject({ frame: 0, timestampSec: 0, quality: a.quality });
    expect(r.frames[1].timestampSec).toBeCloseTo(3, 0);
    expect(r.frames[1].frame).toBe(Math.round(r.frames[1].timestampSec * 2));
    expect(r.sha256).toBe(cryptoHashes(readFileSync(file)).sha256);
  });

  it('keeps every sampled frame when deduplication is off', async () => {
    const file = join(dir, 'lossless.mkv');
    const r = await hashVideoFile(file, { framesPerSecond: 1, dedupeDistance: -1 });
    expect(r.frames).toHaveLength(r.sampledFrames);
    expect(r.frames.length).toBeGreaterThanOrEqual(6);
  });

  it('H.264 MP4 from bytes: frames near the image hashes, file digests of the bytes', async () => {
    const file = makeClip('lossy.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18']);
    const bytes = readFileSync(file);
    const r = await hashMedia(bytes, { video: { framesPerSecond: 1 } });
    if (r.kind !== 'video') throw new Error('expected a video result');
    expect(r.format).toBe('mp4');
    expect(r.md5).toBe(cryptoHashes(bytes).md5);
    const a = (await hashImage(pngA)).pdq;
    const b = (await hashImage(pngB)).pdq;
    expect(r.frames.length).toBeGreaterThanOrEqual(2);
    expect(pdqDistanceHex(r.frames[0].pdq, a)).toBeLessThanOrEqual(24);
    expect(pdqDistanceHex(r.frames[r.frames.length - 1].pdq, b)).toBeLessThanOrEqual(24);
    expect((await hashFile(file, { video: { framesPerSecond: 1 } })).sha256).toBe(r.sha256);
  });

  it('refuses too many frames, truncated files and missing tools with clear codes', async () => {
    const file = join(dir, 'lossless.mkv');
    await expect(hashVideoFile(file, { framesPerSecond: 10, maxFrames: 5 })).rejects.toMatchObject({ code: 'video_too_long' });
    const cut = join(dir, 'cut.mp4');
    writeFileSync(cut, readFileSync(join(dir, 'lossy.mp4')).subarray(0, 2000));
    const err = await hashVideoFile(cut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(['decode_failed', 'media_truncated']).toContain((err as MediaError).code);
    await expect(hashVideoFile(file, { ffprobePath: join(dir, 'no-such-ffprobe') })).rejects.toBeInstanceOf(ToolUnavailableError);
    await expect(hashVideoFile(join(dir, 'a.png'))).rejects.toMatchObject({ code: 'media_unsupported_type' });
  });
});
