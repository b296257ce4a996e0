import { PdqHasher, pdqBytesToHex } from '@safeguard/domain/pdq';
import type { PdqResult } from '@safeguard/domain/pdq';
import { cryptoHashes } from './crypto-hashes';
import type { CryptoHashes } from './crypto-hashes';
import { decodeImage } from './decode';
import type { DecodeOptions, DecodedImage, HashMode } from './decode';
import type { ImageFormat } from './sniff';

/** Options of {@link hashImage}: decoding limits and mode, plus what to compute. */
export interface HashImageOptions extends DecodeOptions {
  /** Also return the 8 dihedral PDQ hashes. Default false. */
  dihedral?: boolean;
}

/** PDQ of one image: plain data, safe to return from a worker thread. */
export interface PdqImageHash {
  /** PDQ hash, 64 lowercase hex digits in the reference's layout. */
  pdq: string;
  /** PDQ quality 0..100 (discard for matching when under 50). */
  quality: number;
  /** With `dihedral`: 8 hex hashes in the reference's order orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1. */
  dihedral?: string[];
}

/** Everything computed for one image. */
export interface ImageHashResult extends PdqImageHash, CryptoHashes {
  /** Always `image`. */
  kind: 'image';
  /** Container format that was decoded. */
  format: ImageFormat;
  /** Width of the stored image (first page) in pixels. */
  width: number;
  /** Height of the stored image (first page) in pixels. */
  height: number;
  /** Which PDQ pipeline produced `pdq` (`exact` is bit-identical to the reference). */
  mode: HashMode;
}

let hasher: PdqHasher | undefined;

/**
 * Decodes `bytes` safely and computes PDQ (optionally dihedral), MD5, SHA-1 and SHA-256 of the
 * original bytes. No logging, no global state beyond a reusable PDQ scratch buffer: call it
 * from a worker thread with the bytes of one upload.
 * @throws MediaError (see `decodeImage`) when the media is refused.
 */
export async function hashImage(bytes: Uint8Array, options: HashImageOptions = {}): Promise<ImageHashResult> {
  const decoded = await decodeImage(bytes, options);
  const crypto = cryptoHashes(bytes);
  const pdq = pdqOfDecoded(decoded, options.dihedral ?? false);
  return {
    kind: 'image',
    format: decoded.format,
    width: decoded.width,
    height: decoded.height,
    mode: options.mode ?? 'exact',
    ...pdq,
    ...crypto,
  };
}

/**
 * PDQ of already decoded pixels (see `decodeImage`) as hex, with a shared reusable hasher.
 */
export function pdqOfPixels(pixels: Parameters<PdqHasher['hashPixels']>[0], dihedral: boolean): PdqImageHash {
  hasher ??= new PdqHasher();
  return toHex(hasher.hashPixels(pixels, { dihedral }));
}

/**
 * PDQ of a {@link decodeImage} result as hex: from the decoder's own 64×64 filtered luma when it
 * computed one (the native JPEG path), else from its pixels. Same hash either way.
 */
export function pdqOfDecoded(decoded: Pick<DecodedImage, 'pixels' | 'downsampled'>, dihedral: boolean): PdqImageHash {
  if (!decoded.downsampled) return pdqOfPixels(decoded.pixels, dihedral);
  hasher ??= new PdqHasher();
  return toHex(hasher.hashDownsampled(decoded.downsampled, { dihedral }));
}

function toHex(r: PdqResult): PdqImageHash {
  const out: PdqImageHash = { pdq: pdqBytesToHex(r.hash), quality: r.quality };
  if (r.dihedral) out.dihedral = r.dihedral.map(pdqBytesToHex);
  return out;
}
