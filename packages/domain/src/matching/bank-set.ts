import { InvalidInputError } from '../errors';
import {
  BankEntryUpdate,
  BankEntryUpsert,
  BankKind,
  HashAlgorithm,
  bankEntryKey,
  checkAlgorithm,
  checkHashHex,
  validateBankEntryUpdate,
} from './bank-types';
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

interface Entry {
  entryId: string;
  algorithm: HashAlgorithm;
  hashHex: string;
  labels: readonly string[];
  listVersion: string;
  disabled: boolean;
  quarantined: boolean;
  updatedAtMs: number;
  /** Id in the algorithm's index, or -1 when not indexed (disabled). */
  indexId: number;
}

class Bank {
  kind: BankKind;
  source: string;
  pdqThreshold: number;
  metaUpdatedAtMs: number;
  readonly entries = new Map<string, Entry>();
  readonly pdq: MihPdqIndex;
  readonly pdqOwners: (Entry | undefined)[] = [];
  readonly exact = new Map<CryptoAlgorithm, { index: ExactHashIndex; owners: (Entry | undefined)[] }>();

  constructor(readonly name: string, u: BankEntryUpsert, pdqOptions: MihPdqIndexOptions) {
    this.kind = u.kind;
    this.source = u.source;
    this.pdqThreshold = u.pdqThreshold;
    this.metaUpdatedAtMs = u.updatedAtMs;
    this.pdq = new MihPdqIndex(pdqOptions);
  }

  index(e: Entry): void {
    if (e.algorithm === 'pdq') {
      e.indexId = this.pdq.add(e.hashHex);
      this.pdqOwners[e.indexId] = e;
    } else {
      let ex = this.exact.get(e.algorithm);
      if (!ex) {
        ex = { index: new ExactHashIndex(e.algorithm), owners: [] };
        this.exact.set(e.algorithm, ex);
      }
      e.indexId = ex.index.add(e.hashHex);
      ex.owners[e.indexId] = e;
    }
  }

  unindex(e: Entry): void {
    if (e.indexId < 0) return;
    if (e.algorithm === 'pdq') {
      this.pdq.remove(e.indexId);
      this.pdqOwners[e.indexId] = undefined;
    } else {
      const ex = this.exact.get(e.algorithm);
      ex?.index.remove(e.indexId);
      if (ex) ex.owners[e.indexId] = undefined;
    }
    e.indexId = -1;
  }
}

const KIND_RANK: Record<BankKind, number> = { block: 3, review: 2, allow: 1 };

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
 */
export class BankSet {
  private readonly banks = new Map<string, Bank>();
  private readonly minPdqQuality: number;
  private readonly clock: () => number;
  private readonly flood: FloodDetector | null;
  private readonly pdqOptions: MihPdqIndexOptions;

  /** @param options - see {@link BankSetOptions}. */
  constructor(options: BankSetOptions = {}) {
    this.minPdqQuality = options.minPdqQuality ?? 50;
    this.clock = options.clock ?? Date.now;
    this.flood = options.flood === false ? null : new FloodDetector(options.flood ?? {});
    this.pdqOptions = options.pdqIndex ?? {};
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
      const e = bank?.entries.get(u.entryId);
      if (!bank || !e) return 'not_found';
      if (u.updatedAtMs !== undefined && u.updatedAtMs < e.updatedAtMs) return 'stale';
      bank.unindex(e);
      bank.entries.delete(u.entryId);
      this.flood?.forget(bankEntryKey(u.bank, u.entryId));
      return 'deleted';
    }
    let bank = this.banks.get(u.bank);
    if (!bank) {
      bank = new Bank(u.bank, u, this.pdqOptions);
      this.banks.set(u.bank, bank);
    } else if (u.updatedAtMs >= bank.metaUpdatedAtMs) {
      bank.kind = u.kind;
      bank.source = u.source;
      bank.pdqThreshold = u.pdqThreshold;
      bank.metaUpdatedAtMs = u.updatedAtMs;
    }
    const old = bank.entries.get(u.entryId);
    if (old && u.updatedAtMs < old.updatedAtMs) return 'stale';
    const quarantined = u.quarantined ?? false;
    if (!old) {
      const e: Entry = {
        entryId: u.entryId,
        algorithm: u.algorithm,
        hashHex: u.hashHex,
        labels: [...u.labels],
        listVersion: u.listVersion,
        disabled: u.disabled,
        quarantined,
        updatedAtMs: u.updatedAtMs,
        indexId: -1,
      };
      bank.entries.set(u.entryId, e);
      if (!e.disabled) bank.index(e);
      return 'added';
    }
    const same =
      old.algorithm === u.algorithm &&
      old.hashHex === u.hashHex &&
      old.disabled === u.disabled &&
      old.quarantined === quarantined &&
      old.listVersion === u.listVersion &&
      old.labels.join('\n') === u.labels.join('\n');
    const rehash = old.algorithm !== u.algorithm || old.hashHex !== u.hashHex;
    if (rehash || u.disabled) bank.unindex(old);
    if (old.quarantined && !quarantined) this.flood?.reset(bankEntryKey(u.bank, u.entryId));
    old.algorithm = u.algorithm;
    old.hashHex = u.hashHex;
    old.labels = [...u.labels];
    old.listVersion = u.listVersion;
    old.disabled = u.disabled;
    old.quarantined = quarantined;
    old.updatedAtMs = u.updatedAtMs;
    if (!old.disabled && old.indexId < 0) bank.index(old);
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

  /** The entry's current state, or undefined. */
  getEntry(bank: string, entryId: string): BankEntryState | undefined {
    const e = this.banks.get(bank)?.entries.get(entryId);
    if (!e) return undefined;
    const { indexId: _indexId, ...state } = e;
    return state;
  }

