import { InvalidInputError } from '../errors';
import {
  BankEntryUpdate,
  BankEntryUpsert,
  BankKind,
  HASH_ALGORITHMS,
  HashAlgorithm,
  bankEntryKey,
  checkAlgorithm,
  checkHashHex,
  validateBankEntryUpdate,
} from './bank-types';
import { ChunkedInt32Array, EntryMeta, EntryStore, Interner, ROW_ALGORITHM_SHIFT, ROW_DISABLED, ROW_LIVE, ROW_QUARANTINED, entryMetaKey } from './entry-store';
import { CryptoAlgorithm, ExactHashIndex } from './exact-hash-index';
import { FloodDetector, FloodDetectorOptions } from './flood-detector';
import { parsePdqHex } from './hash-words';
import { MihPdqIndex, MihPdqIndexOptions } from './mih-pdq-index';

/** One hash of the content being checked. */
export interface QueryHash {
  /** Algorithm id. */
  readonly algorithm: HashAlgorithm;
  /** Hash, hex (either case). */
  readonly value: string;
  /** PDQ quality 0..100; PDQ hashes below the minimum quality are not matched. Absent = trusted. */
  readonly quality?: number;
}

/** A match with full provenance: which list, which entry, which query hash, how close. */
export interface MatchDetail {
  /** Bank name. */
  readonly bank: string;
  /** What a match against the bank means. */
  readonly kind: BankKind;
  /** Who supplied the list. */
  readonly source: string;
  /** The supplier's entry id. */
  readonly entryId: string;
  /** Labels of the entry. */
  readonly labels: readonly string[];
  /** Version of the list that last added or changed the entry. */
  readonly listVersion: string;
  /** Algorithm of the matched hash. */
  readonly algorithm: HashAlgorithm;
  /** Hamming distance in bits for PDQ; 0 for exact cryptographic matches. */
  readonly distance: number;
  /** The bank's PDQ threshold in force (0 for cryptographic hashes). */
  readonly threshold: number;
  /** Position of the matching hash in the `match` argument. */
  readonly queryIndex: number;
  /** The matching query hash, lowercase hex. */
  readonly queryHash: string;
  /** Its PDQ quality, when given. */
  readonly queryQuality?: number;
  /** The matched entry's own hash, lowercase hex (differs from `queryHash` for PDQ near matches). */
  readonly entryHash: string;
}

/** Why a match was not reported (stable codes, usable as metric labels). */
export type SuppressionReason = 'allow_list' | 'quarantined';

/** A match that was found but not reported, kept for metrics and audit. */
export interface SuppressedMatch extends MatchDetail {
  /** Why it was suppressed. */
  readonly reason: SuppressionReason;
  /** For `allow_list`: the allow-bank entry that suppressed it. */
  readonly suppressedBy?: { readonly bank: string; readonly entryId: string };
}

/** A query hash that was not matched at all, and why (`low_quality`). */
export interface SkippedQuery {
  /** Position in the `match` argument. */
  readonly queryIndex: number;
  /** Algorithm of the skipped hash. */
  readonly algorithm: HashAlgorithm;
  /** Stable reason code. */
  readonly reason: 'low_quality';
}

/** Raised when an entry starts flooding: it was quarantined; a person must review and clear it. */
export interface FloodAlert {
  /** Bank name. */
  readonly bank: string;
  /** Entry id. */
  readonly entryId: string;
  /** Matches in the sliding window. */
  readonly windowCount: number;
  /** Expected matches per window from the entry's baseline. */
  readonly expectedPerWindow: number;
  /** When detected, epoch ms (the BankSet's clock). */
  readonly atMs: number;
  /** The update that records the quarantine: publish it so every replica applies it. */
  readonly update: BankEntryUpsert;
}

/** Strongest action requested by the reported matches. */
export type MatchDecision = 'block' | 'review' | 'allow' | 'none';

/** Result of {@link BankSet.match}. */
export interface MatchResult {
  /** `block` if any reported match is in a block bank, else `review`, else `allow` if an allow bank matched, else `none`. */
  readonly decision: MatchDecision;
  /** Reported matches (allow-bank matches included), sorted by query, bank, distance, entry id. */
  readonly matches: readonly MatchDetail[];
  /** Matches found but suppressed (allow-listed or quarantined). */
  readonly suppressed: readonly SuppressedMatch[];
  /** Query hashes not matched (e.g. PDQ quality too low). */
  readonly skipped: readonly SkippedQuery[];
  /** Entries quarantined by this call. */
  readonly alerts: readonly FloodAlert[];
}

