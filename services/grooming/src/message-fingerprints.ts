import { createHash } from 'node:crypto';

/**
 * Messages whose fingerprints a conversation keeps (ConversationState.recentMessageFingerprints).
 *
 * Why 32: a repeat comes from a producer upstream that re-publishes what it had published but
 * not committed when it crashed (ingest's Kafka input), or from a platform retrying a request
 * against a new ingest process. Both arrive within seconds of the original, and between the two
 * a conversation gets at most the handful of messages its participants sent meanwhile; 32 covers
 * a burst of that with room to spare, at 4 bytes each (at most 128 bytes per conversation).
 */
export const RECENT_MESSAGES = 32;

/** Bytes per fingerprint. */
export const FINGERPRINT_BYTES = 4;

const EMPTY = Buffer.alloc(0);

/**
 * The fingerprint of a platform message id: the first 4 bytes of SHA-256 over its UTF-8 bytes,
 * as an unsigned 32-bit integer. Stable across builds and processes (it is persisted).
 *
 * A new message is mistaken for a repeat only if its fingerprint equals one of the at most 32
 * kept: a chance of at most 32 / 2^32 (7.5e-9) per message.
 */
export function messageFingerprint(messageId: string): number {
  return createHash('sha256').update(messageId, 'utf8').digest().readUInt32BE(0);
}

/** Whether `fingerprints` (4 bytes each; a trailing partial entry is ignored) holds `fingerprint`. */
export function hasFingerprint(fingerprints: Uint8Array, fingerprint: number): boolean {
  const n = Math.floor(fingerprints.length / FINGERPRINT_BYTES);
  const b0 = fingerprint >>> 24;
  const b1 = (fingerprint >>> 16) & 0xff;
  const b2 = (fingerprint >>> 8) & 0xff;
  const b3 = fingerprint & 0xff;
  for (let i = 0; i < n; i++) {
    const at = i * FINGERPRINT_BYTES;
    if (fingerprints[at] === b0 && fingerprints[at + 1] === b1 && fingerprints[at + 2] === b2 && fingerprints[at + 3] === b3) return true;
  }
  return false;
}

/**
 * A new buffer: `fingerprints` with `fingerprint` appended, keeping only the latest `max`
 * (oldest first; default {@link RECENT_MESSAGES}). A trailing partial entry is dropped.
 */
export function withFingerprint(fingerprints: Uint8Array, fingerprint: number, max: number = RECENT_MESSAGES): Buffer {
  if (max < 1) return EMPTY;
  const whole = Math.floor(fingerprints.length / FINGERPRINT_BYTES);
  const keep = Math.min(whole, max - 1);
  const out = Buffer.allocUnsafe((keep + 1) * FINGERPRINT_BYTES);
  out.set(fingerprints.subarray((whole - keep) * FINGERPRINT_BYTES, whole * FINGERPRINT_BYTES), 0);
  out.writeUInt32BE(fingerprint >>> 0, keep * FINGERPRINT_BYTES);
  return out;
}
