import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashFile, hashImage } from '../src';
import { GOLDEN_DIR } from './fixtures';

interface Golden {
  file: string;
  pdq: string;
  quality: number;
  dihedral: string[];
  md5: string;
  sha1: string;
  sha256: string;
}

const golden: Golden[] = JSON.parse(readFileSync(join(GOLDEN_DIR, 'golden.json'), 'utf8'));

describe('golden images (committed fixtures)', () => {
  it('has fixtures', () => expect(golden.length).toBeGreaterThanOrEqual(5));

  it.each(golden)('$file hashes to its golden PDQ, dihedral and crypto hashes', async (g) => {
    const r = await hashImage(readFileSync(join(GOLDEN_DIR, g.file)), { dihedral: true });
    expect(r).toMatchObject({ kind: 'image', format: 'jpeg', pdq: g.pdq, quality: g.quality, dihedral: g.dihedral, md5: g.md5, sha1: g.sha1, sha256: g.sha256, mode: 'exact' });
  });

  it('gives the same result from a file path', async () => {
    const g = golden[0];
    const r = await hashFile(join(GOLDEN_DIR, g.file));
    expect(r).toMatchObject({ pdq: g.pdq, quality: g.quality, sha256: g.sha256 });
  });
});