/** Outcome of applying one update (stable codes, usable as metric labels). */
export type ApplyOutcome = 'added' | 'updated' | 'unchanged' | 'deleted' | 'stale' | 'not_found';

/** Current state of an entry, as {@link BankSet.getEntry} returns it. */
export interface BankEntryState {
  /** Entry id. */
  readonly entryId: string;
  /** Algorithm. */
  readonly algorithm: HashAlgorithm;
  /** Hash, lowercase hex. */
  readonly hashHex: string;
  /** Labels. */
  readonly labels: readonly string[];
  /** List version that last changed it. */
  readonly listVersion: string;
  /** Disabled by a person. */
  readonly disabled: boolean;
  /** Quarantined after a flood. */
  readonly quarantined: boolean;
  /** Last change, epoch ms. */
  readonly updatedAtMs: number;
}

/** Figures of one bank, for metrics and readiness. */
export interface BankStats {
  /** Bank name. */
  readonly bank: string;
  /** Kind. */
  readonly kind: BankKind;
  /** Source. */
  readonly source: string;
  /** PDQ threshold, bits. */
  readonly pdqThreshold: number;
  /** Entries by algorithm (all states). */
  readonly entries: Readonly<Record<HashAlgorithm, number>>;
  /** Disabled entries. */
  readonly disabled: number;
  /** Quarantined entries. */
  readonly quarantined: number;
}

/** Options of {@link BankSet}. */
export interface BankSetOptions {
  /** PDQ query hashes with quality below this are not matched. Default 50 (PDQ's guidance: discard ≤ 49). */
  readonly minPdqQuality?: number;
  /** Clock, epoch ms. Default `Date.now`. Injected for tests and the flood detector. */
  readonly clock?: () => number;
  /** Flood quarantine settings, or false to disable quarantine. Default: {@link FloodDetector} defaults. */
  readonly flood?: FloodDetectorOptions | false;
  /** Options of each bank's PDQ index. */
  readonly pdqIndex?: MihPdqIndexOptions;
}

const KIND_RANK: Record<BankKind, number> = { block: 3, review: 2, allow: 1 };

const ALGORITHM_MASK = 3 << ROW_ALGORITHM_SHIFT;

/** Row flags for an entry's algorithm and states ({@link ROW_LIVE} is added by the store). */
function rowFlags(algorithm: HashAlgorithm, disabled: boolean, quarantined: boolean): number {
  return (HASH_ALGORITHMS.indexOf(algorithm) << ROW_ALGORITHM_SHIFT) | (disabled ? ROW_DISABLED : 0) | (quarantined ? ROW_QUARANTINED : 0);
}

function algorithmOf(flags: number): HashAlgorithm {
  return HASH_ALGORITHMS[(flags & ALGORITHM_MASK) >>> ROW_ALGORITHM_SHIFT];
}

/**
 * One bank: its settings, its entries as rows of an {@link EntryStore}, and its indexes. An
 * entry's hash lives only in its index (PDQ words in the MIH store, digests in the exact
 * index); a disabled entry is in no index, so its hash is kept aside in `unindexedHash`
 * (disabled entries are few: false positives found by people).
 */
class Bank {
  kind: BankKind;
  source: string;
  pdqThreshold: number;
  metaUpdatedAtMs: number;
  readonly store = new EntryStore();
  readonly pdq: MihPdqIndex;
  /** PDQ index id → row (-1: none). */
  readonly pdqRows = new ChunkedInt32Array();
  readonly exact = new Map<CryptoAlgorithm, { index: ExactHashIndex; rows: ChunkedInt32Array }>();
  /** Lowercase hex hash of each row that is in no index (disabled entries). */
  readonly unindexedHash = new Map<number, string>();
  readonly counts: Record<HashAlgorithm, number> = { pdq: 0, md5: 0, sha1: 0, sha256: 0 };
  disabled = 0;
  quarantined = 0;

  constructor(readonly name: string, u: BankEntryUpsert, pdqOptions: MihPdqIndexOptions) {
    this.kind = u.kind;
    this.source = u.source;
    this.pdqThreshold = u.pdqThreshold;
    this.metaUpdatedAtMs = u.updatedAtMs;
    this.pdq = new MihPdqIndex(pdqOptions);
  }

