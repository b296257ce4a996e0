/**
 * @safeguard/hashing: safe decoding and hashing of media.
 *
 * - {@link hashMedia} / {@link hashMediaOutcome} / {@link hashFile}: the entry points (image or
 *   video sniffed from the bytes). `hashMediaOutcome` is the worker-task form: bytes in, plain
 *   data out, refusals returned as `{ ok: false, error: { code } }`.
 * - {@link hashImage}: PDQ (+ dihedral) and MD5/SHA-1/SHA-256 of one image.
 * - {@link decodeImage}: the single decoding helper with all limits (sharp; exact-mode JPEGs
 *   through {@link nativeJpeg}, libjpeg-turbo, when it was built).
 * - {@link hashVideoFile} / {@link hashVideo}: vPDQ-style frame hashes through ffmpeg.
 * - {@link cryptoHashes}: MD5, SHA-1, SHA-256 in one pass.
 */
export { MediaError, ToolUnavailableError } from './errors';
export type { MediaErrorCode } from './errors';
export { sniffMedia } from './sniff';
export type { ImageFormat, VideoFormat, SniffedFormat } from './sniff';
export { decodeImage, toMediaError, configureSharp, fastShrinkFactor, DEFAULT_DECODE_LIMITS, MAX_JPEG_SCANS } from './decode';
export { nativeJpeg, NATIVE_JPEG_PATH } from './native-jpeg';
export type { NativeJpegAddon, NativeJpegDecode, NativeJpegOptions } from './native-jpeg';
export type { DecodeLimits, DecodeOptions, DecodedImage, HashMode } from './decode';
export { cryptoHashes, CryptoHasher } from './crypto-hashes';
export type { CryptoHashes } from './crypto-hashes';
export { hashImage, pdqOfDecoded, pdqOfPixels } from './hash-image';
export type { HashImageOptions, ImageHashResult, PdqImageHash } from './hash-image';
export { hashVideo, hashVideoFile } from './video';
export type { VideoHashOptions, VideoHashResult, VideoFrameHash } from './video';
export { hashMedia, hashMediaOutcome, hashFile } from './hash-media';
export type { HashMediaOptions, MediaHashResult, MediaHashOutcome } from './hash-media';
