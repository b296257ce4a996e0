import { isIP } from 'node:net';
import {
  defaultCategory,
  deterministicId,
  ReportingInputError,
  sha256Hex,
  type Case,
  type FeedbackRecord,
  type GroomingAlertEvent,
  type GroomingStage,
  type MatchEvent,
  type OutboxRecord,
  type ReportCategory,
  type ReviewDecision as DecisionRecord,
} from '@safeguard/reporting';
import type {
  BankKind,
  CaseKind,
  GroomingAlert,
  GroomingStage as AlertStage,
  IndicatorFeedback,
  MatchFound,
  ReportEmitted,
  ReportStatus,
  ReviewDecision,
  UploadContext,
} from '@safeguard/schemas';

/*
 * Avro events ↔ the reporting library's plain types. Only ids, hashes, scores and references
 * cross here; nothing is logged.
 */

const BANK_KIND: Record<BankKind, MatchEvent['bank']['kind']> = { BLOCK: 'block', REVIEW: 'review', ALLOW: 'allow' };
const BANK_KIND_OUT: Record<MatchEvent['bank']['kind'], BankKind> = { block: 'BLOCK', review: 'REVIEW', allow: 'ALLOW' };

/**
 * Grooming stages of the analyser → the library's stage model. The analyser's `TRUST_BUILDING`
 * covers friendship and relationship forming; `NONE` (no stage reached yet) maps to the first.
 */
const STAGE: Record<AlertStage, GroomingStage> = {
  NONE: 'friendship_forming',
  TRUST_BUILDING: 'relationship_forming',
  RISK_ASSESSMENT: 'risk_assessment',
  EXCLUSIVITY: 'exclusivity',
  ESCALATION: 'escalation',
  MEETING: 'meeting',
};

const CATEGORY: Record<ReportCategory, CaseKind> = { known_material: 'KNOWN_MATERIAL', new_material: 'NEW_MATERIAL', solicitation: 'SOLICITATION' };

/** Subject id of a match whose uploader the platform did not name: one case per such content. */
export function unknownUploaderId(platformId: string, contentId: string): string {
  return deterministicId('uploader-unknown', [platformId, contentId]);
}

/** Why an upload-context field was left out (closed set: a metric label). */
export type UploadFieldDropReason = 'ip_address_invalid' | 'country_code_invalid' | 'uploaded_at_invalid';

/**
 * The library's upload facts of a MatchFound `uploadContext` (personal data: never logged).
 * Country codes are upper-cased; a malformed value is left out (reported through `dropped`, by
 * reason code only) rather than losing the match over it.
 */
