import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../testing/run-cli';

const VECTORS = join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'pdq-vectors', 'images');
const BRIDGE_PDQ = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';

const run = (args: string[]) => runCli(['scan', ...args]);

describe('safeguard scan', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-scan-'));
    mkdirSync(join(dir, 'media', 'sub'), { recursive: true });
    copyFileSync(join(VECTORS, 'bridge-mods', 'sharpen-a-lot.jpg'), join(dir, 'media', 'a.jpg'));
    copyFileSync(join(VECTORS, 'reg-test-input', 'dih', 'bridge-2-rotate-90.jpg'), join(dir, 'media', 'sub', 'rotated.jpg'));
    copyFileSync(join(VECTORS, 'misc-images', 'wee.jpg'), join(dir, 'media', 'other.jpg'));
    writeFileSync(join(dir, 'media', 'broken.jpg'), 'not an image');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports matching files (dihedral copies with --dihedral), refused files, and a summary', async () => {
    writeFileSync(join(dir, 'bank.csv'), `entry_id,algorithm,hash\nE-1,pdq,${BRIDGE_PDQ}\n`);
    const { out, err, code } = await run([join(dir, 'media'), '--bank', join(dir, 'bank.csv'), '--dihedral', '--no-progress']);
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { file: string; matches?: Array<{ entryId: string; distance: number }>; error?: { code: string } });
    const byFile = new Map(lines.map((l) => [l.file, l]));
    expect(byFile.get('a.jpg')!.matches![0]!.entryId).toBe('E-1');
    expect(byFile.get('sub/rotated.jpg')!.matches![0]!.entryId).toBe('E-1');
    expect(byFile.get('broken.jpg')!.error!.code).toBe('media_unsupported_type');
    expect(byFile.has('other.jpg')).toBe(false);
    expect(err).toContain('scanned 4 files: 2 matched 1 bank entries, 1 refused');
  });

  it('does not match rotated copies without --dihedral', async () => {
    writeFileSync(join(dir, 'bank.csv'), `entry_id,algorithm,hash\nE-1,pdq,${BRIDGE_PDQ}\n`);
    const { out } = await run([join(dir, 'media'), '--bank', join(dir, 'bank.csv'), '--no-progress']);
    expect(out).not.toContain('sub/rotated.jpg"');
  });

  it('refuses a bank file with bad lines, naming each line, and scans nothing', async () => {
    writeFileSync(join(dir, 'bank.csv'), 'E-1,pdq,zz\nE-2,crc32,00\n');
    const { out, err, code } = await run([join(dir, 'media'), '--bank', join(dir, 'bank.csv'), '--no-progress']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/bank\.csv:1: /);
    expect(err).toMatch(/bank\.csv:2: /);
  });
});