  /** The row's hash, lowercase hex. */
  hashHex(row: number): string {
    const id = this.store.indexId(row);
    if (id < 0) return this.unindexedHash.get(row) as string;
    const algorithm = algorithmOf(this.store.flags(row));
    if (algorithm === 'pdq') return this.pdq.hashHex(id) as string;
    return (this.exact.get(algorithm) as { index: ExactHashIndex }).index.hexOf(id) as string;
  }

  /** Puts the row's hash in its algorithm's index. */
  index(row: number, algorithm: HashAlgorithm, hashHex: string): void {
    let id: number;
    if (algorithm === 'pdq') {
      id = this.pdq.add(hashHex);
      this.pdqRows.set(id, row);
    } else {
      let ex = this.exact.get(algorithm);
      if (!ex) {
        ex = { index: new ExactHashIndex(algorithm), rows: new ChunkedInt32Array() };
        this.exact.set(algorithm, ex);
      }
      id = ex.index.add(hashHex);
      ex.rows.set(id, row);
    }
    this.store.setIndexId(row, id);
    this.unindexedHash.delete(row);
  }

  /** Takes the row's hash out of its index (no-op when not indexed). */
  unindex(row: number): void {
    const id = this.store.indexId(row);
    if (id < 0) return;
    const algorithm = algorithmOf(this.store.flags(row));
    if (algorithm === 'pdq') {
      this.pdq.remove(id);
      this.pdqRows.set(id, -1);
    } else {
      const ex = this.exact.get(algorithm);
      ex?.index.remove(id);
      ex?.rows.set(id, -1);
    }
    this.store.setIndexId(row, -1);
  }

  /** Adds (+1) or removes (-1) a row's flags from the bank's counters. */
  count(flags: number, sign: 1 | -1): void {
    this.counts[algorithmOf(flags)] += sign;
    if (flags & ROW_DISABLED) this.disabled += sign;
    if (flags & ROW_QUARANTINED) this.quarantined += sign;
  }
}

/**
 * The matcher's in-memory state: every bank (indicator list) with its indexes, and the façade
 * that matches content hashes against all of them.
 *
 * Why one object: the rules that decide what a match means cut across banks: allow-lists
 * suppress block/review matches of the same query hash, disabled entries are not matched,
 * quarantined entries match but are suppressed, flood detection quarantines entries. Keeping
 * them here makes them pure and testable; the matcher service only feeds updates in (from the
 * compacted topic, in any order per key: stale updates are ignored by `updatedAtMs`) and
 * publishes results and alerts.
 *
 * Each bank has one {@link MihPdqIndex} (searched at the bank's own threshold) and one
 * {@link ExactHashIndex} per cryptographic algorithm. All changes are incremental and visible to
 * the next `match`; call {@link BankSet.maintain} from idle time to merge index deltas early.
 *
 * Memory: entries are rows of typed-array columns ({@link EntryStore}), not objects: the entry
 * id's UTF-8 bytes, a hash-table slot, an interned (labels, list version) id shared by every
 * entry with the same pair, flags, `updatedAtMs` and the index id (about 50 bytes plus the id's
 * length); hashes live only in the indexes. Labels arrays handed out are frozen and shared.
 * Replaying a large topic at start-up: {@link BankSet.beginBulkLoad}, apply, then
 * {@link BankSet.compactAll}.
 */
export class BankSet {
  private readonly banks = new Map<string, Bank>();
  private readonly metas = new Interner<EntryMeta>();
  private readonly minPdqQuality: number;
  private readonly clock: () => number;
  private readonly flood: FloodDetector | null;
  private readonly pdqOptions: MihPdqIndexOptions;
  private bulkLoading = false;

  /** @param options - see {@link BankSetOptions}. */
  constructor(options: BankSetOptions = {}) {
    this.minPdqQuality = options.minPdqQuality ?? 50;
    this.clock = options.clock ?? Date.now;
    this.flood = options.flood === false ? null : new FloodDetector(options.flood ?? {});
    this.pdqOptions = options.pdqIndex ?? {};
  }

  /**
   * Starts a bulk load, e.g. while a replica replays the compacted topic before it is ready:
   * until {@link compactAll}, PDQ indexes (of existing banks and of banks created meanwhile)
   * only accumulate adds and removes, without automatic compaction, and `compactAll` then
   * builds their tables once. Everything stays exact meanwhile; a PDQ search scans every entry
   * added since (slow on a large bank), so call `compactAll` before serving matches.
   */
  beginBulkLoad(): void {
    this.bulkLoading = true;
    for (const b of this.banks.values()) b.pdq.beginBulkLoad();
  }