export function uploadOf(u: UploadContext | null, dropped: (reason: UploadFieldDropReason) => void = () => undefined): MatchEvent['upload'] | undefined {
  if (!u) return undefined;
  const out: NonNullable<MatchEvent['upload']> = {};
  if (u.uploadedAtMs !== null) {
    if (Number.isSafeInteger(u.uploadedAtMs) && u.uploadedAtMs >= 0) out.uploadedAtMs = u.uploadedAtMs;
    else dropped('uploaded_at_invalid');
  }
  if (u.ipAddress !== null) {
    const ip = u.ipAddress.trim();
    if (ip.length <= 64 && isIP(ip) !== 0) out.ipAddress = ip;
    else dropped('ip_address_invalid');
  }
  if (u.countryCode !== null) {
    const cc = u.countryCode.trim().toUpperCase();
    if (/^[A-Z]{2}$/.test(cc)) out.countryCode = cc;
    else dropped('country_code_invalid');
  }
  if (u.publiclyAvailable !== null) out.publiclyAvailable = u.publiclyAvailable;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The library's match events of one matcher result, one per matched entry, in the result's
 * order. Each gets an id derived from the content and the entry (not from the hashed event), so
 * the same content matched again later is recognised as a duplicate of the same item.
 * `verifiedSources` says which list suppliers count as authority-verified. The result's
 * `uploadContext` travels on every event (see {@link uploadOf}; `dropped` is told about
 * malformed fields).
 */
export function matchEventsOf(m: MatchFound, verifiedSources: ReadonlySet<string>, dropped?: (reason: UploadFieldDropReason) => void): MatchEvent[] {
  const upload = uploadOf(m.uploadContext, dropped);
  return m.matches.map((d) => ({
    matchId: deterministicId('mf', [m.platformId, m.contentId, d.bank.name, d.entryId, d.algorithm, d.queryHash.toLowerCase(), d.queryVariant, d.frameTimestampMs]),
    contentId: m.contentId,
    platformId: m.platformId,
    uploaderAccountId: m.uploaderAccountId ?? unknownUploaderId(m.platformId, m.contentId),
    algorithm: d.algorithm,
    distance: d.distance,
    queryHash: d.queryHash.toLowerCase(),
    // Cryptographic hashes have no quality: they are exact.
    quality: d.queryQuality ?? 100,
    bank: {
      name: d.bank.name,
      kind: BANK_KIND[d.bank.kind],
      source: d.bank.source,
      entryId: d.entryId,
      listVersion: d.bank.listVersion,
      verified: verifiedSources.has(d.bank.source),
    },
    matchedAtMs: m.matchedAtMs,
    ...(m.mediaUri ? { mediaUri: m.mediaUri } : {}),
    ...(d.entryHash ? { entryHash: d.entryHash.toLowerCase() } : {}),
    ...(upload ? { upload } : {}),
  }));
}

/**
 * The library's grooming alert. A report names the suspected adult, so an alert without one
 * is refused (`suspect_unknown`, dead-lettered for a person to look at).
 * @throws ReportingInputError `invalid_event`
 */
export function groomingEventOf(a: GroomingAlert): GroomingAlertEvent {
  if (a.suspectedAccountId === null) throw new ReportingInputError('invalid_event', 'grooming alert without suspectedAccountId (suspect_unknown)');
  const participants = a.participantIds.includes(a.suspectedAccountId) ? a.participantIds : [...a.participantIds, a.suspectedAccountId];
  return {
    alertId: a.alertId,
    conversationId: a.conversationId,
    platformId: a.platformId,
    participantIds: participants,
    suspectedAdultId: a.suspectedAccountId,
    score: a.score,
    stage: STAGE[a.stage],
    signals: a.signals.map((s) => ({ kind: s.kind, messageIds: s.messageIds })),
    raisedAtMs: a.raisedAtMs,
  };
}

/** Art. 13(e) category of a case as the `CaseKind` enum. */
export function caseKindOf(c: Case): CaseKind {
  return CATEGORY[c.category ?? defaultCategory(c)];
}

/** The `ReviewDecision` event of a stored decision. */
export function reviewDecisionEvent(d: DecisionRecord, c: Case): ReviewDecision {
  return {
    decisionId: d.decisionId,
    caseId: d.caseId,
    platformId: c.platformId,
    caseKind: d.category ? CATEGORY[d.category] : caseKindOf(c),
    reviewerId: d.actorId,
    reviewerRole: d.role === 'admin' ? 'ADMIN' : 'REVIEWER',
    outcome: d.decision === 'confirm' ? 'CONFIRMED' : d.decision === 'false_positive' ? 'FALSE_POSITIVE' : 'ESCALATED_URGENT',
    grounds: d.reasonCode ?? null,
    disableEntry: d.falsePositiveAction === 'disable_entry',
    proposeAllowList: d.falsePositiveAction === 'propose_allow',
    decidedAtMs: d.atMs,
  };
}

/** What the relay does with a feedback record (closed set: a metric label). */
export type FeedbackOutcome = 'published' | 'published_without_entry_hash' | 'skipped_entry_hash_unknown';

/**
 * Whether a feedback record goes onto the feedback topic. The entry's own hash is unknown for a
 * near match from a matcher that did not send `entryHash`:
 * - a plain vote (UP on a confirmation, DOWN without an action) is not published, since a vote
 *   on a hash nobody can name helps no list supplier (it stays in the store and the audit chain);
 * - a DOWN vote with an action is published with an empty `hashValue`: the action must take
 *   effect, and consumers apply it by bank and entry id (the matcher then skips its check that
 *   the entry's hash is unchanged; an allow-list proposal carries the content's `queryHash`).
 */
export function feedbackOutcomeOf(f: FeedbackRecord): FeedbackOutcome {
  if (f.entryHash) return 'published';
  return f.action === 'none' ? 'skipped_entry_hash_unknown' : 'published_without_entry_hash';
}

/** The matcher's action name of a feedback record (`none` when it asks for none). */
export function feedbackActionOf(f: FeedbackRecord): 'none' | 'disable_entry' | 'propose_allow_list' {
  return f.action === 'disable_entry' ? 'disable_entry' : f.action === 'propose_allow' ? 'propose_allow_list' : 'none';
}

/**
 * The `IndicatorFeedback` event of a stored feedback record: vote UP for a confirmation, DOWN for
 * a false positive or an upheld complaint, with the action the matcher applies
 * (`disable_entry`: per-entry disable; `propose_allow_list`: a benign collision). `hashValue` is
 * the entry's own hash (empty when unknown: see {@link feedbackOutcomeOf}, which decides whether
 * the event is published at all); `queryHash` is the reviewed content's own hash on allow-list
 * proposals, what an allow-list entry needs (IndicatorFeedback v2).
 */
export function indicatorFeedbackEvent(f: FeedbackRecord): IndicatorFeedback {
  const action = feedbackActionOf(f);
  return {
    feedbackId: f.feedbackId,
    bank: { name: f.bankName, kind: BANK_KIND_OUT[f.bankKind ?? 'review'], source: f.exchange, listVersion: f.listVersion },
    entryId: f.entryId,
    algorithm: f.algorithm,
    hashValue: f.entryHash ?? '',
    vote: f.vote === 'up' ? 'UP' : 'DOWN',
    action: action === 'none' ? null : action,
    caseId: f.caseId,
    createdAtMs: f.createdAtMs,
    queryHash: action === 'propose_allow_list' && f.allowListProposal ? f.allowListProposal.hash.toLowerCase() : null,
  };
}

/** SHA-256 (hex) of a report payload as sent; of nothing when retention removed it. */
export function payloadSha256(r: OutboxRecord): string {
  return sha256Hex(r.eu?.body ?? r.ncmec?.reportXml ?? '');
}

/** The `ReportEmitted` event of a finished delivery. */
export function reportEmittedEvent(r: OutboxRecord, c: Case, status: ReportStatus, atMs: number, failureCode?: string): ReportEmitted {
  return {
    reportId: r.key,
    caseId: r.caseId,
    platformId: c.platformId,
    destination: r.destination === 'ncmec' ? 'NCMEC' : 'EU_CENTRE',
    reportType: caseKindOf(c),
    status,
    externalReportId: r.destination === 'ncmec' ? (r.ncmec?.reportId ?? null) : (r.eu?.receiptId ?? null),
    urgent: c.urgent,
    // Attempts since the last progress (the runner resets them on every completed step) plus the final one.
    attempts: status === 'DELIVERED' ? r.attempts + 1 : Math.max(1, r.attempts),
    payloadSha256: payloadSha256(r),
    failureCode: failureCode ?? null,
    emittedAtMs: atMs,
  };
}
