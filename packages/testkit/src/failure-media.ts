/**
 * Media for the failure modes a decoder must refuse cleanly: one generator per mode (truncated,
 * corrupt, decompression bomb, wrong type, refused format), made at test time from benign bytes
 * so nothing hostile is committed. No image library is needed: the bytes are written directly.
 */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { pdqVectorImage } from './pdq-vectors';

/**
 * A benign photograph: the PDQ reference vector `q2821.jpg` (a baseline JPEG of about 19 KiB)
 * from {@link pdqVectorImage}. Throws `vectors_missing` without the vectors.
 */
export function benignJpeg(): Buffer {
  return readFileSync(pdqVectorImage('reg-test-input/labelme-subset/q2821.jpg'));
}

/** The first half of a JPEG (default {@link benignJpeg}): no end-of-image marker. */
export function truncatedJpeg(jpeg: Buffer = benignJpeg()): Buffer {
  return jpeg.subarray(0, Math.floor(jpeg.length / 2));
}

/**
 * A copy of a JPEG (default {@link benignJpeg}) whose entropy-coded data, from the first
 * start-of-scan marker to just before the end-of-image marker, is overwritten with 0xff: the
 * headers parse, the pixels do not.
 */
export function corruptJpeg(jpeg: Buffer = benignJpeg()): Buffer {
  const out = Buffer.from(jpeg);
  const sos = out.indexOf(Buffer.from([0xff, 0xda]));
  for (let i = sos + 2; i < out.length - 2; i++) out[i] = 0xff;
  return out;
}

/**
 * A PNG of under 100 bytes whose header declares `side`×`side` 8-bit RGB pixels (default 30000,
 * 2.7 GB decoded): a decompression bomb header. Its IDAT holds only a few compressed zero rows,
 * so nothing large is allocated unless a decoder trusts the header.
 */
export function pngBomb(side = 30000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Plain text, as a `.jpg` upload sometimes really is. */
export function textBytes(): Buffer {
  return Buffer.from('This is not an image, just some text saved with a .jpg name.\n'.repeat(4));
}

/** A tiny SVG: a format to refuse (scripts and external references are an attack surface). */
export function svgBytes(): Buffer {
  return Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
}

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** CRC-32 (IEEE, as PNG uses), bitwise: a few hundred bytes per fixture. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
