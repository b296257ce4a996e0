import { match, T0 } from './__fixtures__/fixtures';
import { openCase, type Case } from './case';
import { decideComplaint, fileComplaint } from './complaints';
import { addMonthsUtc } from './retention';
import type { ReviewDecision } from './review';
import type { OutboxRecord } from './store/types';
import { notificationDueAtMs, transparencyReport } from './transparency';

const DAY = 86_400_000;

function reported(id: string, category: Case['category'], reportedAtMs: number, hold?: number): Case {
  return {
    ...openCase({ type: 'match', event: match() }, T0),
    caseId: id,
    state: 'reported',
    category,
    reportedAtMs,
    decidedAtMs: T0 + 1000,
    ...(hold !== undefined ? { notificationHoldUntilMs: hold } : {}),
  };
}

const outbox = (key: string, destination: 'ncmec' | 'eu_centre', state: OutboxRecord['state'], at: number): OutboxRecord => ({
  key, caseId: 'x', destination, version: 1, createdAtMs: T0, updatedAtMs: at, state, attempts: 0, nextAttemptAtMs: 0, ambiguousSubmits: 0, ...(state === 'delivered' ? { deliveredAtMs: at } : {}),
});

describe('transparencyReport', () => {
  const a = reported('case-a', 'known_material', T0 + DAY);
  const b = reported('case-b', 'solicitation', T0 + 2 * DAY, addMonthsUtc(T0, 6));
  const detectors = a.detectors;
  const decision = (id: string, caseId: string, d: ReviewDecision['decision'], at: number): ReviewDecision => ({ decisionId: id, caseId, decision: d, actorId: 'r', role: 'reviewer', atMs: at, urgent: false, detectors });
  const cpFiled = fileComplaint({ caseId: 'case-a', subject: 'report', complainantRef: 'u', groundsCode: 'not_abuse_material' }, T0 + 3 * DAY);
  const cpDecided = decideComplaint(cpFiled, a, { actor: { id: 'adm', role: 'admin' }, outcome: 'upheld', groundsCode: 'benign' }, T0 + 5 * DAY).complaint;

  const t = transparencyReport(
    {
      cases: [a, b],
      decisions: [decision('d1', 'case-a', 'confirm', T0 + 1000), decision('d2', 'case-b', 'false_positive', T0 + 3000), decision('d3', 'case-b', 'escalate', T0 + 2000)],
      complaints: [cpDecided],
      outbox: [outbox('o1', 'ncmec', 'delivered', T0 + DAY), outbox('o2', 'eu_centre', 'delivered', T0 + DAY), outbox('o3', 'eu_centre', 'failed', T0 + DAY), outbox('o4', 'ncmec', 'delivered', T0 + 400 * DAY)],
    },
    T0,
    T0 + 30 * DAY,
  );

  it('counts reports by type and destination within the period', () => {
    expect(t.reports).toEqual({ byCategory: { known_material: 1, new_material: 0, solicitation: 1 }, byDestination: { ncmec: 1, eu_centre: 1 }, failed: 1 });
  });

  it('counts review outcomes, error rates incl. upheld complaints, and the median time to decision', () => {
    expect(t.reviewOutcomes).toEqual({ confirm: 1, false_positive: 1, escalate: 1 });
    expect(t.errorRates).toEqual([{ detector: 'bank:eu-indicators', algorithm: 'pdq', reviewed: 2, falsePositives: 1, upheldComplaints: 1, falsePositiveRate: 0.5, errorRate: 1 }]);
    // First decision per case: a after 1 s, b after 2 s (the escalation).
    expect(t.medianTimeToDecisionMs).toBe(1500);
  });

  it('reports complaint figures with grounds, outcome, time to decision and reversals', () => {
    expect(t.complaints).toEqual({ filed: 1, byGrounds: { not_abuse_material: 1 }, byOutcome: { open: 0, upheld: 1, rejected: 0 }, decided: 1, medianTimeToDecisionMs: 2 * DAY, reversals: 0 });
    expect(cpDecided.reversal).toEqual({ reversed: false, actions: [], notPossibleReason: 'already_reported' });
  });

  it('lists user notifications due three months after the report unless an authority holds them', () => {
    expect(notificationDueAtMs(a)).toBe(addMonthsUtc(T0 + DAY, 3));
    expect(notificationDueAtMs(b)).toBe(addMonthsUtc(T0, 6));
    const q = transparencyReport({ cases: [a, b], decisions: [], complaints: [], outbox: [] }, addMonthsUtc(T0, 3), addMonthsUtc(T0, 4));
    expect(q.notificationsDue).toEqual({ count: 1, caseIds: ['case-a'] });
    const later = transparencyReport({ cases: [a, b], decisions: [], complaints: [], outbox: [] }, addMonthsUtc(T0, 6), addMonthsUtc(T0, 7));
    expect(later.notificationsDue.caseIds).toEqual(['case-b']);
    expect(t.notificationsDue.count).toBe(0);
  });
});
