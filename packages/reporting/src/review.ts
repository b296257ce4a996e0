import { deterministicId } from './canonical';
import { defaultCategory, entryHashOf, type Case, type DetectorRef, type ReportCategory, type ReviewerRole } from './case';
import type { BankKind } from './events';
import { ConflictError, ReportingInputError } from './errors';
import type { IndustryClassification } from './policy';

/** Who acts: an opaque staff id and a role. */
export interface Actor {
  id: string;
  role: ReviewerRole;
}

/** Default claim lease: 15 minutes. Long enough to look at a case, short enough that an abandoned claim returns to the queue quickly. */
export const DEFAULT_LEASE_MS = 15 * 60 * 1000;

/** What a false positive does to the indicator that caused it. */
export type FalsePositiveAction = 'none' | 'propose_allow' | 'disable_entry';

/** A review command. */
export type ReviewCommand =
  | { type: 'claim'; actor: Actor; leaseMs?: number }
  | { type: 'release'; actor: Actor }
  | {
      type: 'confirm';
      actor: Actor;
      /** Override of the Art. 13(e) category; defaults from the case. */
      category?: ReportCategory;
      industryClassification?: IndustryClassification;
      /** Mark urgent (Art. 13(j)). */
      urgent?: boolean;
      reasonCode?: string;
    }
  | { type: 'false_positive'; actor: Actor; reasonCode: string; action?: FalsePositiveAction }
  | { type: 'escalate'; actor: Actor; reasonCode: string };

/** Review-decision record: every confirm / false positive / escalation. */
export interface ReviewDecision {
  decisionId: string;
  caseId: string;
  decision: 'confirm' | 'false_positive' | 'escalate';
  actorId: string;
  role: ReviewerRole;
  atMs: number;
  /** Stable lowercase reason code chosen from the review UI (never free text about content). */
  reasonCode?: string;
  category?: ReportCategory;
  industryClassification?: IndustryClassification;
  urgent: boolean;
  falsePositiveAction?: FalsePositiveAction;
  /** Detectors the decision is about (for Art. 83 error rates). */
  detectors: DetectorRef[];
}

/**
 * Feedback on an indicator, shaped so an exchange can take it as an up/down vote.
 *
 * Mapping to NCMEC hash sharing: `entryId` is the exchange's entry id, `opinion`
 * `affirmative` / `negative` is the vote, `reasonCode` becomes the negative-vote reason.
 * Mapping to ThreatExchange-style exchanges: `opinion` → SignalOpinion positive/negative,
 * `reasonCode` → tag. `action` says what the platform did locally; `allowListProposal` carries
 * the platform's own content hash for a benign collision (never the indicator's value, which
 * the platform may not hold).
 */
export interface FeedbackRecord {
  feedbackId: string;
  caseId: string;
  createdAtMs: number;
  /** Exchange / list owner (the bank's `source`), e.g. `ncmec`, `eu_centre`. */
  exchange: string;
  bankName: string;
  entryId: string;
  listVersion: string;
  algorithm: string;
  vote: 'up' | 'down';
  opinion: 'affirmative' | 'negative';
  reasonCode: string;
  action: FalsePositiveAction;
  allowListProposal?: { algorithm: string; hash: string };
  actorId: string;
  /** Kind of the entry's bank (absent in records written before it was kept). */
  bankKind?: BankKind;
  /** The entry's own hash (lowercase hex) when known (see `entryHashOf`). */
  entryHash?: string;
}

/** Outcome of {@link applyReview}. */
export interface ReviewResult {
  case: Case;
  decision?: ReviewDecision;
  feedback: FeedbackRecord[];
}

function activeClaim(c: Case, nowMs: number): Case['claim'] | undefined {
  return c.state === 'claimed' && c.claim && c.claim.leaseExpiresAtMs > nowMs ? c.claim : undefined;
}

/** The case as it stands at `nowMs`: a claimed case whose lease ran out is back in its queue. Pure. */
export function withExpiredClaimsReleased(c: Case, nowMs: number): Case {
  if (c.state !== 'claimed' || !c.claim || c.claim.leaseExpiresAtMs > nowMs) return c;
  const { claim, ...rest } = c;
  return { ...rest, state: claim.claimedFrom };
}

