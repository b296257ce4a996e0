// The benign media of the end-to-end workload: the 43 PDQ reference images (photographs and
// renderings shipped with Meta's PDQ), variants made from them here with sharp (resized,
// re-encoded, cropped, flipped, grey), and one file per failure mode (truncated, text named
// .jpg, SVG named .png, empty). Everything is written to a temporary directory; nothing is
// downloaded. Expected hashes (or the expected refusal code) come from @safeguard/hashing, the
// library the hasher runs, so a difference on the topic is the pipeline's, not the algorithm's.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashMediaOutcome } from '@safeguard/hashing';
import sharp from 'sharp';
import { pdqVectorsDir } from '@safeguard/testkit';
import { mapLimit } from '../support/http';

/** Hashes of one decodable image, as the hasher publishes them. */
export interface ExpectedHashes {
  pdq: string;
  quality: number;
  md5: string;
  sha1: string;
  sha256: string;
  width: number;
  height: number;
}

/** One file of the library. */
export interface MediaFile {
  /** Stable id, e.g. `orig/bridge-mods/aaa-orig.jpg` or `var/resize50/misc-images/wee.jpg`. */
  id: string;
  path: string;
  /** `file://` URI of {@link MediaFile.path}. */
  uri: string;
  sizeBytes: number;
  kind: 'original' | 'variant' | 'malformed';
  /** The reference image it is or derives from (relative to `images/`). */
  origin: string;
  /** Hashes, for decodable images. */
  hashes?: ExpectedHashes;
  /** The hasher's refusal code, for files it must dead-letter. */
  refusal?: string;
}

/** Transformations applied to make variants (benign edits a re-upload typically shows). */
export const VARIANT_OPS = ['resize50', 'webp70', 'crop90', 'flip', 'grey'] as const;
export type VariantOp = (typeof VARIANT_OPS)[number];

function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listImages(p));
    else out.push(p);
  }
  return out.sort();
}

async function variant(input: Buffer, op: VariantOp): Promise<{ bytes: Buffer; ext: string }> {
  const image = sharp(input, { failOn: 'none' });
  const { width = 64, height = 64 } = await image.metadata();
  switch (op) {
    case 'resize50':
      return { bytes: await image.resize(Math.max(16, Math.round(width / 2))).jpeg({ quality: 85 }).toBuffer(), ext: 'jpg' };
    case 'webp70':
      return { bytes: await image.webp({ quality: 70, effort: 1 }).toBuffer(), ext: 'webp' };
    case 'crop90': {
      const w = Math.max(16, Math.round(width * 0.9));
      const h = Math.max(16, Math.round(height * 0.9));
      return { bytes: await image.extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h }).jpeg({ quality: 90 }).toBuffer(), ext: 'jpg' };
    }
    case 'flip':
      return { bytes: await image.flop().jpeg({ quality: 90 }).toBuffer(), ext: 'jpg' };
    case 'grey':
      return { bytes: await image.grayscale().png().toBuffer(), ext: 'png' };
  }
}

async function expectOf(path: string): Promise<Pick<MediaFile, 'hashes' | 'refusal'>> {
  const outcome = await hashMediaOutcome(readFileSync(path));
  if (!outcome.ok) return { refusal: outcome.error.code };
  const r = outcome.result;
  if (r.kind !== 'image') throw new Error(`${path}: expected an image`);
  return { hashes: { pdq: r.pdq, quality: r.quality, md5: r.md5, sha1: r.sha1, sha256: r.sha256, width: r.width, height: r.height } };
}

/** Options of {@link buildMediaLibrary}. */
export interface MediaLibraryOptions {
  /** Reference images with variants (every `variantEvery`-th in sorted order). Default 2. */
  variantEvery?: number;
  /** Images hashed at once while computing expectations. Default 2. */
  concurrency?: number;
}

/**
 * Writes the library under `dir` (`orig/`, `var/<op>/`, `bad/`) and computes each file's
 * expected hashes or refusal.
 * @throws when the reference images are missing (`PDQ_VECTORS_DIR`).
 */
export async function buildMediaLibrary(dir: string, options: MediaLibraryOptions = {}): Promise<MediaFile[]> {
  const images = join(pdqVectorsDir(), 'images');
  let sources: string[];
  try {
    sources = listImages(images);
  } catch (err) {
    throw new Error(`the PDQ reference images are missing at ${images} (set PDQ_VECTORS_DIR)`, { cause: err });
  }
  const files: Array<Omit<MediaFile, 'hashes' | 'refusal' | 'sizeBytes' | 'uri'>> = [];
  for (const src of sources) {
    const origin = relative(images, src);
    const path = join(dir, 'orig', origin);
    mkdirSync(join(path, '..'), { recursive: true });
    copyFileSync(src, path);
    files.push({ id: `orig/${origin}`, path, kind: 'original', origin });
  }
  const every = options.variantEvery ?? 2;
  const withVariants = sources.filter((_, i) => i % every === 0);
  await mapLimit(withVariants, 2, async (src) => {
    const origin = relative(images, src);
    const input = readFileSync(src);
    for (const op of VARIANT_OPS) {
      const { bytes, ext } = await variant(input, op);
      const path = join(dir, 'var', op, `${origin.replace(/\.[a-z]+$/i, '')}.${ext}`);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, bytes);
      files.push({ id: `var/${op}/${origin}`, path, kind: 'variant', origin });
    }
  });
  // One file per failure mode the hasher must refuse (and dead-letter with the code).
  const bad = join(dir, 'bad');
  mkdirSync(bad, { recursive: true });
  const bridge = readFileSync(join(images, 'bridge-mods', 'aaa-orig.jpg'));
  const png = readFileSync(join(images, 'misc-images', 'c.png'));
  const malformed: Array<[string, Buffer, string]> = [
    ['truncated-bridge.jpg', bridge.subarray(0, Math.floor(bridge.length * 0.35)), 'bridge-mods/aaa-orig.jpg'],
    ['truncated-c.png', png.subarray(0, Math.floor(png.length * 0.5)), 'misc-images/c.png'],
    ['notes.jpg', Buffer.from('shopping list: milk, bread, apples\n'), 'text'],
    ['drawing.png', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n'), 'svg'],
    ['empty.jpg', Buffer.alloc(0), 'empty'],
  ];
  for (const [name, bytes, origin] of malformed) {
    const path = join(bad, name);
    writeFileSync(path, bytes);
    files.push({ id: `bad/${name}`, path, kind: 'malformed', origin });
  }
  files.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return mapLimit(files, options.concurrency ?? 2, async (f) => {
    const expected = await expectOf(f.path);
    if (f.kind === 'malformed' && !expected.refusal) throw new Error(`${f.id}: expected a refusal, the library hashed it`);
    if (f.kind !== 'malformed' && !expected.hashes) throw new Error(`${f.id}: expected hashes, the library refused it (${expected.refusal})`);
    return { ...f, ...expected, uri: pathToFileURL(f.path).href, sizeBytes: statSync(f.path).size };
  });
}

/** A short label of a file for messages. */
export function fileLabel(f: MediaFile): string {
  return `${f.id} (${basename(f.path)})`;
}
