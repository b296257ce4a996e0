/**
 * Format fixtures, generated from benign images at test time (nothing binary is committed beyond
 * the golden images). The failure-mode media (truncated, bomb, text, SVG) come from
 * `@safeguard/testkit`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** Directory of the small golden images committed with this package. */
export const GOLDEN_DIR = join(__dirname, 'fixtures', 'golden');

/** A benign photograph (reference vector `q2821.jpg`, 256×192 or so). */
export function benignJpeg(): Buffer {
  return readFileSync(join(GOLDEN_DIR, 'q2821.jpg'));
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
