import { createHash } from 'node:crypto';
import { PDQ_DIHEDRAL_NAMES } from '@safeguard/domain/pdq';
import type { MediaHashResult } from '@safeguard/hashing';
import type { ContentHashed, ContentSubmitted, HashValue, MediaType } from '@safeguard/schemas';

const MEDIA_TYPES: Record<string, MediaType> = { jpeg: 'JPEG', png: 'PNG', webp: 'WEBP', gif: 'GIF', tiff: 'TIFF', avif: 'AVIF' };

/** The schema's media type of a hashing result. */
export function mediaTypeOf(result: MediaHashResult): MediaType {
  return result.kind === 'video' ? 'VIDEO' : (MEDIA_TYPES[result.format] ?? 'OTHER');
}

/** Fixed namespace of the derived event ids (a random UUID chosen once for this purpose). */
const EVENT_ID_NAMESPACE = Buffer.from('5b0c7d3e9a4f4e21b8c6a1d2e3f40516', 'hex');

/**
 * The id of the ContentHashed event for a submission: a name-based UUID (RFC 4122 version 5) of
 * the submission's event id. Why deterministic: delivery is at-least-once, so the same submission
 * may be hashed twice (a crash after publishing, before the commit); both results then carry the
 * same id and consumers de-duplicate on it.
 */
export function hashedEventId(submittedEventId: string): string {
  const digest = createHash('sha1').update(EVENT_ID_NAMESPACE).update(submittedEventId, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The `hashes` of a result: PDQ (then its dihedral variants other than the original, when
 * computed) or one `vpdq` per kept video frame with its timestamp, then MD5, SHA-1, SHA-256 of
 * the original bytes.
 */
export function hashValuesOf(result: MediaHashResult): HashValue[] {
  const out: HashValue[] = [];
  if (result.kind === 'image') {
    out.push({ algorithm: 'pdq', value: result.pdq, quality: result.quality, variant: null, frameTimestampMs: null });
    result.dihedral?.forEach((value, i) => {
      if (i > 0) out.push({ algorithm: 'pdq', value, quality: result.quality, variant: PDQ_DIHEDRAL_NAMES[i] ?? null, frameTimestampMs: null });
    });
  } else {
    for (const f of result.frames) {
      out.push({ algorithm: 'vpdq', value: f.pdq, quality: f.quality, variant: null, frameTimestampMs: Math.round(f.timestampSec * 1000) });
    }
  }
  for (const algorithm of ['md5', 'sha1', 'sha256'] as const) {
    out.push({ algorithm, value: result[algorithm], quality: null, variant: null, frameTimestampMs: null });
  }
  return out;
}

/** Builds the ContentHashed event of `submitted` from a hashing result. */
export function contentHashedOf(
  submitted: ContentSubmitted,
  result: MediaHashResult,
  sizeBytes: number,
  hasherVersion: string,
  hashedAtMs: number,
): ContentHashed {
  return {
    eventId: hashedEventId(submitted.eventId),
    submittedEventId: submitted.eventId,
    platformId: submitted.platformId,
    contentId: submitted.contentId,
    uploaderAccountId: submitted.uploaderAccountId,
    mediaUri: submitted.media.uri ?? null,
    mediaType: mediaTypeOf(result),
    sizeBytes,
    width: result.width,
    height: result.height,
    durationMs: result.kind === 'video' ? Math.round(result.durationSec * 1000) : null,
    hashes: hashValuesOf(result),
    uploadContext: submitted.uploadContext,
    hasherVersion,
    hashedAtMs,
  };
}
