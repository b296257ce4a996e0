import { createHash } from 'node:crypto';
import type { MatchDetail as LibraryMatch, QueryHash, SuppressedMatch } from '@safeguard/domain/matching';
import type { ContentHashed, HashValue, MatchDetail, MatchFound } from '@safeguard/schemas';
import { schemaBankKind } from './indicator-mapping';

/** Why a content hash was not looked up (stable codes, metric labels). */
export type SkipReason = 'low_quality' | 'algorithm_unsupported';

/** The library queries of a list of content hashes, and for each query the hash it came from. */
export interface PreparedQueries {
  queries: QueryHash[];
  /** `sources[i]` is the content hash of `queries[i]`. */
  sources: HashValue[];
  /** Hashes with an algorithm the banks cannot hold (e.g. a future `tmk`): not looked up. */
  unsupported: number;
}

const QUERY_ALGORITHM: Readonly<Record<string, QueryHash['algorithm']>> = { pdq: 'pdq', vpdq: 'pdq', md5: 'md5', sha1: 'sha1', sha256: 'sha256' };

/**
 * The queries for a content's hashes: `pdq` (and its dihedral variants) and `vpdq` video frames
 * are looked up as PDQ, `md5`/`sha1`/`sha256` exactly; other algorithms are counted and skipped
 * (a newer hasher must not make the matcher dead-letter everything). Malformed values are left
 * to the library, which refuses them with a reason code.
 */
export function prepareQueries(hashes: readonly HashValue[]): PreparedQueries {
  const out: PreparedQueries = { queries: [], sources: [], unsupported: 0 };
  for (const h of hashes) {
    const algorithm = QUERY_ALGORITHM[h.algorithm];
    if (algorithm === undefined) {
      out.unsupported++;
      continue;
    }
    out.queries.push({ algorithm, value: h.value, ...(h.quality === null ? {} : { quality: h.quality }) });
    out.sources.push(h);
  }
  return out;
}

/**
 * One match per matched entry: the closest query hash (then the first) among those that matched
 * it. A video whose frames match one entry 600 times, or an image matching in several dihedral
 * variants, yields one detail per entry.
 */
export function closestPerEntry<M extends LibraryMatch>(matches: readonly M[]): M[] {
  const best = new Map<string, M>();
  for (const m of matches) {
    const key = `${m.bank}/${m.entryId}`;
    const seen = best.get(key);
    if (!seen || m.distance < seen.distance || (m.distance === seen.distance && m.queryIndex < seen.queryIndex)) best.set(key, m);
  }
  return [...best.values()];
}

/** Distinct suppressed entries (an entry suppressed for several query hashes counts once). */
export function distinctSuppressed(suppressed: readonly SuppressedMatch[]): SuppressedMatch[] {
  return closestPerEntry(suppressed);
}

/** The schema's MatchDetail of a library match, with the content hash it came from. */
export function matchDetailOf(m: LibraryMatch, source: HashValue): MatchDetail {
  return {
    bank: { name: m.bank, kind: schemaBankKind(m.kind), source: m.source, listVersion: m.listVersion },
    entryId: m.entryId,
    entryLabels: [...m.labels],
    algorithm: source.algorithm,
    distance: m.distance,
    threshold: m.threshold,
    queryHash: m.queryHash,
    queryQuality: source.quality,
    queryVariant: source.variant,
    frameTimestampMs: source.frameTimestampMs,
    entryHash: m.entryHash,
  };
}

/** Fixed namespace of matcher result ids (a random value chosen once for this purpose). */
const MATCH_ID_NAMESPACE = Buffer.from('9e1c54a07b2d4f3e8c61d0a2b7e4f935', 'hex');

/**
 * The deterministic id of a result: a name-based UUID (version 5 layout, SHA-1) of the platform,
 * content id, hashed event id and the matched entries (sorted). Redelivery of the same event
 * against the same index yields the same id, so downstream consumers de-duplicate on it.
 */
export function matchIdOf(platformId: string, contentId: string, hashedEventId: string, matches: readonly MatchDetail[]): string {
  const entries = matches.map((m) => `${m.bank.name}/${m.entryId}`).sort();
  const h = createHash('sha1').update(MATCH_ID_NAMESPACE);
  for (const part of [platformId, contentId, hashedEventId, ...entries]) h.update(part, 'utf8').update('\0');
  const digest = h.digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The MatchFound event of a content's matches, or null when no actionable match remains.
 * Allow-bank matches are not carried (they only suppress); `details` must be one per entry.
 * Decision: BLOCK when any block-bank entry matched, else REVIEW.
 */
export function matchFoundOf(event: ContentHashed, details: readonly MatchDetail[], suppressedCount: number, matchedAtMs: number): MatchFound | null {
  const actionable = details.filter((d) => d.bank.kind !== 'ALLOW');
  if (actionable.length === 0) return null;
  return {
    matchId: matchIdOf(event.platformId, event.contentId, event.eventId, actionable),
    hashedEventId: event.eventId,
    platformId: event.platformId,
    contentId: event.contentId,
    uploaderAccountId: event.uploaderAccountId,
    mediaUri: event.mediaUri,
    decision: actionable.some((d) => d.bank.kind === 'BLOCK') ? 'BLOCK' : 'REVIEW',
    matches: actionable,
    suppressedCount,
    uploadContext: event.uploadContext,
    matchedAtMs,
  };
}
