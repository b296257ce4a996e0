/**
 * Test media: the benign fixtures (with the reference's expected PDQ) and failure-mode inputs
 * generated from them at test time (nothing hostile is committed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

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

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG of under 100 bytes whose header declares `side`×`side` RGB pixels (a decompression bomb header). */
export function pngBomb(side = 30000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first half of a benign JPEG. */
export function truncatedJpeg(): Buffer {
  const jpg = fixtureBytes('q2821.jpg');
  return jpg.subarray(0, Math.floor(jpg.length / 2));
}

/** A JPEG whose entropy-coded data is overwritten with garbage after the headers. */
export function corruptJpeg(): Buffer {
  const jpg = Buffer.from(fixtureBytes('q2821.jpg'));
  const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
  for (let i = sos + 2; i < jpg.length - 2; i++) jpg[i] = 0xff;
  return jpg;
}

/** Text saved with an image name. */
export function textBytes(): Buffer {
  return Buffer.from('This is not an image, just some text saved with a .jpg name.\n'.repeat(4));
}

/** A tiny SVG (refused format). */
export function svgBytes(): Buffer {
  return Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
}
