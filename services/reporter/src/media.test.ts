import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMediaSource, type MediaSkipReason } from './media';

describe('FileMediaSource', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-media-'));
    writeFileSync(join(dir, 'outside.bin'), 'secret');
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'ok.bin'), 'benign bytes');
    writeFileSync(join(root, 'big.bin'), Buffer.alloc(2048));
    symlinkSync(join(dir, 'outside.bin'), join(root, 'link.bin'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads file:// media inside the root only, within the size limit', async () => {
    const skipped: MediaSkipReason[] = [];
    const media = new FileMediaSource(join(dir, 'root'), 1024, (r) => skipped.push(r));
    expect(Buffer.from((await media.read(`file://${join(dir, 'root', 'ok.bin')}`))!).toString()).toBe('benign bytes');
    expect(await media.read(`file://${join(dir, 'outside.bin')}`)).toBeUndefined();
    expect(await media.read(`file://${join(dir, 'root', '..', 'outside.bin')}`)).toBeUndefined();
    expect(await media.read(`file://${join(dir, 'root', 'link.bin')}`)).toBeUndefined();
    expect(await media.read(`file://${join(dir, 'root', 'big.bin')}`)).toBeUndefined();
    expect(await media.read(`file://${join(dir, 'root', 'missing.bin')}`)).toBeUndefined();
    expect(await media.read('https://cdn.example/x.jpg')).toBeUndefined();
    expect(skipped).toEqual(['outside_root', 'outside_root', 'outside_root', 'too_large', 'missing', 'not_file_uri']);
  });
});
