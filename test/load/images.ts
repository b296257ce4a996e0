import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pdqVectorsDir } from '@safeguard/testkit';

/** Debian's mate-backgrounds photographs (`apt install mate-backgrounds`). */
export const MATE_BACKGROUNDS_DIR = '/usr/share/backgrounds/mate';

/** One image the harness submits by URI. */
export interface LoadImage {
  /** `photo/<path>` or `vector/<path>`. */
  id: string;
  path: string;
  uri: string;
  sizeBytes: number;
  kind: 'photo' | 'vector';
}

/** Which images a run uses. */
export type ImageSet = 'mixed' | 'photos' | 'vectors';

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile() && /\.(jpe?g|png|webp|gif)$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

/**
 * The images of a run and the directories the hasher must be allowed to read. Photographs come
 * from mate-backgrounds (30 JPEG/PNG files, 0.08–16 MB, up to 5640×3172); "vectors" are the 43
 * small PDQ reference images. `mixed` uses both.
 * @throws when mate-backgrounds is required but not installed.
 */
export function loadImages(set: ImageSet): { images: LoadImage[]; roots: string[] } {
  const images: LoadImage[] = [];
  const roots: string[] = [];
  if (set !== 'vectors') {
    if (!existsSync(MATE_BACKGROUNDS_DIR)) {
      throw new Error(`${MATE_BACKGROUNDS_DIR} is missing: apt-get install mate-backgrounds (or run with --images vectors)`);
    }
    roots.push(MATE_BACKGROUNDS_DIR);
    for (const p of walk(MATE_BACKGROUNDS_DIR)) {
      images.push({ id: `photo/${relative(MATE_BACKGROUNDS_DIR, p)}`, path: p, uri: pathToFileURL(p).href, sizeBytes: statSync(p).size, kind: 'photo' });
    }
  }
  if (set !== 'photos') {
    const dir = join(pdqVectorsDir(), 'images');
    roots.push(dir);
    for (const p of walk(dir)) images.push({ id: `vector/${relative(dir, p)}`, path: p, uri: pathToFileURL(p).href, sizeBytes: statSync(p).size, kind: 'vector' });
  }
  return { images, roots };
}

/** Reference PDQ hashes of the vector images (`expected.csv`: hash, quality, path). */
export function vectorPdq(): Map<string, string> {
  const csv = readFileSync(join(pdqVectorsDir(), 'expected.csv'), 'utf8');
  const out = new Map<string, string>();
  for (const line of csv.split('\n')) {
    const [hash, , path] = line.trim().split(',');
    if (hash && path) out.set(path, hash);
  }
  return out;
}