  /** True between {@link beginBulkLoad} and the next {@link compactAll}. */
  get isBulkLoading(): boolean {
    return this.bulkLoading;
  }

  /**
   * Applies one update (upsert or tombstone). Bank settings on an upsert (kind, source,
   * threshold) replace the bank's when not older than the last ones applied. An upsert older
   * than the entry's current state is `stale` and ignored.
   * @throws InvalidInputError with the update's reason code (see {@link validateBankEntryUpdate}).
   */
  apply(update: BankEntryUpdate): ApplyOutcome {
    const u = validateBankEntryUpdate(update);
    if (u.deleted) {
      const bank = this.banks.get(u.bank);
      const row = bank ? bank.store.find(u.entryId) : -1;
      if (!bank || row < 0) return 'not_found';
      const store = bank.store;
      if (u.updatedAtMs !== undefined && u.updatedAtMs < store.updatedAtMs(row)) return 'stale';
      bank.unindex(row);
      bank.unindexedHash.delete(row);
      bank.count(store.flags(row), -1);
      this.metas.release(store.meta(row));
      store.delete(row);
      this.flood?.forget(bankEntryKey(u.bank, u.entryId));
      return 'deleted';
    }
    let bank = this.banks.get(u.bank);
    if (!bank) {
      bank = new Bank(u.bank, u, this.pdqOptions);
      if (this.bulkLoading) bank.pdq.beginBulkLoad();
      this.banks.set(u.bank, bank);
    } else if (u.updatedAtMs >= bank.metaUpdatedAtMs) {
      bank.kind = u.kind;
      bank.source = u.source;
      bank.pdqThreshold = u.pdqThreshold;
      bank.metaUpdatedAtMs = u.updatedAtMs;
    }
    const store = bank.store;
    const found = store.find(u.entryId);
    if (found >= 0 && u.updatedAtMs < store.updatedAtMs(found)) return 'stale';
    const quarantined = u.quarantined ?? false;
    const flags = rowFlags(u.algorithm, u.disabled, quarantined);
    const meta = this.metas.acquire(entryMetaKey(u.labels, u.listVersion), () => ({ labels: Object.freeze([...u.labels]), listVersion: u.listVersion }));
    if (found < 0) {
      const row = store.insert(u.entryId);
      store.setFlags(row, flags);
      store.setMeta(row, meta);
      store.setUpdatedAtMs(row, u.updatedAtMs);
      bank.count(flags, 1);
      if (u.disabled) bank.unindexedHash.set(row, u.hashHex);
      else bank.index(row, u.algorithm, u.hashHex);
      return 'added';
    }
    const row = found;
    const oldFlags = store.flags(row) & ~ROW_LIVE;
    const oldMeta = store.meta(row);
    const oldHex = bank.hashHex(row);
    const oldAlgorithm = algorithmOf(oldFlags);
    const same = oldFlags === flags && oldHex === u.hashHex && oldMeta === meta;
    const rehash = oldAlgorithm !== u.algorithm || oldHex !== u.hashHex;
    if (rehash || u.disabled) bank.unindex(row);
    if (oldFlags & ROW_QUARANTINED && !quarantined) this.flood?.reset(bankEntryKey(u.bank, u.entryId));
    bank.count(oldFlags, -1);
    bank.count(flags, 1);
    store.setFlags(row, flags);
    store.setMeta(row, meta);
    this.metas.release(oldMeta);
    store.setUpdatedAtMs(row, u.updatedAtMs);
    if (store.indexId(row) >= 0) {
      // Still indexed under the same hash.
    } else if (u.disabled) {
      bank.unindexedHash.set(row, u.hashHex);
    } else {
      bank.index(row, u.algorithm, u.hashHex);
    }
    return same ? 'unchanged' : 'updated';
  }

  /** Applies updates in order; returns how many had each outcome. */
  applyAll(updates: Iterable<BankEntryUpdate>): Record<ApplyOutcome, number> {
    const counts: Record<ApplyOutcome, number> = { added: 0, updated: 0, unchanged: 0, deleted: 0, stale: 0, not_found: 0 };
    for (const u of updates) counts[this.apply(u)]++;
    return counts;
  }

  /**
   * The update that sets an entry's `disabled` flag (apply it here, or publish it so every replica
   * applies it). Returns undefined when the entry does not exist.
   */
  setDisabled(bank: string, entryId: string, disabled: boolean): BankEntryUpsert | undefined {
    return this.changeEntry(bank, entryId, { disabled });
  }

