/**
 * Test media: the benign fixtures with the reference's expected PDQ. The failure-mode inputs
 * (truncated, corrupt, bomb, text, SVG) come from `@safeguard/testkit`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Directory of the committed fixtures. */
export const FIXTURES = join(__dirname, 'fixtures');

/** One benign fixture with the reference's PDQ. */
export interface Fixture {
  file: string;
  path: string;
  pdq: string;
  quality: number;
}

/** Every fixture of `expected.csv`. */
export function fixtures(): Fixture[] {
  return readFileSync(join(FIXTURES, 'expected.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [pdq, quality, file] = line.split(',');
      return { file: file!, path: join(FIXTURES, file!), pdq: pdq!, quality: Number(quality) };
    });
}

/** The 8 reference dihedral hashes of a fixture (orig, rot90, ..., flipminus1). */
export function dihedralOf(file: string): string[] {
  const line = readFileSync(join(FIXTURES, 'expected-dihedral.csv'), 'utf8')
    .trim()
    .split('\n')
    .find((l) => l.endsWith(`,${file}`));
  if (!line) throw new Error(`no dihedral reference for ${file}`);
  return line.split(',').slice(0, 8);
}

/** The bytes of a fixture. */
export function fixtureBytes(file: string): Buffer {
  return readFileSync(join(FIXTURES, file));
}
