import { deterministicId } from './canonical';
import type { BankKind, BankRef, GroomingAlertEvent, GroomingStage, MatchEvent, ReportingEvent, UploadContext } from './events';
import type { IndustryClassification, PolicyOutcome } from './policy';

/**
 * Case lifecycle. `claimed` is a `pending_review` or `escalated` case under a reviewer's lease;
 * `escalated` is urgent and waits for an admin; `confirmed` waits for delivery; `reported`,
 * `false_positive` and `dropped` are final until retention turns every case into `purged`.
 */
export type CaseState =
  | 'pending_review'
  | 'claimed'
  | 'confirmed'
  | 'false_positive'
  | 'escalated'
  | 'reported'
  | 'dropped'
  | 'purged';

/** Art. 13(e) category of a report. */
export type ReportCategory = 'known_material' | 'new_material' | 'solicitation';

/** One match of a content item against one indicator. */
export interface MatchRecord {
  matchId: string;
  algorithm: string;
  distance: number;
  queryHash: string;
  quality: number;
  bank: BankRef;
  matchedAtMs: number;
  /** The matched entry's own hash (hex, lowercase), when known. */
  entryHash?: string;
}

/** A content item of a match case: one per content id, however often it matched. */
export interface MatchItem {
  type: 'match';
  contentId: string;
  mediaUri?: string;
  firstSeenAtMs: number;
  /** Distinct matches (by match id), in arrival order. */
  matches: MatchRecord[];
  /** Events for this content that added nothing new (replays, re-deliveries). */
  duplicateCount: number;
  /**
   * Upload facts the platform recorded for this content (IP address, country, upload time,
   * public availability): Art. 13(f) and NCMEC's upload IP event. Personal data: never logged or
   * audited; retention removes it with the item.
   */
  upload?: UploadContext;
}

/** A grooming alert item: one per alert id. */
export interface GroomingItem {
  type: 'grooming';
  alert: GroomingAlertEvent;
  duplicateCount: number;
}

/** A case item. */
export type CaseItem = MatchItem | GroomingItem;

/** A reviewer's lease on a case. Expired leases count as released. */
export interface CaseClaim {
  reviewerId: string;
  role: ReviewerRole;
  claimedAtMs: number;
  leaseExpiresAtMs: number;
  /** State the case returns to when the lease is released or expires. */
  claimedFrom: 'pending_review' | 'escalated';
}

/** Review roles: `reviewer` decides ordinary cases; `admin` also decides escalated cases, complaints and bank-entry disables. */
export type ReviewerRole = 'reviewer' | 'admin';

/**
 * What produced a detection, kept after retention purges the evidence so that error rates
 * (Art. 83) can still be attributed: bank entry + algorithm, or the grooming detector stage.
 * Holds no personal data.
 */
export type DetectorRef =
  | {
      kind: 'bank';
      bankName: string;
      bankSource: string;
      entryId: string;
      listVersion: string;
      algorithm: string;
      /** Kind of the bank (absent in records written before it was kept). */
      bankKind?: BankKind;
      /** The entry's own hash (hex, lowercase), when known (see {@link entryHashOf}). */
      entryHash?: string;
    }
  | { kind: 'grooming'; stage: GroomingStage };

/** A case: related detections for one uploader account or one conversation within a window. */
export interface Case {
  caseId: string;
  /** Optimistic-concurrency version, incremented by every store write. */
  version: number;
  kind: 'match' | 'grooming';
  platformId: string;
  /** Uploader account id (match cases) or conversation id (grooming cases). Removed on purge. */
  subjectId: string;
  openedAtMs: number;
  updatedAtMs: number;
  /** New detections for the same subject join this case until this instant. */
  windowEndsAtMs: number;
  state: CaseState;
  /** Evidence (ids, hashes, references). Emptied on purge. */
  items: CaseItem[];
  /** Detectors involved; survives purge. */
  detectors: DetectorRef[];
  policy?: PolicyOutcome;
  claim?: CaseClaim;
  urgent: boolean;
  category?: ReportCategory;
  industryClassification?: IndustryClassification;
  /** When the first final decision (confirm, false positive, drop) was taken. */
  decidedAtMs?: number;
  /** When every destination acknowledged its report. */
  reportedAtMs?: number;
  /** Art. 13(i): whether the platform removed the material or disabled access. */
  removal?: { removed: boolean; atMs?: number };
  /** An authority asked to delay user notification until this instant (Art. 13/transparency). */
  notificationHoldUntilMs?: number;
  /** Set when an upheld complaint reversed the decision. */
  reversedAtMs?: number;
  purgedAtMs?: number;
}

