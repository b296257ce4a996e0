import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashMediaOutcome } from '@safeguard/hashing';
import { corruptJpeg, pngBomb, svgBytes, textBytes, truncatedJpeg } from '@safeguard/testkit';
import { dihedralOf, fixtureBytes, fixtures } from '../../test/media';
import hash, { type HashTask, versions } from './hash.worker';

jest.setTimeout(60_000);

function task(bytes: Buffer, image: HashTask['image'] = {}): HashTask {
  const buffer = new ArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  return { buffer, image, video: {} };
}

describe('hash worker', () => {
  it('gives the reference PDQ for every fixture, and the same outcome as hashMediaOutcome', async () => {
    for (const f of fixtures()) {
      const bytes = fixtureBytes(f.file);
      const out = await hash(task(bytes));
      expect(out.outcome).toEqual(await hashMediaOutcome(bytes));
      expect(out.outcome.ok && out.outcome.result.kind === 'image' && [out.outcome.result.pdq, out.outcome.result.quality]).toEqual([f.pdq, f.quality]);
      expect(out.timings.pdq).toBeGreaterThan(0);
      expect(out.timings.crypto).toBeGreaterThan(0);
      expect(out.timings.video).toBeUndefined();
      expect(out.busySeconds).toBeGreaterThanOrEqual(out.timings.pdq!);
    }
  });

  it('computes the reference dihedral hashes when asked, in fast mode too when nothing is reduced', async () => {
    const bytes = fixtureBytes('q2821.jpg');
    const out = await hash(task(bytes, { dihedral: true }));
    expect(out.outcome).toEqual(await hashMediaOutcome(bytes, { dihedral: true }));
    expect(out.outcome.ok && out.outcome.result.kind === 'image' && out.outcome.result.dihedral).toEqual(dihedralOf('q2821.jpg'));
    const fast = await hash(task(bytes, { mode: 'fast' }));
    expect(fast.outcome).toEqual(await hashMediaOutcome(bytes, { mode: 'fast' }));
  });

  it('returns refusals with the library codes, exactly as hashMediaOutcome does', async () => {
    const cases: Array<[Buffer, string, HashTask['image']]> = [
      [Buffer.alloc(0), 'media_empty', {}],
      [truncatedJpeg(), 'media_truncated', {}],
      [corruptJpeg(), 'decode_failed', {}],
      [pngBomb(30000), 'media_dimensions_exceeded', {}],
      [textBytes(), 'media_unsupported_type', {}],
      [svgBytes(), 'media_unsupported_type', {}],
      [fixtureBytes('q0122.jpg'), 'media_too_large', { maxBytes: 1000 }],
    ];
    for (const [bytes, code, image] of cases) {
      const out = await hash(task(bytes, image));
      expect([code, out.outcome]).toEqual([code, await hashMediaOutcome(bytes, image)]);
      expect(out.outcome.ok ? 'ok' : out.outcome.error.code).toBe(code);
      expect(out.timings).toEqual({});
    }
  });

  it('hashes a video through ffmpeg like hashMediaOutcome, timed as video', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hasher-video-'));
    try {
      const file = join(dir, 'clip.mp4');
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=128x96:rate=5', '-t', '3', '-c:v', 'mpeg4', '-q:v', '5', file]);
      const bytes = readFileSync(file);
      const out = await hash(task(bytes));
      expect(out.outcome).toEqual(await hashMediaOutcome(bytes));
      expect(out.outcome.ok && out.outcome.result.kind === 'video' && out.outcome.result.frames.length).toBeGreaterThanOrEqual(2);
      expect(Object.keys(out.timings)).toEqual(['video']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the native versions it hashes with', () => {
    expect(versions()).toEqual({ sharp: expect.stringMatching(/^\d+\.\d+/), libvips: expect.stringMatching(/^\d+\.\d+/), jpeg: expect.stringMatching(/^(libjpeg\d+|sharp)$/) });
  });
});
