import { alert, match, T0 } from './__fixtures__/fixtures';
import { acceptsEvent, defaultCategory, mergeEvent, openCase, type Case } from './case';
import { ConflictError } from './errors';
import { parseGroomingAlertEvent, parseMatchEvent } from './events';
import { applyReview, DEFAULT_LEASE_MS, withExpiredClaimsReleased } from './review';

const reviewer = { id: 'rev-1', role: 'reviewer' as const };
const reviewer2 = { id: 'rev-2', role: 'reviewer' as const };
const admin = { id: 'adm-1', role: 'admin' as const };

describe('events', () => {
  it('validates match events and grooming alerts with reasons', () => {
    expect(parseMatchEvent(match()).algorithm).toBe('pdq');
    expect(() => parseMatchEvent({ ...match(), distance: -1 })).toThrow(/distance/);
    expect(() => parseMatchEvent({ ...match(), bank: { ...match().bank, kind: 'maybe' } })).toThrow(/bank.kind/);
    expect(parseGroomingAlertEvent(alert()).stage).toBe('exclusivity');
    expect(() => parseGroomingAlertEvent(alert({ suspectedAdultId: 'stranger' }))).toThrow(/not a participant/);
    expect(() => parseGroomingAlertEvent({ ...alert(), score: 2 })).toThrow(/score/);
  });
});

describe('cases', () => {
  it('opens a case with a deterministic id and merges same-subject events as items', () => {
    const e1 = match({ matchId: 'mx', contentId: 'cx' });
    const a = openCase({ type: 'match', event: e1 }, T0);
    const again = openCase({ type: 'match', event: e1 }, T0 + 999);
    expect(a.caseId).toBe(again.caseId);
    expect(a.caseId).toMatch(/^case_[0-9a-f]{32}$/);
    const e2 = match();
    expect(acceptsEvent(a, { type: 'match', event: e2 })).toBe(true);
    const m = mergeEvent(a, { type: 'match', event: e2 }, T0 + 1);
    expect(m).toMatchObject({ duplicate: false, newItem: true });
    expect(m.case.items).toHaveLength(2);
    expect(a.items).toHaveLength(1);
  });

  it('treats the same content matched twice as one item (new bank → extra match; same match id → duplicate)', () => {
    const e1 = match({ contentId: 'same' });
    const a = openCase({ type: 'match', event: e1 }, T0);
    const otherBank = match({ contentId: 'same', bank: { name: 'ncmec-list', kind: 'block', source: 'ncmec', entryId: 'n-9', listVersion: '3' } });
    const b = mergeEvent(a, { type: 'match', event: otherBank }, T0);
    expect(b).toMatchObject({ duplicate: false, newItem: false });
    expect(b.case.items).toHaveLength(1);
    expect(b.case.items[0]!.type === 'match' && b.case.items[0]!.matches).toHaveLength(2);
    expect(b.case.detectors).toHaveLength(2);
    const c = mergeEvent(b.case, { type: 'match', event: otherBank }, T0);
    expect(c.duplicate).toBe(true);
    expect(c.case.items[0]!.duplicateCount).toBe(1);
  });

  it('does not accept events after the window, from another subject, or into closed cases', () => {
    const a = openCase({ type: 'match', event: match({ matchedAtMs: T0 }) }, T0, 1000);
    expect(acceptsEvent(a, { type: 'match', event: match({ matchedAtMs: T0 + 999 }) })).toBe(true);
    expect(acceptsEvent(a, { type: 'match', event: match({ matchedAtMs: T0 + 1000 }) })).toBe(false);
    expect(acceptsEvent(a, { type: 'match', event: match({ uploaderAccountId: 'other' }) })).toBe(false);
    expect(acceptsEvent({ ...a, state: 'reported' }, { type: 'match', event: match() })).toBe(false);
    expect(acceptsEvent(a, { type: 'grooming', event: alert() })).toBe(false);
  });

  it('groups grooming alerts per conversation and derives categories', () => {
    const g = openCase({ type: 'grooming', event: alert() }, T0);
    expect(g.kind).toBe('grooming');
    expect(g.subjectId).toBe('conv-1');
    expect(acceptsEvent(g, { type: 'grooming', event: alert({ conversationId: 'conv-2' }) })).toBe(false);
    expect(defaultCategory(g)).toBe('solicitation');
    expect(defaultCategory(openCase({ type: 'match', event: match() }, T0))).toBe('known_material');
    expect(defaultCategory(openCase({ type: 'match', event: match({ bank: { name: 'r', kind: 'review', source: 'platform', entryId: '1', listVersion: '1' } }) }, T0))).toBe('new_material');
  });
});

