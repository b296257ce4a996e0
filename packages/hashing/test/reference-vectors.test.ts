/**
 * Reference agreement: every image of shared/pdq-vectors must hash to the C++ reference's exact
 * hash, quality and 8 dihedral hashes. Directory: env PDQ_VECTORS_DIR, default the repository's
 * copy in `test/fixtures/pdq-vectors`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pdqDistanceHex } from '@safeguard/domain/pdq';
import { hashImage } from '../src';

const VECTORS_DIR = resolve(process.env.PDQ_VECTORS_DIR ?? join(__dirname, '..', '..', '..', 'test', 'fixtures', 'pdq-vectors'));

function readCsv(name: string): string[][] {
  const path = join(VECTORS_DIR, name);
  if (!existsSync(path)) {
    throw new Error(`PDQ reference vectors not found: ${path} is missing. Set PDQ_VECTORS_DIR to the pdq-vectors directory (default: the repository's test/fixtures/pdq-vectors).`);
  }
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(','));
}

const expected = readCsv('expected.csv').map(([pdq, quality, file]) => ({ pdq, quality: Number(quality), file }));
const dihedral = new Map(readCsv('expected-dihedral.csv').map((r) => [r[9], r.slice(0, 8)]));

describe(`PDQ reference vectors (${VECTORS_DIR})`, () => {
  it('has the 43 vectors and a dihedral line for each', () => {
    expect(expected).toHaveLength(43);
    for (const v of expected) expect(dihedral.get(v.file)).toHaveLength(8);
  });

  // `auto`: JPEGs through the native libjpeg-turbo path when built (the default); `sharp`: everything through sharp.
  describe.each(['auto', 'sharp'] as const)('JPEG decoder %s', (jpegDecoder) => {
    it.each(expected)('$file: bit-identical hash, quality and dihedral hashes', async (v) => {
      const bytes = readFileSync(join(VECTORS_DIR, 'images', v.file));
      const r = await hashImage(bytes, { dihedral: true, jpegDecoder });
      expect({ pdq: r.pdq, quality: r.quality, distance: pdqDistanceHex(r.pdq, v.pdq) }).toEqual({ pdq: v.pdq, quality: v.quality, distance: 0 });
      expect(r.dihedral).toEqual(dihedral.get(v.file));
    });
  });
});