  /** The update that clears an entry's flood quarantine after a person reviewed it (undefined when absent). */
  clearQuarantine(bank: string, entryId: string): BankEntryUpsert | undefined {
    return this.changeEntry(bank, entryId, { quarantined: false });
  }

  /** The entry's current state, or undefined. Its `labels` array is frozen (shared by entries). */
  getEntry(bank: string, entryId: string): BankEntryState | undefined {
    const b = this.banks.get(bank);
    const row = b ? b.store.find(entryId) : -1;
    if (!b || row < 0) return undefined;
    return this.state(b, row);
  }

  /** Every entry of `bank` (e.g. as the "current state" for {@link diffBank}), in no particular order. */
  *entries(bank: string): IterableIterator<BankEntryState> {
    const b = this.banks.get(bank);
    if (!b) return;
    for (let row = 0; row < b.store.rowLimit; row++) {
      if (b.store.flags(row) & ROW_LIVE) yield this.state(b, row);
    }
  }

  /** Figures of every bank, for metrics (`safeguard_matcher_index_entries{algorithm,bank}`). O(banks). */
  stats(): BankStats[] {
    return [...this.banks.values()].map((b) => ({
      bank: b.name,
      kind: b.kind,
      source: b.source,
      pdqThreshold: b.pdqThreshold,
      entries: { ...b.counts },
      disabled: b.disabled,
      quarantined: b.quarantined,
    }));
  }

  /**
   * Does up to `budget` units of index compaction across banks (see
   * {@link MihPdqIndex.compactStep}); returns true when nothing is left to do. Call from idle
   * ticks; indexes also compact incrementally on their own as updates arrive. Does nothing
   * during a bulk load.
   */
  maintain(budget = 1 << 16): boolean {
    let done = true;
    for (const b of this.banks.values()) {
      if (b.pdq.needsCompaction) done = b.pdq.compactStep(budget) && !b.pdq.needsCompaction && done;
    }
    return done;
  }

  /**
   * Compacts every bank's PDQ index fully (e.g. once after the initial load from the topic);
   * ends a bulk load ({@link beginBulkLoad}).
   */
  compactAll(): void {
    this.bulkLoading = false;
    for (const b of this.banks.values()) b.pdq.compact();
  }

