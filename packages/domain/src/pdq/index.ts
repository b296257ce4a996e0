/**
 * `@safeguard/domain/pdq`: PDQ perceptual hashing, pure (no decoding, no I/O).
 *
 * - {@link PdqHasher} / {@link pdqHashPixels}: hash decoded 8-bit pixels, bit-compatible with
 *   Meta's reference `pdq-photo-hasher` given the same decoded pixels; optional 8 dihedral hashes.
 * - Layout helpers: hex ⇄ {@link PdqHash} (32 bytes, hex order) ⇄ {@link PdqWords} (8 × u32).
 * - Distances: {@link pdqDistance}, {@link pdqDistanceWords} (packed arrays), {@link pdqDistanceHex}.
 */
export * from './layout';
export * from './distance';
export { PDQ_DIHEDRAL_NAMES, DCT_MATRIX, dct64To16, dihedralTransform } from './dct';
export type { PdqDihedralName } from './dct';
export { jaroszWindowSize, jaroszDownsample64, JaroszScratch } from './jarosz';
export {
  PdqHasher,
  pdqHashPixels,
  pdqHashLuma,
  PDQ_PRESIZE,
  PDQ_MIN_DIMENSION,
  PDQ_MATCH_THRESHOLD,
  PDQ_MIN_QUALITY,
} from './hasher';
export type { PixelImage, PixelModel, PdqOptions, PdqResult } from './hasher';
