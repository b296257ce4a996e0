// A reference model of what the matcher and the reporter's policy must decide for a content,
// written from their documented rules (README "Banks", reporter policy) and independent of their
// code: brute-force Hamming distance over every bank entry, allow-lists per query hash, the
// closest match per entry, first policy rule wins. The end-to-end test compares the pipeline's
// outputs with it.
import type { ExpectedHashes } from './media-library';

export type BankKind = 'block' | 'review' | 'allow';
export type Algorithm = 'pdq' | 'md5' | 'sha1' | 'sha256';

/** One bank as the test imports it with `safeguard bank import`. */
export interface BankSpec {
  name: string;
  kind: BankKind;
  source: string;
  /** PDQ Hamming threshold, inclusive. */
  threshold: number;
  entries: Array<{ entryId: string; algorithm: Algorithm; hash: string }>;
}

/** One expected match detail (what MatchFound.matches[] must hold). */
export interface ModelMatch {
  bank: string;
  kind: BankKind;
  source: string;
  entryId: string;
  algorithm: Algorithm;
  distance: number;
}

/** What the pipeline must do with one hashed content. */
export interface ModelOutcome {
  /** Actionable matches (allow-bank matches and suppressed ones excluded), sorted by bank then entry. */
  matches: ModelMatch[];
  /** Distinct entries suppressed by an allow-list. */
  suppressed: number;
  decision: 'BLOCK' | 'REVIEW' | 'NONE';
  /** Reporter policy: `report` (direct), `review`, or `none` (no MatchFound at all). */
  policy: 'report' | 'review' | 'none';
}

const POPCOUNT = Array.from({ length: 16 }, (_, i) => (i & 1) + ((i >> 1) & 1) + ((i >> 2) & 1) + ((i >> 3) & 1));

/** Hamming distance of two PDQ hashes in hex (64 digits), one nibble at a time. */
export function hammingHex(a: string, b: string): number {
  if (a.length !== b.length) throw new Error('PDQ hashes of different lengths');
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT[parseInt(a[i]!, 16) ^ parseInt(b[i]!, 16)]!;
  return d;
}

/** Options of {@link modelOutcome}. */
export interface ModelOptions {
  /** Entries not matched (`<bank>/<entryId>`), e.g. disabled after a false positive. */
  disabled?: ReadonlySet<string>;
  /** Bank sources the reporter treats as verified. Default `eu_centre`. */
  verifiedSources?: ReadonlySet<string>;
  /** PDQ quality below which a query is skipped. Default 50. */
  minPdqQuality?: number;
}

/**
 * The matcher's and the policy's decision for a content with `hashes`:
 * - every query hash (PDQ unless its quality is below 50; MD5, SHA-1, SHA-256) against every
 *   active entry of the same algorithm: PDQ within the bank's threshold, the others equal;
 * - a query hash that matches an allow bank has its block/review matches suppressed;
 * - one match per entry (the closest); a MatchFound only when an actionable match remains,
 *   BLOCK when any is on a block bank;
 * - policy: `report` when any match is an exact MD5/SHA-256 hit on a verified block bank, else
 *   `review` (PDQ within 31 at quality ≥ 50, or the policy default).
 */
export function modelOutcome(hashes: ExpectedHashes, banks: readonly BankSpec[], options: ModelOptions = {}): ModelOutcome {
  const disabled = options.disabled ?? new Set<string>();
  const verified = options.verifiedSources ?? new Set(['eu_centre']);
  const queries: Array<{ algorithm: Algorithm; value: string }> = [];
  if (hashes.quality >= (options.minPdqQuality ?? 50)) queries.push({ algorithm: 'pdq', value: hashes.pdq });
  queries.push({ algorithm: 'md5', value: hashes.md5 }, { algorithm: 'sha1', value: hashes.sha1 }, { algorithm: 'sha256', value: hashes.sha256 });

  const best = new Map<string, ModelMatch>();
  const suppressed = new Set<string>();
  for (const q of queries) {
    const found: ModelMatch[] = [];
    for (const bank of banks) {
      for (const e of bank.entries) {
        if (e.algorithm !== q.algorithm || disabled.has(`${bank.name}/${e.entryId}`)) continue;
        const distance = q.algorithm === 'pdq' ? hammingHex(q.value, e.hash) : q.value === e.hash ? 0 : Infinity;
        if (distance > (q.algorithm === 'pdq' ? bank.threshold : 0)) continue;
        found.push({ bank: bank.name, kind: bank.kind, source: bank.source, entryId: e.entryId, algorithm: q.algorithm, distance });
      }
    }
    const allowed = found.some((m) => m.kind === 'allow');
    for (const m of found) {
      const key = `${m.bank}/${m.entryId}`;
      if (m.kind === 'allow') continue;
      if (allowed) {
        suppressed.add(key);
        continue;
      }
      const seen = best.get(key);
      if (!seen || m.distance < seen.distance) best.set(key, m);
    }
  }
  const matches = [...best.values()].sort((a, b) => (a.bank < b.bank ? -1 : a.bank > b.bank ? 1 : a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
  const decision = matches.length === 0 ? 'NONE' : matches.some((m) => m.kind === 'block') ? 'BLOCK' : 'REVIEW';
  const direct = matches.some((m) => m.kind === 'block' && verified.has(m.source) && (m.algorithm === 'sha256' || m.algorithm === 'md5') && m.distance === 0);
  return { matches, suppressed: suppressed.size, decision, policy: matches.length === 0 ? 'none' : direct ? 'report' : 'review' };
}

/** A bank file in the CLI's tsv format (`<entryId>\t<algorithm>\t<hex>`). */
export function bankFileText(bank: BankSpec): string {
  return bank.entries.map((e) => `${e.entryId}\t${e.algorithm}\t${e.hash}\n`).join('');
}
