import { InvalidInputError } from '../errors';
import { PDQ_BITS, PdqHashInput } from './hash-words';

/** One PDQ search result: the index's id of the entry and its Hamming distance to the query. */
export interface PdqHit {
  /** Id returned by {@link PdqIndex.add} for the matching entry. */
  readonly id: number;
  /** Hamming distance in bits (0..256). */
  readonly distance: number;
}

/**
 * A set of 256-bit PDQ hashes searchable by Hamming radius.
 *
 * Why an interface: the matcher swaps implementations by bank size (multi-index hashing for large
 * banks, brute force as the reference), and one conformance suite holds every implementation to
 * the same contract: `search` returns EVERY live entry within the radius, exactly once, with its
 * exact distance: never an approximation. Ids are small non-negative integers chosen by the
 * index (so it can store entries in dense typed arrays); callers map them to their own entries.
 * A removed id may be handed out again by a later `add`. Removals and additions are visible to
 * the very next `search`.
 */
export interface PdqIndex {
  /** Number of live (added and not removed) entries. */
  readonly size: number;
  /** Adds one hash and returns its id. Equal hashes added twice get two ids. @throws InvalidInputError `pdq_hex_invalid`. */
  add(hash: PdqHashInput): number;
  /** Removes the entry `id`; false when it was not live. Takes effect for the next search. */
  remove(id: number): boolean;
  /** True when `id` is live. */
  has(id: number): boolean;
  /**
   * Every live entry at Hamming distance `<= radius` from `query`, sorted by distance then id.
   * @param radius - inclusive, in bits, integer 0..256 (PDQ's match threshold is 31).
   * @throws InvalidInputError `pdq_hex_invalid`, `radius_invalid`.
   */
  search(query: PdqHashInput, radius: number): PdqHit[];
}

/** Throws InvalidInputError `radius_invalid` unless `radius` is an integer in 0..256. */
export function assertRadius(radius: number): void {
  if (!Number.isInteger(radius) || radius < 0 || radius > PDQ_BITS) {
    throw new InvalidInputError('radius_invalid', 'radius must be an integer from 0 to 256 bits');
  }
}

/** Sorts hits by distance, then id (the order every index returns). */
export function sortHits(hits: PdqHit[]): PdqHit[] {
  return hits.sort((a, b) => a.distance - b.distance || a.id - b.id);
}

/** Grows a typed array to at least `min` elements (×1.5 steps), keeping its content. */
export function growUint32(a: Uint32Array, min: number): Uint32Array {
  if (a.length >= min) return a;
  const next = new Uint32Array(Math.max(min, Math.ceil(a.length * 1.5), 16));
  next.set(a);
  return next;
}

/** Grows a byte array to at least `min` elements (×1.5 steps), keeping its content. */
export function growUint8(a: Uint8Array, min: number): Uint8Array {
  if (a.length >= min) return a;
  const next = new Uint8Array(Math.max(min, Math.ceil(a.length * 1.5), 16));
  next.set(a);
  return next;
}