/** States in which a case still accepts new detections for its subject. */
export const OPEN_STATES: readonly CaseState[] = ['pending_review', 'claimed', 'escalated'];

/** Default grouping window: detections for the same subject within 24 h form one case. */
export const DEFAULT_CASE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Key that groups events into cases: platform + uploader account, or platform + conversation. */
export function subjectKeyOf(ev: ReportingEvent): { kind: Case['kind']; platformId: string; subjectId: string } {
  return ev.type === 'match'
    ? { kind: 'match', platformId: ev.event.platformId, subjectId: ev.event.uploaderAccountId }
    : { kind: 'grooming', platformId: ev.event.platformId, subjectId: ev.event.conversationId };
}

/** Time of an event in ms. */
export function eventTimeMs(ev: ReportingEvent): number {
  return ev.type === 'match' ? ev.event.matchedAtMs : ev.event.raisedAtMs;
}

/** Id of an event (match id or alert id). */
export function eventIdOf(ev: ReportingEvent): string {
  return ev.type === 'match' ? ev.event.matchId : ev.event.alertId;
}

/** Key of the case item an event belongs to: content id or alert id. */
export function itemKeyOf(ev: ReportingEvent): string {
  return ev.type === 'match' ? ev.event.contentId : ev.event.alertId;
}

/** Key of a case item. */
export function caseItemKey(item: CaseItem): string {
  return item.type === 'match' ? item.contentId : item.alert.alertId;
}

function matchRecord(e: MatchEvent): MatchRecord {
  return {
    matchId: e.matchId,
    algorithm: e.algorithm,
    distance: e.distance,
    queryHash: e.queryHash,
    quality: e.quality,
    bank: { ...e.bank },
    matchedAtMs: e.matchedAtMs,
    ...(e.entryHash ? { entryHash: e.entryHash.toLowerCase() } : {}),
  };
}

/**
 * The matched entry's own hash (lowercase hex): the one the matcher reported, else the query
 * hash when the distance is 0 (exact cryptographic matches and identical perceptual hashes have
 * equal hashes); undefined when it cannot be known.
 */
export function entryHashOf(m: Pick<MatchRecord, 'entryHash' | 'distance' | 'queryHash'>): string | undefined {
  if (m.entryHash) return m.entryHash.toLowerCase();
  return m.distance === 0 ? m.queryHash.toLowerCase() : undefined;
}

/** The event's upload facts, when it carries any. */
function uploadOf(e: MatchEvent): UploadContext | undefined {
  return e.upload && Object.values(e.upload).some((v) => v !== undefined) ? { ...e.upload } : undefined;
}

function itemFromEvent(ev: ReportingEvent): CaseItem {
  if (ev.type === 'grooming') return { type: 'grooming', alert: structuredClone(ev.event), duplicateCount: 0 };
  const upload = uploadOf(ev.event);
  return {
    type: 'match',
    contentId: ev.event.contentId,
    ...(ev.event.mediaUri ? { mediaUri: ev.event.mediaUri } : {}),
    firstSeenAtMs: ev.event.matchedAtMs,
    matches: [matchRecord(ev.event)],
    duplicateCount: 0,
    ...(upload ? { upload } : {}),
  };
}

