import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TestkitError } from './errors';

/**
 * Directory of Meta's PDQ reference vectors (benign test images, `expected.csv`,
 * `expected-dihedral.csv`): `PDQ_VECTORS_DIR` if set, else the copy committed in the repository
 * at `test/fixtures/pdq-vectors`. Throws `vectors_missing` when neither exists.
 */
export function pdqVectorsDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolve(env.PDQ_VECTORS_DIR ?? join(__dirname, '..', '..', '..', 'test', 'fixtures', 'pdq-vectors'));
  if (!existsSync(join(dir, 'expected.csv'))) {
    throw new TestkitError('vectors_missing', `PDQ reference vectors not found in ${dir}; set PDQ_VECTORS_DIR`);
  }
  return dir;
}

/** Absolute path of one vector image, e.g. `pdqVectorImage('bridge-mods/aaa-orig.jpg')`. */
export function pdqVectorImage(relativePath: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(pdqVectorsDir(env), 'images', relativePath);
}