function requireHolder(c: Case, actor: Actor, nowMs: number): NonNullable<Case['claim']> {
  const claim = activeClaim(c, nowMs);
  if (!claim) throw new ReportingInputError('claim_required', `case ${c.caseId} must be claimed before a decision`);
  if (claim.reviewerId !== actor.id) throw new ConflictError('claim_conflict', `case ${c.caseId} is claimed by another reviewer`);
  if (claim.claimedFrom === 'escalated' && actor.role !== 'admin') {
    throw new ReportingInputError('forbidden_role', 'only an admin decides an escalated case');
  }
  return claim;
}

function feedbackFor(c: Case, actor: Actor, nowMs: number, vote: 'up' | 'down', reasonCode: string, action: FalsePositiveAction): FeedbackRecord[] {
  const out: FeedbackRecord[] = [];
  const seen = new Set<string>();
  for (const item of c.items) {
    if (item.type !== 'match') continue;
    for (const m of item.matches) {
      if (m.bank.kind === 'allow') continue;
      const key = `${m.bank.name}|${m.bank.entryId}|${m.algorithm}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entryHash = entryHashOf(m);
      out.push({
        feedbackId: deterministicId('fb', [c.caseId, key, vote]),
        caseId: c.caseId,
        createdAtMs: nowMs,
        exchange: m.bank.source,
        bankName: m.bank.name,
        entryId: m.bank.entryId,
        listVersion: m.bank.listVersion,
        algorithm: m.algorithm,
        vote,
        opinion: vote === 'up' ? 'affirmative' : 'negative',
        reasonCode,
        action,
        ...(action === 'propose_allow' ? { allowListProposal: { algorithm: m.algorithm, hash: m.queryHash } } : {}),
        actorId: actor.id,
        bankKind: m.bank.kind,
        ...(entryHash ? { entryHash } : {}),
      });
    }
  }
  return out;
}

/**
 * The feedback records a recorded `confirm` decision produces (the same ids and contents as when
 * it was taken): used to complete a decision whose feedback a crash cut off. Pure.
 */
export function confirmationFeedbackOf(c: Case, d: ReviewDecision): FeedbackRecord[] {
  if (d.decision !== 'confirm') return [];
  return feedbackFor(c, { id: d.actorId, role: d.role }, d.atMs, 'up', d.reasonCode ?? 'confirmed', 'none');
}

const REASON = /^[a-z0-9_]{1,64}$/;

/**
 * Applies a review command to a case (pure; returns new objects). Rules:
 * - `claim`: a `pending_review` case (any role), an `escalated` case (admin only), or a
 *   claim whose lease expired; re-claiming one's own claim renews the lease.
 * - decisions (`confirm`, `false_positive`, `escalate`) need the caller's live claim;
 *   escalated cases are decided by an admin only; `disable_entry` needs an admin.
 * - `confirm` → `confirmed` (category defaults from the case, urgent sticks), up-votes the
 *   bank entries; `false_positive` → `false_positive`, down-votes them with the chosen
 *   action; `escalate` → `escalated` + urgent, lease dropped so an admin can claim it.
 *
 * @throws ReportingInputError `invalid_transition`, `claim_required`, `forbidden_role`
 * @throws ConflictError `claim_conflict` when another reviewer holds a live claim
 */
export function applyReview(current: Case, cmd: ReviewCommand, nowMs: number): ReviewResult {
  const c = withExpiredClaimsReleased(current, nowMs);
  const base = { ...structuredClone(c), updatedAtMs: nowMs };
  const { actor } = cmd;
  switch (cmd.type) {
    case 'claim': {
      const leaseMs = cmd.leaseMs ?? DEFAULT_LEASE_MS;
      if (!(leaseMs > 0)) throw new ReportingInputError('invalid_transition', 'lease must be positive');
      const live = activeClaim(c, nowMs);
      if (live) {
        if (live.reviewerId !== actor.id) throw new ConflictError('claim_conflict', `case ${c.caseId} is claimed by another reviewer`);
        return { case: { ...base, claim: { ...live, leaseExpiresAtMs: nowMs + leaseMs } }, feedback: [] };
      }
      if (c.state !== 'pending_review' && c.state !== 'escalated') {
        throw new ReportingInputError('invalid_transition', `cannot claim a case in state ${c.state}`);
      }
      if (c.state === 'escalated' && actor.role !== 'admin') throw new ReportingInputError('forbidden_role', 'only an admin claims an escalated case');
      return {
        case: {
          ...base,
          state: 'claimed',
          claim: { reviewerId: actor.id, role: actor.role, claimedAtMs: nowMs, leaseExpiresAtMs: nowMs + leaseMs, claimedFrom: c.state },
        },
        feedback: [],
      };
    }
    case 'release': {
      const claim = activeClaim(c, nowMs);
      if (!claim) throw new ReportingInputError('claim_required', `case ${c.caseId} is not claimed`);
      if (claim.reviewerId !== actor.id && actor.role !== 'admin') throw new ConflictError('claim_conflict', 'only the holder or an admin may release a claim');
      const { claim: _dropped, ...rest } = base;
      return { case: { ...rest, state: claim.claimedFrom }, feedback: [] };
    }
    case 'confirm':
    case 'false_positive':
    case 'escalate': {
      const claim = requireHolder(c, actor, nowMs);
      const reasonCode = cmd.type === 'confirm' ? cmd.reasonCode : cmd.reasonCode;
      if (reasonCode !== undefined && !REASON.test(reasonCode)) {
        throw new ReportingInputError('invalid_transition', 'reason codes are lowercase [a-z0-9_], at most 64 characters');
      }
      const { claim: _dropped, ...rest } = base;
      const decisionBase = {
        decisionId: deterministicId('dec', [c.caseId, c.version, cmd.type, actor.id, nowMs]),
        caseId: c.caseId,
        actorId: actor.id,
        role: actor.role,
        atMs: nowMs,
        ...(reasonCode ? { reasonCode } : {}),
        detectors: c.detectors,
      };
      if (cmd.type === 'escalate') {
        if (claim.claimedFrom === 'escalated') throw new ReportingInputError('invalid_transition', 'case is already escalated');
        return {
          case: { ...rest, state: 'escalated', urgent: true },
          decision: { ...decisionBase, decision: 'escalate', urgent: true },
          feedback: [],
        };
      }
      if (cmd.type === 'confirm') {
        const category = cmd.category ?? c.category ?? defaultCategory(c);
        if (c.kind === 'grooming' && category !== 'solicitation') {
          throw new ReportingInputError('invalid_transition', 'a grooming case can only be confirmed as solicitation');
        }
        if (c.kind === 'match' && category === 'solicitation') {
          throw new ReportingInputError('invalid_transition', 'a match case cannot be confirmed as solicitation');
        }
        const urgent = c.urgent || (cmd.urgent ?? false);
        const industryClassification = cmd.industryClassification ?? c.industryClassification;
        return {
          case: {
            ...rest,
            state: 'confirmed',
            category,
            urgent,
            ...(industryClassification ? { industryClassification } : {}),
            decidedAtMs: c.decidedAtMs ?? nowMs,
          },
          decision: { ...decisionBase, decision: 'confirm', category, urgent, ...(industryClassification ? { industryClassification } : {}) },
          feedback: feedbackFor(c, actor, nowMs, 'up', reasonCode ?? 'confirmed', 'none'),
        };
      }
      const action = cmd.action ?? 'none';
      if (action === 'disable_entry' && actor.role !== 'admin') {
        throw new ReportingInputError('forbidden_role', 'only an admin disables a bank entry');
      }
      return {
        case: { ...rest, state: 'false_positive', decidedAtMs: c.decidedAtMs ?? nowMs },
        decision: { ...decisionBase, decision: 'false_positive', urgent: c.urgent, falsePositiveAction: action },
        feedback: feedbackFor(c, actor, nowMs, 'down', cmd.reasonCode, action),
      };
    }
  }
}