  /** Every entry of `bank` (e.g. as the "current state" for {@link diffBank}). */
  *entries(bank: string): IterableIterator<BankEntryState> {
    const b = this.banks.get(bank);
    if (!b) return;
    for (const e of b.entries.values()) {
      const { indexId: _indexId, ...state } = e;
      yield state;
    }
  }

  /** Figures of every bank, for metrics (`safeguard_matcher_index_entries{algorithm,bank}`). */
  stats(): BankStats[] {
    return [...this.banks.values()].map((b) => {
      const entries: Record<HashAlgorithm, number> = { pdq: 0, md5: 0, sha1: 0, sha256: 0 };
      let disabled = 0;
      let quarantined = 0;
      for (const e of b.entries.values()) {
        entries[e.algorithm]++;
        if (e.disabled) disabled++;
        if (e.quarantined) quarantined++;
      }
      return { bank: b.name, kind: b.kind, source: b.source, pdqThreshold: b.pdqThreshold, entries, disabled, quarantined };
    });
  }

  /**
   * Does up to `budget` units of index compaction across banks (see
   * {@link MihPdqIndex.compactStep}); returns true when nothing is left to do. Call from idle
   * ticks; indexes also compact incrementally on their own as updates arrive.
   */
  maintain(budget = 1 << 16): boolean {
    let done = true;
    for (const b of this.banks.values()) {
      if (b.pdq.needsCompaction) done = b.pdq.compactStep(budget) && !b.pdq.needsCompaction && done;
    }
    return done;
  }

  /** Compacts every bank's PDQ index fully (e.g. once after the initial load from the topic). */
  compactAll(): void {
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
    const skipped: SkippedQuery[] = [];
    const entryOf = new Map<MatchDetail, Entry>();
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
        const add = (e: Entry | undefined, distance: number): void => {
          if (!e) return;
          const d: MatchDetail = {
            bank: bank.name,
            kind: bank.kind,
            source: bank.source,
            entryId: e.entryId,
            labels: e.labels,
            listVersion: e.listVersion,
            algorithm: q.algorithm,
            distance,
            threshold: q.algorithm === 'pdq' ? bank.pdqThreshold : 0,
            queryIndex,
            queryHash: hex,
            ...(q.quality === undefined ? {} : { queryQuality: q.quality }),
            entryHash: e.hashHex,
          };
          found.push(d);
          entryOf.set(d, e);
        };
        if (words) {
          for (const hit of bank.pdq.search(words, bank.pdqThreshold)) add(bank.pdqOwners[hit.id], hit.distance);
        } else {
          const ex = bank.exact.get(q.algorithm as CryptoAlgorithm);
          if (ex) for (const id of ex.index.lookup(hex)) add(ex.owners[id], 0);
        }
      }
    });

    const alerts: FloodAlert[] = [];
    const matches: MatchDetail[] = [];
    const suppressed: SuppressedMatch[] = [];
    // Flood detection on every match of an unquarantined entry (allow-listed ones too: a
    // flooding allow entry would silently suppress real matches).
    for (const d of found) {
      const e = entryOf.get(d) as Entry;
      if (!this.flood || e.quarantined) continue;
      const obs = this.flood.record(bankEntryKey(d.bank, d.entryId), now);
      if (obs.flood) {
        const update = this.quarantineUpdate(d.bank, e, now);
        this.apply(update);
        alerts.push({ bank: d.bank, entryId: d.entryId, windowCount: obs.windowCount, expectedPerWindow: obs.expectedPerWindow, atMs: now, update });
      }
    }
    const allowBy = new Map<number, MatchDetail>();
    for (const d of found) {
      if (d.kind === 'allow' && !(entryOf.get(d) as Entry).quarantined && !allowBy.has(d.queryIndex)) allowBy.set(d.queryIndex, d);
    }
    for (const d of found) {
      const e = entryOf.get(d) as Entry;
      const allow = allowBy.get(d.queryIndex);
      if (e.quarantined) suppressed.push({ ...d, reason: 'quarantined' });
      else if (d.kind !== 'allow' && allow) suppressed.push({ ...d, reason: 'allow_list', suppressedBy: { bank: allow.bank, entryId: allow.entryId } });
      else matches.push(d);
    }
    const order = (a: MatchDetail, b: MatchDetail): number =>
      a.queryIndex - b.queryIndex || (a.bank < b.bank ? -1 : a.bank > b.bank ? 1 : 0) || a.distance - b.distance || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0);
    matches.sort(order);
    suppressed.sort(order);
    let rank = 0;
    for (const d of matches) rank = Math.max(rank, KIND_RANK[d.kind]);
    const decision: MatchDecision = rank === 3 ? 'block' : rank === 2 ? 'review' : rank === 1 ? 'allow' : 'none';
    return { decision, matches, suppressed, skipped, alerts };
  }

  private quarantineUpdate(bank: string, e: Entry, now: number): BankEntryUpsert {
    return this.toUpsert(this.banks.get(bank) as Bank, e, { quarantined: true, updatedAtMs: Math.max(now, e.updatedAtMs) });
  }

  private changeEntry(bank: string, entryId: string, change: { disabled?: boolean; quarantined?: boolean }): BankEntryUpsert | undefined {
    const b = this.banks.get(bank);
    const e = b?.entries.get(entryId);
    if (!b || !e) return undefined;
    return this.toUpsert(b, e, { ...change, updatedAtMs: Math.max(this.clock(), e.updatedAtMs) });
  }

  private toUpsert(b: Bank, e: Entry, change: { disabled?: boolean; quarantined?: boolean; updatedAtMs: number }): BankEntryUpsert {
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