describe('review', () => {
  const fresh = (): Case => ({ ...openCase({ type: 'match', event: match() }, T0), version: 1 });

  it('claims with a lease, which expires back to the queue', () => {
    const { case: claimed } = applyReview(fresh(), { type: 'claim', actor: reviewer }, T0);
    expect(claimed.state).toBe('claimed');
    expect(claimed.claim).toMatchObject({ reviewerId: 'rev-1', leaseExpiresAtMs: T0 + DEFAULT_LEASE_MS, claimedFrom: 'pending_review' });
    expect(() => applyReview(claimed, { type: 'claim', actor: reviewer2 }, T0 + 1)).toThrow(ConflictError);
    expect(withExpiredClaimsReleased(claimed, T0 + DEFAULT_LEASE_MS).state).toBe('pending_review');
    const stolen = applyReview(claimed, { type: 'claim', actor: reviewer2 }, T0 + DEFAULT_LEASE_MS);
    expect(stolen.case.claim?.reviewerId).toBe('rev-2');
    // Renewal by the holder.
    expect(applyReview(claimed, { type: 'claim', actor: reviewer, leaseMs: 10 }, T0 + 5).case.claim?.leaseExpiresAtMs).toBe(T0 + 15);
  });

  it('requires a live claim by the decider', () => {
    expect(() => applyReview(fresh(), { type: 'confirm', actor: reviewer }, T0)).toThrow(/must be claimed/);
    const { case: claimed } = applyReview(fresh(), { type: 'claim', actor: reviewer }, T0);
    expect(() => applyReview(claimed, { type: 'confirm', actor: reviewer2 }, T0)).toThrow(ConflictError);
    expect(() => applyReview(claimed, { type: 'confirm', actor: reviewer }, T0 + DEFAULT_LEASE_MS)).toThrow(/must be claimed/);
  });

  it('confirms with a decision record and up-votes', () => {
    const { case: claimed } = applyReview(fresh(), { type: 'claim', actor: reviewer }, T0);
    const r = applyReview(claimed, { type: 'confirm', actor: reviewer, industryClassification: 'A2', reasonCode: 'matches_known' }, T0 + 60_000);
    expect(r.case).toMatchObject({ state: 'confirmed', category: 'known_material', industryClassification: 'A2', decidedAtMs: T0 + 60_000 });
    expect(r.case.claim).toBeUndefined();
    expect(r.decision).toMatchObject({ decision: 'confirm', actorId: 'rev-1', role: 'reviewer', reasonCode: 'matches_known', urgent: false });
    expect(r.feedback).toHaveLength(1);
    expect(r.feedback[0]).toMatchObject({ vote: 'up', opinion: 'affirmative', exchange: 'eu_centre', entryId: 'e-1', action: 'none' });
  });

  it('false positive: reviewer may propose an allow-list entry, only an admin disables the entry', () => {
    const { case: claimed } = applyReview(fresh(), { type: 'claim', actor: reviewer }, T0);
    const fp = applyReview(claimed, { type: 'false_positive', actor: reviewer, reasonCode: 'benign_collision', action: 'propose_allow' }, T0 + 1);
    expect(fp.case.state).toBe('false_positive');
    expect(fp.feedback[0]).toMatchObject({ vote: 'down', opinion: 'negative', action: 'propose_allow', allowListProposal: { algorithm: 'pdq' } });
    expect(() => applyReview(claimed, { type: 'false_positive', actor: reviewer, reasonCode: 'x', action: 'disable_entry' }, T0 + 1)).toThrow(/only an admin/);
    const { case: adminClaim } = applyReview(fresh(), { type: 'claim', actor: admin }, T0);
    const dis = applyReview(adminClaim, { type: 'false_positive', actor: admin, reasonCode: 'bad_hash', action: 'disable_entry' }, T0 + 1);
    expect(dis.feedback[0]).toMatchObject({ action: 'disable_entry', entryId: 'e-1' });
    expect(dis.decision?.falsePositiveAction).toBe('disable_entry');
  });

  it('escalation marks urgent and only an admin decides it', () => {
    const { case: claimed } = applyReview(fresh(), { type: 'claim', actor: reviewer }, T0);
    const esc = applyReview(claimed, { type: 'escalate', actor: reviewer, reasonCode: 'imminent_risk' }, T0 + 1);
    expect(esc.case).toMatchObject({ state: 'escalated', urgent: true });
    expect(() => applyReview(esc.case, { type: 'claim', actor: reviewer }, T0 + 2)).toThrow(/only an admin/);
    const adminClaim = applyReview(esc.case, { type: 'claim', actor: admin }, T0 + 2).case;
    expect(() => applyReview(adminClaim, { type: 'escalate', actor: admin, reasonCode: 'again' }, T0 + 3)).toThrow(/already escalated/);
    const conf = applyReview(adminClaim, { type: 'confirm', actor: admin }, T0 + 3);
    expect(conf.case).toMatchObject({ state: 'confirmed', urgent: true });
    // Releasing an admin claim returns it to escalated.
    expect(applyReview(adminClaim, { type: 'release', actor: admin }, T0 + 3).case.state).toBe('escalated');
  });

  it('refuses decisions on final states and wrong categories', () => {
    const { case: claimed } = applyReview(fresh(), { type: 'claim', actor: reviewer }, T0);
    const done = applyReview(claimed, { type: 'confirm', actor: reviewer }, T0).case;
    expect(() => applyReview(done, { type: 'claim', actor: reviewer }, T0)).toThrow(/cannot claim/);
    expect(() => applyReview(claimed, { type: 'confirm', actor: reviewer, category: 'solicitation' }, T0)).toThrow(/solicitation/);
    const g = { ...openCase({ type: 'grooming', event: alert() }, T0), version: 1 };
    const gc = applyReview(g, { type: 'claim', actor: reviewer }, T0).case;
    expect(() => applyReview(gc, { type: 'confirm', actor: reviewer, category: 'known_material' }, T0)).toThrow(/solicitation/);
    expect(applyReview(gc, { type: 'confirm', actor: reviewer }, T0).case.category).toBe('solicitation');
    expect(() => applyReview(gc, { type: 'false_positive', actor: reviewer, reasonCode: 'Free text!' }, T0)).toThrow(/reason codes/);
  });
});
