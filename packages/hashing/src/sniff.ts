/**
 * Container sniffing from the first bytes.
 *
 * Why before sharp: it refuses SVG, PDF, text and other formats with a clear code without
 * handing them to a decoder with a large attack surface, and it routes videos to ffmpeg.
 */

/** Image formats accepted for PDQ hashing. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';
/** Video containers accepted for frame hashing. */
export type VideoFormat = 'mp4' | 'mov' | 'webm' | 'matroska' | 'avi' | 'mpegts';
/** What {@link sniffMedia} found: an accepted image or video format, or `unknown`. */
export type SniffedFormat = { kind: 'image'; format: ImageFormat } | { kind: 'video'; format: VideoFormat } | { kind: 'unknown' };

const ascii = (b: Uint8Array, start: number, text: string): boolean => {
  if (b.length < start + text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[start + i] !== text.charCodeAt(i)) return false;
  return true;
};

const AVIF_BRANDS = new Set(['avif', 'avis']);
const MOV_BRANDS = new Set(['qt  ']);
/** HEIF still-image brands (HEIC): not decodable by sharp's prebuilt libvips (no HEVC), so unsupported. */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/**
 * Identifies the container from its magic bytes (needs the first 32 bytes or so).
 * ISO-BMFF files (`ftyp`) are AVIF when a brand is `avif`/`avis`, unknown (refused) when the major
 * brand is a HEIF still-image brand (HEIC), QuickTime for `qt  `, and MP4 otherwise.
 */
export function sniffMedia(b: Uint8Array): SniffedFormat {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'image', format: 'jpeg' };
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\x1a\n')) return { kind: 'image', format: 'png' };
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return { kind: 'image', format: 'gif' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return { kind: 'image', format: 'webp' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'AVI ')) return { kind: 'video', format: 'avi' };
  if (ascii(b, 0, 'II*\0') || ascii(b, 0, 'MM\0*')) return { kind: 'image', format: 'tiff' };
  if (ascii(b, 4, 'ftyp') && b.length >= 12) {
    const size = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    const end = Math.min(b.length, Math.max(16, Math.min(size, 256)));
    const brands: string[] = [String.fromCharCode(b[8], b[9], b[10], b[11])];
    for (let p = 16; p + 4 <= end; p += 4) brands.push(String.fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3]));
    if (brands.some((x) => AVIF_BRANDS.has(x))) return { kind: 'image', format: 'avif' };
    if (HEIF_BRANDS.has(brands[0])) return { kind: 'unknown' };
    if (brands.some((x) => MOV_BRANDS.has(x))) return { kind: 'video', format: 'mov' };
    return { kind: 'video', format: 'mp4' };
  }
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    return ascii(b, 0, '\x1a\x45\xdf\xa3') && findAscii(b, 'webm', 64) ? { kind: 'video', format: 'webm' } : { kind: 'video', format: 'matroska' };
  }
  if (b.length >= 189 && b[0] === 0x47 && b[188] === 0x47) return { kind: 'video', format: 'mpegts' };
  return { kind: 'unknown' };
}

function findAscii(b: Uint8Array, text: string, limit: number): boolean {
  const end = Math.min(b.length - text.length, limit);
  for (let i = 0; i <= end; i++) if (ascii(b, i, text)) return true;
  return false;
}