  /**
   * Matches the hashes of one piece of content against every bank.
   *
   * - PDQ hashes with `quality` below `minPdqQuality` are skipped (`low_quality`).
   * - PDQ: every entry within the bank's threshold; MD5/SHA-1/SHA-256: equal digests.
   * - Disabled entries are not matched; quarantined entries are suppressed (`quarantined`).
   * - A query hash that matches an allow bank has its block/review matches suppressed
   *   (`allow_list`); the allow matches are reported.
   * - Each match of an unquarantined entry feeds the flood detector; an entry that floods is
   *   quarantined now (this and later matches suppressed) and an alert is returned.
   *
   * @throws InvalidInputError `algorithm_invalid`, `hash_length_invalid`, `hash_charset_invalid`
   *   for a malformed query hash (dead-letter the event).
   */
  match(queries: readonly QueryHash[]): MatchResult {
    const now = this.clock();
    const found: MatchDetail[] = [];
    const foundBank: Bank[] = [];
    const foundRow: number[] = [];
    const skipped: SkippedQuery[] = [];
    queries.forEach((q, queryIndex) => {
      const bad = checkAlgorithm(q.algorithm) ?? checkHashHex(q.algorithm, q.value);
      if (bad) throw new InvalidInputError(bad, `query hash ${queryIndex} rejected: ${bad}`);
      if (q.algorithm === 'pdq' && q.quality !== undefined && q.quality < this.minPdqQuality) {
        skipped.push({ queryIndex, algorithm: q.algorithm, reason: 'low_quality' });
        return;
      }
      const hex = q.value.toLowerCase();
      const words = q.algorithm === 'pdq' ? parsePdqHex(hex) : null;
      for (const bank of this.banks.values()) {
        const add = (row: number, distance: number, entryHash: string): void => {
          if (row < 0) return;
          const meta = this.metas.get(bank.store.meta(row));
          found.push({
            bank: bank.name,
            kind: bank.kind,
            source: bank.source,
            entryId: bank.store.entryId(row),
            labels: meta.labels,
            listVersion: meta.listVersion,
            algorithm: q.algorithm,
            distance,
            threshold: q.algorithm === 'pdq' ? bank.pdqThreshold : 0,
            queryIndex,
            queryHash: hex,
            ...(q.quality === undefined ? {} : { queryQuality: q.quality }),
            entryHash,
          });
          foundBank.push(bank);
          foundRow.push(row);
        };
        if (words) {
          for (const hit of bank.pdq.search(words, bank.pdqThreshold)) add(bank.pdqRows.get(hit.id), hit.distance, bank.pdq.hashHex(hit.id) as string);
        } else {
          const ex = bank.exact.get(q.algorithm as CryptoAlgorithm);
          if (ex) for (const id of ex.index.lookup(hex)) add(ex.rows.get(id), 0, ex.index.hexOf(id) as string);
        }
      }
    });

    const isQuarantined = (i: number): boolean => (foundBank[i].store.flags(foundRow[i]) & ROW_QUARANTINED) !== 0;
    const alerts: FloodAlert[] = [];
    const matches: MatchDetail[] = [];
    const suppressed: SuppressedMatch[] = [];
    // Flood detection on every match of an unquarantined entry (allow-listed ones too: a
    // flooding allow entry would silently suppress real matches).
    found.forEach((d, i) => {
      if (!this.flood || isQuarantined(i)) return;
      const obs = this.flood.record(bankEntryKey(d.bank, d.entryId), now);
      if (obs.flood) {
        const update = this.toUpsert(foundBank[i], foundRow[i], { quarantined: true, updatedAtMs: Math.max(now, foundBank[i].store.updatedAtMs(foundRow[i])) });
        this.apply(update);
        alerts.push({ bank: d.bank, entryId: d.entryId, windowCount: obs.windowCount, expectedPerWindow: obs.expectedPerWindow, atMs: now, update });
      }
    });
    const allowBy = new Map<number, MatchDetail>();
    found.forEach((d, i) => {
      if (d.kind === 'allow' && !isQuarantined(i) && !allowBy.has(d.queryIndex)) allowBy.set(d.queryIndex, d);
    });
    found.forEach((d, i) => {
      const allow = allowBy.get(d.queryIndex);
      if (isQuarantined(i)) suppressed.push({ ...d, reason: 'quarantined' });
      else if (d.kind !== 'allow' && allow) suppressed.push({ ...d, reason: 'allow_list', suppressedBy: { bank: allow.bank, entryId: allow.entryId } });
      else matches.push(d);
    });
    const order = (a: MatchDetail, b: MatchDetail): number =>
      a.queryIndex - b.queryIndex || (a.bank < b.bank ? -1 : a.bank > b.bank ? 1 : 0) || a.distance - b.distance || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0);
    matches.sort(order);
    suppressed.sort(order);
    let rank = 0;
    for (const d of matches) rank = Math.max(rank, KIND_RANK[d.kind]);
    const decision: MatchDecision = rank === 3 ? 'block' : rank === 2 ? 'review' : rank === 1 ? 'allow' : 'none';
    return { decision, matches, suppressed, skipped, alerts };
  }

  private state(b: Bank, row: number): BankEntryState {
    const store = b.store;
    const flags = store.flags(row);
    const meta = this.metas.get(store.meta(row));
    return {
      entryId: store.entryId(row),
      algorithm: algorithmOf(flags),
      hashHex: b.hashHex(row),
      labels: meta.labels,
      listVersion: meta.listVersion,
      disabled: (flags & ROW_DISABLED) !== 0,
      quarantined: (flags & ROW_QUARANTINED) !== 0,
      updatedAtMs: store.updatedAtMs(row),
    };
  }

  private changeEntry(bank: string, entryId: string, change: { disabled?: boolean; quarantined?: boolean }): BankEntryUpsert | undefined {
    const b = this.banks.get(bank);
    const row = b ? b.store.find(entryId) : -1;
    if (!b || row < 0) return undefined;
    return this.toUpsert(b, row, { ...change, updatedAtMs: Math.max(this.clock(), b.store.updatedAtMs(row)) });
  }

  private toUpsert(b: Bank, row: number, change: { disabled?: boolean; quarantined?: boolean; updatedAtMs: number }): BankEntryUpsert {
    const e = this.state(b, row);
    return {
      deleted: false,
      bank: b.name,
      kind: b.kind,
      source: b.source,
      pdqThreshold: b.pdqThreshold,
      entryId: e.entryId,
      algorithm: e.algorithm,
      hashHex: e.hashHex,
      labels: e.labels,
      listVersion: e.listVersion,
      disabled: change.disabled ?? e.disabled,
      quarantined: change.quarantined ?? e.quarantined,
      updatedAtMs: change.updatedAtMs,
    };
  }
}
