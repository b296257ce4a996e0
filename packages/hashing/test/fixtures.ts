/**
 * Failure-mode fixtures, generated from benign images at test time (nothing binary is committed
 * beyond the golden images). Shared by the tests and by `bench/hashing/bomb-loop.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** Directory of the small golden images committed with this package. */
export const GOLDEN_DIR = join(__dirname, 'fixtures', 'golden');

/** A benign photograph (reference vector `q2821.jpg`, 256×192 or so). */
export function benignJpeg(): Buffer {
  return readFileSync(join(GOLDEN_DIR, 'q2821.jpg'));
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

/**
 * A tiny PNG (under 100 bytes) whose IHDR declares `side`×`side` RGB pixels: a decompression
 * bomb header. Its IDAT holds only a few compressed zero rows, so nothing large is allocated.
 */
export function pngBomb(side = 30000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first half of a benign JPEG. */
export function truncatedJpeg(): Buffer {
  const jpg = benignJpeg();
  return jpg.subarray(0, Math.floor(jpg.length / 2));
}

/** Plain text (what a `.jpg` upload sometimes really is). */
export function textBytes(): Buffer {
  return Buffer.from('This is not an image, just some text saved with a .jpg name.\n'.repeat(4));
}

/** A tiny SVG: a format we refuse (script and external references are an attack surface). */
export function svgBytes(): Buffer {
  return Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
}

/** Raw RGB pixels of the benign JPEG, decoded by sharp. */
export async function benignRaw(): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  return sharp(benignJpeg(), { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
}

/** The benign picture as a CMYK JPEG (sharp's profile conversion to CMYK). */
export async function cmykJpeg(): Promise<Buffer> {
  const { data, info } = await benignRaw();
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
}

/** The benign picture as a 16-bit RGB PNG (each 8-bit value v stored as v·257, so its high byte is v). */
export async function png16(): Promise<Buffer> {
  const { data, info } = await benignRaw();
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
}

/** A lossless PNG of the benign picture (the reference pixels for the multi-frame fixtures). */
export async function benignPng(): Promise<Buffer> {
  const { data, info } = await benignRaw();
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
}

/**
 * Two frames stacked vertically (`pageHeight` = height of one): the benign picture, then its
 * negative. Written as an animated GIF or a two-page TIFF.
 */
async function twoPages(): Promise<{ stacked: Buffer; width: number; height: number }> {
  const { data, info } = await benignRaw();
  const negative = Buffer.from(data.map((v) => 255 - v));
  return { stacked: Buffer.concat([data, negative]), width: info.width, height: info.height };
}

/** An animated GIF with two different frames. */
export async function animatedGif(): Promise<Buffer> {
  const { stacked, width, height } = await twoPages();
  return sharp(stacked, { raw: { width, height: height * 2, channels: 3, pageHeight: height } }).gif({ loop: 0, delay: [500, 500] }).toBuffer();
}

/** A two-page TIFF (page 1: the picture, page 2: its negative). */
export async function multiPageTiff(): Promise<Buffer> {
  const { stacked, width, height } = await twoPages();
  return sharp(stacked, { raw: { width, height: height * 2, channels: 3, pageHeight: height } }).tiff({ compression: 'lzw' }).toBuffer();
}