/** Detectors referenced by a list of items, de-duplicated, in a stable order. */
export function detectorsOf(items: readonly CaseItem[]): DetectorRef[] {
  const out = new Map<string, DetectorRef>();
  for (const item of items) {
    if (item.type === 'grooming') {
      out.set(`g|${item.alert.stage}`, { kind: 'grooming', stage: item.alert.stage });
      continue;
    }
    for (const m of item.matches) {
      const entryHash = entryHashOf(m);
      const d: DetectorRef = {
        kind: 'bank',
        bankName: m.bank.name,
        bankSource: m.bank.source,
        entryId: m.bank.entryId,
        listVersion: m.bank.listVersion,
        algorithm: m.algorithm,
        bankKind: m.bank.kind,
        ...(entryHash ? { entryHash } : {}),
      };
      out.set(`b|${d.bankName}|${d.entryId}|${d.algorithm}`, d);
    }
  }
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}

/**
 * A new case for the first event of an incident. The case id is derived from the subject and
 * the first event's id, so replaying the same stream after a restart yields the same case.
 * Policy is not applied here (see `evaluatePolicy`).
 */
export function openCase(ev: ReportingEvent, nowMs: number, windowMs: number = DEFAULT_CASE_WINDOW_MS): Case {
  const subject = subjectKeyOf(ev);
  const at = eventTimeMs(ev);
  const items = [itemFromEvent(ev)];
  return {
    caseId: deterministicId('case', [subject.kind, subject.platformId, subject.subjectId, eventIdOf(ev)]),
    version: 0,
    kind: subject.kind,
    platformId: subject.platformId,
    subjectId: subject.subjectId,
    openedAtMs: nowMs,
    updatedAtMs: nowMs,
    windowEndsAtMs: at + windowMs,
    state: 'pending_review',
    items,
    detectors: detectorsOf(items),
    urgent: false,
  };
}

/** True when `c` still accepts a detection for its subject happening at `atMs`. */
export function acceptsEvent(c: Case, ev: ReportingEvent): boolean {
  const s = subjectKeyOf(ev);
  return (
    OPEN_STATES.includes(c.state) &&
    c.kind === s.kind &&
    c.platformId === s.platformId &&
    c.subjectId === s.subjectId &&
    eventTimeMs(ev) < c.windowEndsAtMs
  );
}

/** Result of merging an event into a case. */
export interface MergeResult {
  case: Case;
  /** True when the event added nothing (same match id or alert id already present). */
  duplicate: boolean;
  /** True when the event created a new item (new content or new alert). */
  newItem: boolean;
}

/**
 * Merges an event into a case (pure; returns a new object). The same content matched again is
 * the same item: a new match id (e.g. another bank) is appended to that item, a known match id
 * only counts as a duplicate. Works on closed cases too, so late duplicates of reported
 * content are recorded without opening a second case.
 */
export function mergeEvent(c: Case, ev: ReportingEvent, nowMs: number): MergeResult {
  const next = structuredClone(c);
  const key = itemKeyOf(ev);
  const existing = next.items.find((it) => caseItemKey(it) === key);
  if (!existing) {
    next.items.push(itemFromEvent(ev));
    next.detectors = detectorsOf(next.items);
    next.updatedAtMs = nowMs;
    return { case: next, duplicate: false, newItem: true };
  }
  if (ev.type === 'match' && existing.type === 'match' && !existing.matches.some((m) => m.matchId === ev.event.matchId)) {
    existing.matches.push(matchRecord(ev.event));
    if (!existing.mediaUri && ev.event.mediaUri) existing.mediaUri = ev.event.mediaUri;
    const upload = uploadOf(ev.event);
    if (!existing.upload && upload) existing.upload = upload;
    next.detectors = detectorsOf(next.items);
    next.updatedAtMs = nowMs;
    return { case: next, duplicate: false, newItem: false };
  }
  existing.duplicateCount += 1;
  next.updatedAtMs = nowMs;
  return { case: next, duplicate: true, newItem: false };
}

/**
 * Default Art. 13(e) category of a case: grooming → `solicitation`; matches on lists of
 * verified material (`block`) → `known_material`; otherwise (review lists, near matches a
 * reviewer confirmed as abuse not yet on a list) → `new_material`. Reviewers may override.
 */
export function defaultCategory(c: Pick<Case, 'kind' | 'items'>): ReportCategory {
  if (c.kind === 'grooming') return 'solicitation';
  const known = c.items.some((it) => it.type === 'match' && it.matches.some((m) => m.bank.kind === 'block'));
  return known ? 'known_material' : 'new_material';
}
