import { alert, BRIDGE_SHA256, FakeClock, match, policy, provider, signingKey, T0, WEE_PDQ } from './__fixtures__/fixtures';
import { verifyAuditChain } from './audit';
import { ReportingEngine } from './engine';
import { evaluatePolicy, parsePolicyConfig } from './policy';
import { openCase } from './case';
import { addMonthsUtc, parseRetentionConfig } from './retention';
import { MemoryReportingStore } from './store/memory';
import { transparencyReport } from './transparency';

const key = signingKey();
const reviewer = { id: 'rev-1', role: 'reviewer' as const };
const admin = { id: 'adm-1', role: 'admin' as const };

function setup(over: Partial<ConstructorParameters<typeof ReportingEngine>[0]> = {}) {
  const store = new MemoryReportingStore();
  const clock = new FakeClock();
  const engine = new ReportingEngine({ store, policy: policy(), provider: provider(), signingKey: key, clock: clock.now, ...over });
  return { store, clock, engine };
}

describe('ReportingEngine', () => {
  it('groups matches per uploader within the window and de-duplicates content', async () => {
    const { engine, store, clock } = setup();
    const a = await engine.ingestMatch(match({ contentId: 'c-A', distance: 12 }));
    expect(a).toMatchObject({ outcome: 'opened', state: 'pending_review' });
    clock.advance(1000);
    const b = await engine.ingestMatch(match({ contentId: 'c-B', distance: 8, matchedAtMs: T0 + 1000 }));
    expect(b).toMatchObject({ caseId: a.caseId, outcome: 'merged' });
    const dup = match({ contentId: 'c-A', matchId: 'm-dup', distance: 12 });
    expect(await engine.ingestMatch(dup)).toMatchObject({ caseId: a.caseId, outcome: 'merged' });
    expect(await engine.ingestMatch(dup)).toMatchObject({ caseId: a.caseId, outcome: 'duplicate' });
    const other = await engine.ingestMatch(match({ uploaderAccountId: 'acct-u2', distance: 3 }));
    expect(other.caseId).not.toBe(a.caseId);
    const late = await engine.ingestMatch(match({ contentId: 'c-late', distance: 3, matchedAtMs: T0 + 25 * 3600_000 }));
    expect(late.caseId).not.toBe(a.caseId);
    const c = (await store.getCase(a.caseId))!;
    expect(c.items.map((i) => (i.type === 'match' ? i.contentId : ''))).toEqual(['c-A', 'c-B']);
    expect(c.items[0]!.type === 'match' && c.items[0]!.duplicateCount).toBe(1);
    expect(c.policy).toMatchObject({ action: 'review', ruleId: 'pdq-near' });
    // Replaying the first event does not open a second case.
    const first = (await store.listCases())[0]!;
    expect(first.caseId).toBe(a.caseId);
    expect((await store.listCases()).length).toBe(3);
  });

  it('reports exact verified matches directly and queues one report per destination, idempotently', async () => {
    const { engine, store } = setup();
    const r = await engine.ingestMatch(match({ algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 }));
    expect(r.state).toBe('confirmed');
    const c = (await store.getCase(r.caseId))!;
    expect(c).toMatchObject({ category: 'known_material', industryClassification: 'B2', policy: { action: 'report', ruleId: 'exact-verified' } });
    expect((await store.listOutbox(r.caseId)).map((o) => o.destination)).toEqual(['ncmec', 'eu_centre']);
    expect(await engine.queueReports(r.caseId)).toEqual([]);
    expect(await store.listOutbox()).toHaveLength(2);
  });

  it('drops what policy drops and records the rule in the audit log', async () => {
    const { engine, store } = setup();
    const r = await engine.ingestMatch(match({ quality: 20, queryHash: WEE_PDQ }));
    expect(r.state).toBe('dropped');
    const audit = await store.audit.list();
    const outcome = audit.find((a) => a.type === 'policy_outcome')!;
    expect(outcome.data).toMatchObject({ action: 'drop', ruleId: 'pdq-low-quality', state: 'dropped' });
    expect(JSON.stringify(audit)).not.toContain('acct-u1');
  });

  it('does not bury a reportable match of content whose earlier match was dropped', async () => {
    const { engine, store } = setup();
    const low = await engine.ingestMatch(match({ contentId: 'c-same', quality: 20 }));
    expect(low.state).toBe('dropped');
    expect(await engine.ingestMatch(match({ contentId: 'c-same', quality: 10 }))).toMatchObject({ caseId: low.caseId, outcome: 'merged', state: 'dropped' });
    const exactHit = await engine.ingestMatch(match({ contentId: 'c-same', algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 }));
    expect(exactHit.caseId).not.toBe(low.caseId);
    expect(exactHit).toMatchObject({ outcome: 'opened', state: 'confirmed' });
    expect((await store.findCaseByItem('plat-1', 'c-same'))?.caseId).toBe(exactHit.caseId);
  });

  it('sends grooming to review even when the configuration would drop it', async () => {
    const { engine, store } = setup({ policy: parsePolicyConfig({ version: 1, defaultAction: 'drop', rules: [{ id: 'no-grooming', when: { kind: 'grooming' }, action: 'drop' }] }) });
    const r = await engine.ingestAlert(alert());
    expect(r.state).toBe('pending_review');
    const again = await engine.ingestAlert(alert());
    expect(again).toMatchObject({ caseId: r.caseId, outcome: 'merged' });
    expect((await store.getCase(r.caseId))!.policy).toMatchObject({ action: 'review', ruleId: 'builtin.grooming_requires_review' });
  });

  it('refuses NCMEC routing without an NCMEC reporter profile, and retention above 12 months', () => {
    expect(() => setup({ provider: { ...provider(), ncmec: undefined } })).toThrow(/ncmec reporter section/);
    expect(() => setup({ retention: { months: 13 } })).toThrow(/not allowed/);
    expect(() => parseRetentionConfig({ months: 13 })).toThrow(expect.objectContaining({ code: 'retention_too_long' }));
    expect(parseRetentionConfig()).toEqual({ months: 12 });
  });

  it('runs a review through claim, confirm and report queueing; feedback and decisions are stored', async () => {
    const { engine, store, clock } = setup();
    const r = await engine.ingestMatch(match({ distance: 10 }));
    await engine.review(r.caseId, { type: 'claim', actor: reviewer });
    clock.advance(120_000);
    const res = await engine.review(r.caseId, { type: 'confirm', actor: reviewer, industryClassification: 'A1' });
    expect(res.case.state).toBe('confirmed');
    expect(await store.listDecisions(r.caseId)).toHaveLength(1);
    expect(await store.listFeedback(r.caseId)).toHaveLength(1);
    expect(await store.listOutbox(r.caseId)).toHaveLength(2);
    const types = (await store.audit.list()).map((a) => a.type);
    expect(types).toEqual(['match_received', 'case_opened', 'policy_outcome', 'case_claimed', 'review_decision', 'feedback_recorded', 'report_queued', 'report_queued']);
    await expect(engine.review('nope', { type: 'claim', actor: reviewer })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('upheld complaint before delivery reverses the case, cancels reports, down-votes the entry', async () => {
    const { engine, store, clock } = setup();
    const r = await engine.ingestMatch(match({ algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 }));
    const cp = await engine.fileComplaint({ caseId: r.caseId, subject: 'detection', complainantRef: 'acct-u1', groundsCode: 'not_abuse_material' });
    expect(await engine.fileComplaint({ caseId: r.caseId, subject: 'detection', complainantRef: 'acct-u1', groundsCode: 'not_abuse_material' })).toEqual(cp);
    await expect(engine.decideComplaint(cp.complaintId, { actor: reviewer, outcome: 'upheld', groundsCode: 'benign' })).rejects.toMatchObject({ code: 'forbidden_role' });
    clock.advance(3600_000);
    const decided = await engine.decideComplaint(cp.complaintId, { actor: admin, outcome: 'upheld', groundsCode: 'benign_collision' });
    expect(decided).toMatchObject({ state: 'upheld', reversal: { reversed: true }, attributedTo: [{ kind: 'bank', entryId: 'e-1', algorithm: 'sha256' }] });
    expect((await store.getCase(r.caseId))!).toMatchObject({ state: 'false_positive', reversedAtMs: clock.nowMs });
    expect((await store.listOutbox(r.caseId)).map((o) => o.state)).toEqual(['cancelled', 'cancelled']);
    expect((await store.listFeedback(r.caseId))[0]).toMatchObject({ vote: 'down', reasonCode: 'complaint_upheld' });
    await expect(engine.decideComplaint(cp.complaintId, { actor: admin, outcome: 'rejected', groundsCode: 'x' })).rejects.toMatchObject({ code: 'invalid_transition' });
  });

  it('purges case data after 12 months (fake clock), leaving an audit record and transparency figures', async () => {
    const { engine, store, clock } = setup();
    const a = await engine.ingestMatch(match({ distance: 10 }));
    await engine.review(a.caseId, { type: 'claim', actor: reviewer });
    clock.advance(10 * 60_000);
    await engine.review(a.caseId, { type: 'false_positive', actor: reviewer, reasonCode: 'benign_collision', action: 'propose_allow' });
    const cp = await engine.fileComplaint({ caseId: a.caseId, subject: 'detection', complainantRef: 'acct-u1', groundsCode: 'wrong_account' });
    clock.advance(60_000);
    await engine.decideComplaint(cp.complaintId, { actor: admin, outcome: 'rejected', groundsCode: 'correctly_flagged' });

    const b = await engine.ingestMatch(match({ uploaderAccountId: 'acct-u9', distance: 5 }));
    await engine.review(b.caseId, { type: 'claim', actor: reviewer });
    clock.advance(5 * 60_000);
    await engine.review(b.caseId, { type: 'confirm', actor: reviewer });

    expect(await engine.purgeExpired()).toEqual([]);
    clock.nowMs = addMonthsUtc(T0, 12) - 1;
    expect(await engine.purgeExpired()).toEqual([]);
    clock.nowMs = addMonthsUtc(T0, 12);
    expect(await engine.purgeExpired()).toEqual([a.caseId]);
    clock.advance(3600_000);
    expect(await engine.purgeExpired()).toEqual([b.caseId]);
    const purged = [a.caseId, b.caseId];
    for (const id of purged) {
      const c = (await store.getCase(id))!;
      expect(c).toMatchObject({ state: 'purged', subjectId: '', items: [] });
      expect(c.detectors.length).toBeGreaterThan(0);
    }
    expect(JSON.stringify(await store.listOutbox())).not.toContain('acct-u9');
    expect((await store.listComplaints())[0]!.complainantRef).toBe('');
    expect(await store.findCaseByItem('plat-1', 'c-1')).toBeUndefined();
    const audit = await store.audit.list();
    expect(audit.filter((x) => x.type === 'data_purged')).toHaveLength(2);
    expect(verifyAuditChain(audit).ok).toBe(true);
    // Nothing left to purge; figures survive the purge.
    expect(await engine.purgeExpired()).toEqual([]);
    const t = transparencyReport(
      { cases: await store.listCases(), decisions: await store.listDecisions(), complaints: await store.listComplaints(), outbox: await store.listOutbox() },
      T0,
      T0 + 86_400_000,
    );
    expect(t.reviewOutcomes).toEqual({ confirm: 1, false_positive: 1, escalate: 0 });
    expect(t.errorRates).toEqual([{ detector: 'bank:eu-indicators', algorithm: 'pdq', reviewed: 2, falsePositives: 1, upheldComplaints: 0, falsePositiveRate: 0.5, errorRate: 0.5 }]);
    expect(t.complaints).toMatchObject({ filed: 1, byGrounds: { wrong_account: 1 }, byOutcome: { rejected: 1 }, decided: 1, medianTimeToDecisionMs: 60_000, reversals: 0 });
    expect(t.medianTimeToDecisionMs).toBe(Math.round((10 * 60_000 + 5 * 60_000) / 2));
  });

  it('records an authority\'s request to hold the user notification, and the removal state', async () => {
    const { engine, store } = setup();
    const r = await engine.ingestMatch(match({ distance: 10 }));
    const held = await engine.holdNotification(r.caseId, T0 + 200 * 86_400_000, 'ncmec');
    expect(held.notificationHoldUntilMs).toBe(T0 + 200 * 86_400_000);
    expect((await engine.markRemoved(r.caseId, true)).removal).toEqual({ removed: true, atMs: T0 });
    expect((await store.audit.list()).find((a) => a.type === 'notification_hold')?.data).toEqual({ untilMs: T0 + 200 * 86_400_000, authority: 'ncmec' });
    await expect(engine.holdNotification('nope', 1, 'ncmec')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('retention counts calendar months and refuses a shorter-than-a-month or fractional period', () => {
    expect(new Date(addMonthsUtc(Date.UTC(2026, 0, 31), 1)).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(new Date(addMonthsUtc(Date.UTC(2026, 4, 15, 7), 12)).toISOString()).toBe('2027-05-15T07:00:00.000Z');
    expect(() => parseRetentionConfig({ months: 0 })).toThrow();
    expect(() => parseRetentionConfig({ months: 1.5 })).toThrow();
    expect(parseRetentionConfig({ months: 6 })).toEqual({ months: 6 });
  });

  describe('one matcher result with several matches (ingestMatches)', () => {
    const pdq = (over = {}) => match({ matchId: 'g-pdq', contentId: 'c-group', distance: 9, entryHash: WEE_PDQ, ...over });
    const exactMatch = (over = {}) =>
      match({ matchId: 'g-sha', contentId: 'c-group', algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256, bank: { name: 'eu-indicators', kind: 'block', source: 'eu_centre', entryId: 'e-9', listVersion: 'v1', verified: true }, ...over });

    it('decides policy on all matches together, whatever their order', async () => {
      for (const order of [[pdq(), exactMatch()], [exactMatch(), pdq()]]) {
        const { engine, store } = setup();
        const r = await engine.ingestMatches(order);
        expect(r).toMatchObject({ outcome: 'opened', state: 'confirmed' });
        const c = (await store.getCase(r.caseId))!;
        expect(c.items).toHaveLength(1);
        expect(c.items[0]!.type === 'match' && c.items[0]!.matches.map((m) => m.matchId).sort()).toEqual(['g-pdq', 'g-sha']);
        expect(c.policy).toMatchObject({ action: 'report', ruleId: 'exact-verified' });
        expect((await store.audit.list()).filter((a) => a.type === 'match_received')).toHaveLength(2);
        // A replay of the same result is a duplicate of the same case.
        expect(await engine.ingestMatches(order)).toMatchObject({ caseId: r.caseId, outcome: 'duplicate' });
        expect(await store.listCases()).toHaveLength(1);
      }
    });

    it('refuses an empty group and a group that mixes contents', async () => {
      const { engine } = setup();
      await expect(engine.ingestMatches([])).rejects.toMatchObject({ code: 'invalid_event' });
      await expect(engine.ingestMatches([pdq(), exactMatch({ contentId: 'other' })])).rejects.toMatchObject({ code: 'invalid_event' });
    });

    it('carries the bank kind and the entry hash into feedback and detectors', async () => {
      const { engine } = setup();
      const r = await engine.ingestMatches([pdq({ matchId: 'g-1' }), match({ matchId: 'g-2', contentId: 'c-group', algorithm: 'md5', distance: 0, queryHash: 'ABCDEF0123456789ABCDEF0123456789', bank: { name: 'platform-list', kind: 'review', source: 'platform', entryId: 'p-1', listVersion: '3' } })]);
      expect(r.state).toBe('pending_review');
      await engine.review(r.caseId, { type: 'claim', actor: admin });
      const { feedback, case: c } = await engine.review(r.caseId, { type: 'false_positive', actor: admin, reasonCode: 'benign_collision', action: 'disable_entry' });
      expect(feedback.map((f) => [f.entryId, f.bankKind, f.entryHash, f.vote, f.action])).toEqual([
        ['e-1', 'block', WEE_PDQ, 'down', 'disable_entry'],
        // An exact match without an entry hash: the entry's hash is the query hash (lowercased).
        ['p-1', 'review', 'abcdef0123456789abcdef0123456789', 'down', 'disable_entry'],
      ]);
      expect(c.detectors.find((d) => d.kind === 'bank' && d.entryId === 'e-1')).toMatchObject({ bankKind: 'block', entryHash: WEE_PDQ });
    });

    it('leaves the entry hash out when it cannot be known (near match from a matcher without entryHash)', async () => {
      const { engine } = setup();
      const r = await engine.ingestMatch(match({ distance: 7 }));
      await engine.review(r.caseId, { type: 'claim', actor: reviewer });
      const { feedback } = await engine.review(r.caseId, { type: 'confirm', actor: reviewer });
      expect(feedback).toHaveLength(1);
      expect(feedback[0]!.entryHash).toBeUndefined();
      expect(feedback[0]).toMatchObject({ vote: 'up', bankKind: 'block' });
    });
  });

  it('queues the reports of a confirmed case on replay when the process stopped before queueing them', async () => {
    const { engine, store } = setup();
    const ev = match({ algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 });
    // The case was saved as confirmed, then the process died: no policy record, no outbox.
    const c = openCase({ type: 'match', event: ev }, T0);
    await store.saveCase({ ...c, state: 'confirmed', policy: evaluatePolicy(c.items, policy(), T0), category: 'known_material' }, 0);
    expect(await engine.ingestMatch(ev)).toMatchObject({ caseId: c.caseId, outcome: 'duplicate', state: 'confirmed' });
    expect((await store.listOutbox(c.caseId)).map((o) => o.destination).sort()).toEqual(['eu_centre', 'ncmec']);
    const types = (await store.audit.list()).map((a) => a.type);
    expect(types.indexOf('policy_outcome')).toBeLessThan(types.indexOf('report_queued'));
    // A second replay changes nothing.
    await engine.ingestMatch(ev);
    expect(await store.listOutbox(c.caseId)).toHaveLength(2);
  });
});
