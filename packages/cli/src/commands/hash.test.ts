import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, runCli } from '../testing/run-cli';

// Hashing and spawning the built bin take a few seconds on a loaded machine.
jest.setTimeout(60_000);

const GOLDEN_DIR = join(__dirname, '..', '..', '..', 'hashing', 'test', 'fixtures', 'golden');
const golden: { file: string; pdq: string; quality: number; dihedral: string[]; md5: string; sha1: string; sha256: string }[] = JSON.parse(
  readFileSync(join(GOLDEN_DIR, 'golden.json'), 'utf8'),
);

async function run(args: string[]): Promise<{ lines: Record<string, unknown>[]; code: number }> {
  const { out, code } = await runCli(args);
  return { lines: jsonLines(out), code };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'safeguard-cli-hash-'));
  writeFileSync(join(dir, 'notes.jpg'), 'just text, named like a picture\n');
  writeFileSync(join(dir, 'empty.png'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safeguard hash', () => {
  it('prints one JSON line per file with PDQ in the reference layout and crypto hashes', async () => {
    const g = golden[0];
    const file = join(GOLDEN_DIR, g.file);
    const { lines, code } = await run(['hash', file]);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({ file, pdq: g.pdq, quality: g.quality, md5: g.md5, sha1: g.sha1, sha256: g.sha256, width: expect.any(Number), height: expect.any(Number) });
  });

  it('adds the 8 dihedral hashes with --dihedral', async () => {
    const { lines } = await run(['hash', '--dihedral', ...golden.map((g) => join(GOLDEN_DIR, g.file))]);
    expect(lines.map((l) => l.dihedral)).toEqual(golden.map((g) => g.dihedral));
  });

  it('reports refused and missing files as errors, keeps going, and exits 0', async () => {
    const files = [join(dir, 'notes.jpg'), join(dir, 'empty.png'), join(dir, 'missing.jpg'), dir, join(GOLDEN_DIR, golden[1].file)];
    const { lines, code } = await run(['hash', ...files]);
    expect(code).toBe(0);
    expect(lines.map((l) => (l.error as { code?: string } | undefined)?.code ?? l.pdq)).toEqual([
      'media_unsupported_type',
      'media_empty',
      'file_not_found',
      'media_unsupported_type',
      golden[1].pdq,
    ]);
    for (const l of lines.slice(0, 4)) expect(typeof (l.error as { message: unknown }).message).toBe('string');
  });

  it('rejects a bad --video-fps value as a usage error', async () => {
    expect((await runCli(['hash', '--video-fps', '0', join(dir, 'notes.jpg')])).commanderError).toMatchObject({ code: 'commander.invalidArgument', exitCode: 1 });
  });

  it('runs as the built bin', () => {
    const bin = join(__dirname, '..', '..', 'bin', 'safeguard.js');
    const g = golden[2];
    const out = execFileSync(process.execPath, [bin, 'hash', join(GOLDEN_DIR, g.file), join(dir, 'notes.jpg')], { encoding: 'utf8' });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].pdq).toBe(g.pdq);
    expect(lines[1].error.code).toBe('media_unsupported_type');
  });
});
