import { createHash } from 'node:crypto';

/**
 * Messages whose fingerprints a conversation keeps (ConversationState.recentMessageFingerprints).
 *
 * Why 64: a repeat comes from ingest re-processing what it had handled but not committed when it
 * crashed (it commits at least every second and after each fetched batch), or from a platform
 * retrying a request against a new ingest process. So a message and its repeat are apart by at
 * most the rest of one batch of ingest's input, and the repeats of one conversation by at most
 * the messages of that conversation one batch holds: a few for live chat, but a platform that
 * sends a conversation's backlog in one go puts all of it there (the fault test sends whole
 * conversations of up to 41 messages in one produce; the corpus's longest has 57). 64 covers
 * that, at 4 bytes each (at most 256 bytes per conversation, only for conversations that long).
 */
export const RECENT_MESSAGES = 64;

/** Bytes per fingerprint. */
export const FINGERPRINT_BYTES = 4;

const EMPTY = Buffer.alloc(0);

/**
 * The fingerprint of a platform message id: the first 4 bytes of SHA-256 over its UTF-8 bytes,
 * as an unsigned 32-bit integer. Stable across builds and processes (it is persisted).
 *
 * A new message is mistaken for a repeat only if its fingerprint equals one of the at most 64
 * kept: a chance of at most 64 / 2^32 (1.5e-8) per message.
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
