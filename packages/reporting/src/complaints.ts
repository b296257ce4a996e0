import { deterministicId } from './canonical';
import type { Case, DetectorRef } from './case';
import { ReportingInputError } from './errors';
import type { FeedbackRecord, Actor } from './review';

/** What a complaint is about (Art. 34 of the proposal: decisions on detection, removal, reporting). */
export type ComplaintSubject = 'detection' | 'removal' | 'report';

/** A complaint by a user (or their representative) about a decision on a case. */
export interface Complaint {
  complaintId: string;
  version: number;
  caseId: string;
  subject: ComplaintSubject;
  /** Opaque id of the complainant; removed on purge. */
  complainantRef: string;
  /** Grounds the complainant gave, as a stable code (e.g. `not_abuse_material`, `wrong_account`). */
  groundsCode: string;
  filedAtMs: number;
  state: 'open' | 'upheld' | 'rejected';
  decidedAtMs?: number;
  decidedBy?: string;
  /** Grounds of the admin's decision, as a stable code. */
  decisionGroundsCode?: string;
  /** What the upheld complaint changed, or why it could not. */
  reversal?: { reversed: boolean; actions: ComplaintAction[]; notPossibleReason?: 'already_reported' | 'case_purged' };
  /** Detectors the complaint counts against when upheld (Art. 83 error rates). */
  attributedTo?: DetectorRef[];
}

/** Effects of an upheld complaint that the platform or the reporter service carries out. */
export type ComplaintAction = 'mark_false_positive' | 'cancel_pending_reports' | 'reinstate_content' | 'retract_unfinished_ncmec_report';

const CODE = /^[a-z0-9_]{1,64}$/;

/**
 * Opens a complaint. Deterministic id from case, complainant and filing time, so a retried
 * request does not file twice.
 * @throws ReportingInputError `invalid_case` for malformed codes
 */
export function fileComplaint(input: { caseId: string; subject: ComplaintSubject; complainantRef: string; groundsCode: string }, nowMs: number): Complaint {
  if (!CODE.test(input.groundsCode)) throw new ReportingInputError('invalid_case', 'grounds must be a lowercase code [a-z0-9_]');
  if (!input.complainantRef) throw new ReportingInputError('invalid_case', 'complainantRef is required');
  return {
    complaintId: deterministicId('cmp', [input.caseId, input.subject, input.complainantRef, nowMs]),
    version: 0,
    caseId: input.caseId,
    subject: input.subject,
    complainantRef: input.complainantRef,
    groundsCode: input.groundsCode,
    filedAtMs: nowMs,
    state: 'open',
  };
}

/** Result of {@link decideComplaint}. */
export interface ComplaintDecision {
  complaint: Complaint;
  /** The case after reversal (unchanged when rejected or not reversible). */
  case: Case;
  /** Down-votes on the bank entries that caused an upheld detection/report complaint. */
  feedback: FeedbackRecord[];
}

/**
 * An admin decides a complaint. Rejected: nothing else changes. Upheld: the decision is
 * reversed where possible and the complaint is attributed to the case's detectors:
 * - detection/report complaints turn a not-yet-reported case into `false_positive` and cancel
 *   its pending reports; a reported case cannot be un-reported (`already_reported`), and an
 *   unfinished NCMEC report is retracted;
 * - removal complaints reinstate the content (`reinstate_content`).
 * Pure; the caller persists and carries out `reversal.actions`.
 * @throws ReportingInputError `forbidden_role` for non-admins, `invalid_transition` when already decided
 */
export function decideComplaint(
  complaint: Complaint,
  c: Case,
  decision: { actor: Actor; outcome: 'upheld' | 'rejected'; groundsCode: string },
  nowMs: number,
): ComplaintDecision {
  if (decision.actor.role !== 'admin') throw new ReportingInputError('forbidden_role', 'only an admin decides complaints');
  if (complaint.state !== 'open') throw new ReportingInputError('invalid_transition', `complaint ${complaint.complaintId} is already ${complaint.state}`);
  if (!CODE.test(decision.groundsCode)) throw new ReportingInputError('invalid_transition', 'grounds must be a lowercase code [a-z0-9_]');
  const decided: Complaint = {
    ...complaint,
    state: decision.outcome,
    decidedAtMs: nowMs,
    decidedBy: decision.actor.id,
    decisionGroundsCode: decision.groundsCode,
  };
  if (decision.outcome === 'rejected') return { complaint: decided, case: c, feedback: [] };

  const actions: ComplaintAction[] = [];
  let next: Case = c;
  let notPossibleReason: 'already_reported' | 'case_purged' | undefined;
  if (c.state === 'purged') notPossibleReason = 'case_purged';
  else if (complaint.subject === 'removal') {
    actions.push('reinstate_content');
    next = { ...c, removal: { removed: false, atMs: nowMs }, updatedAtMs: nowMs };
  } else if (c.state === 'reported') {
    notPossibleReason = 'already_reported';
  } else {
    actions.push('mark_false_positive', 'cancel_pending_reports');
    if (c.state === 'confirmed') actions.push('retract_unfinished_ncmec_report');
    const { claim: _claim, ...rest } = c;
    next = { ...rest, state: 'false_positive', reversedAtMs: nowMs, updatedAtMs: nowMs, decidedAtMs: c.decidedAtMs ?? nowMs };
  }
  const feedback: FeedbackRecord[] =
    complaint.subject === 'removal'
      ? []
      : c.detectors
          .filter((d): d is Extract<DetectorRef, { kind: 'bank' }> => d.kind === 'bank')
          .map((d) => ({
            feedbackId: deterministicId('fb', [c.caseId, complaint.complaintId, d.bankName, d.entryId, d.algorithm]),
            caseId: c.caseId,
            createdAtMs: nowMs,
            exchange: d.bankSource,
            bankName: d.bankName,
            entryId: d.entryId,
            listVersion: d.listVersion,
            algorithm: d.algorithm,
            vote: 'down' as const,
            opinion: 'negative' as const,
            reasonCode: 'complaint_upheld',
            action: 'none' as const,
            actorId: decision.actor.id,
            ...(d.bankKind ? { bankKind: d.bankKind } : {}),
            ...(d.entryHash ? { entryHash: d.entryHash } : {}),
          }));
  return {
    complaint: {
      ...decided,
      reversal: { reversed: actions.length > 0 && notPossibleReason === undefined, actions, ...(notPossibleReason ? { notPossibleReason } : {}) },
      attributedTo: c.detectors,
    },
    case: next,
    feedback,
  };
}
