// Conformance suite every ReportingStore implementation must pass.
import { chainRecord } from '../audit';
import { mergeEvent, openCase, type Case } from '../case';
import { fileComplaint } from '../complaints';
import { ConflictError } from '../errors';
import type { FeedbackRecord, ReviewDecision } from '../review';
import type { OutboxRecord, ReportingStore } from '../store/types';
import { alert, match, T0 } from './fixtures';

export function storeConformance(name: string, make: () => Promise<ReportingStore>): void {
  describe(`ReportingStore conformance: ${name}`, () => {
    let store: ReportingStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    const newCase = (): Case => openCase({ type: 'match', event: match({ uploaderAccountId: 'u-store' }) }, T0);

    it('inserts and updates cases with optimistic versions', async () => {
      const c = newCase();
      const saved = await store.saveCase(c, 0);
      expect(saved.version).toBe(1);
      await expect(store.saveCase(c, 0)).rejects.toBeInstanceOf(ConflictError);
      const updated = await store.saveCase({ ...saved, state: 'claimed' }, 1);
      expect(updated.version).toBe(2);
      await expect(store.saveCase({ ...saved, state: 'confirmed' }, 1)).rejects.toMatchObject({ code: 'version_conflict' });
      expect(await store.getCase(c.caseId)).toEqual(updated);
      expect(await store.getCase('missing')).toBeUndefined();
      await expect(store.saveCase({ ...newCase(), caseId: 'never-saved' }, 3)).rejects.toBeInstanceOf(ConflictError);
    });

    it('returns copies, not live objects', async () => {
      const saved = await store.saveCase(newCase(), 0);
      saved.items.length = 0;
      expect((await store.getCase(saved.caseId))!.items).toHaveLength(1);
    });

    it('indexes items and finds open cases by subject', async () => {
      let c = newCase();
      c = mergeEvent(c, { type: 'match', event: match({ uploaderAccountId: 'u-store', contentId: 'second' }) }, T0).case;
      const saved = await store.saveCase(c, 0);
      expect((await store.findCaseByItem('plat-1', 'second'))?.caseId).toBe(saved.caseId);
      expect(await store.findCaseByItem('other-platform', 'second')).toBeUndefined();
      expect((await store.findOpenCase('match', 'plat-1', 'u-store'))?.caseId).toBe(saved.caseId);
      await store.saveCase({ ...saved, state: 'reported' }, saved.version);
      expect(await store.findOpenCase('match', 'plat-1', 'u-store')).toBeUndefined();
      // Items removed from a case leave the index.
      const latest = (await store.getCase(saved.caseId))!;
      await store.saveCase({ ...latest, items: [] }, latest.version);
      expect(await store.findCaseByItem('plat-1', 'second')).toBeUndefined();
      // The newest case saved with an item owns it; emptying an older case does not unindex it.
      const older = await store.saveCase(openCase({ type: 'match', event: match({ contentId: 'shared', uploaderAccountId: 'u-o1' }) }, T0), 0);
      const newer = await store.saveCase(openCase({ type: 'match', event: match({ contentId: 'shared', uploaderAccountId: 'u-o2' }) }, T0 + 1), 0);
      expect((await store.findCaseByItem('plat-1', 'shared'))?.caseId).toBe(newer.caseId);
      await store.saveCase({ ...older, items: [] }, older.version);
      expect((await store.findCaseByItem('plat-1', 'shared'))?.caseId).toBe(newer.caseId);
      const g = await store.saveCase(openCase({ type: 'grooming', event: alert({ conversationId: 'conv-s' }) }, T0 + 5), 0);
      expect((await store.findOpenCase('grooming', 'plat-1', 'conv-s'))?.caseId).toBe(g.caseId);
    });

    it('lists cases by state and age', async () => {
      const a = await store.saveCase(openCase({ type: 'match', event: match() }, T0), 0);
      const b = await store.saveCase({ ...openCase({ type: 'match', event: match() }, T0 + 10), state: 'dropped' }, 0);
      expect((await store.listCases()).map((c) => c.caseId)).toEqual([a.caseId, b.caseId]);
      expect((await store.listCases({ states: ['dropped'] })).map((c) => c.caseId)).toEqual([b.caseId]);
      expect((await store.listCases({ openedBeforeMs: T0 + 10 })).map((c) => c.caseId)).toEqual([a.caseId]);
      expect(await store.listCases({ limit: 1 })).toHaveLength(1);
    });

    it('stores decisions, feedback and complaints idempotently', async () => {
      const d: ReviewDecision = { decisionId: 'd1', caseId: 'c1', decision: 'confirm', actorId: 'r', role: 'reviewer', atMs: 5, urgent: false, detectors: [] };
      await store.addDecision(d);
      await store.addDecision({ ...d, actorId: 'changed' });
      expect(await store.listDecisions()).toEqual([d]);
      expect(await store.listDecisions('c2')).toEqual([]);
      const f: FeedbackRecord = {
        feedbackId: 'f1', caseId: 'c1', createdAtMs: 5, exchange: 'ncmec', bankName: 'b', entryId: 'e', listVersion: '1', algorithm: 'pdq',
        vote: 'down', opinion: 'negative', reasonCode: 'false_positive', action: 'none', actorId: 'r',
      };
      await store.addFeedback(f);
      await store.addFeedback(f);
      expect(await store.listFeedback('c1')).toEqual([f]);
      const cp = fileComplaint({ caseId: 'c1', subject: 'detection', complainantRef: 'u', groundsCode: 'not_abuse_material' }, 9);
      const saved = await store.saveComplaint(cp, 0);
      expect(saved.version).toBe(1);
      await expect(store.saveComplaint(cp, 0)).rejects.toBeInstanceOf(ConflictError);
      await store.saveComplaint({ ...saved, state: 'rejected' }, 1);
      expect((await store.getComplaint(cp.complaintId))?.state).toBe('rejected');
      expect(await store.listComplaints('c1')).toHaveLength(1);
    });

    it('keeps one outbox record per key, with versions and due listing', async () => {
      const r: OutboxRecord = {
        key: 'rep_1', caseId: 'c1', destination: 'eu_centre', version: 0, createdAtMs: 1, updatedAtMs: 1, state: 'pending',
        attempts: 0, nextAttemptAtMs: 100, ambiguousSubmits: 0, eu: { body: '{}\n' },
      };
      expect(await store.enqueue(r)).toBe(true);
      expect(await store.enqueue({ ...r, caseId: 'other' })).toBe(false);
      const got = (await store.getOutbox('rep_1'))!;
      expect(got.version).toBe(1);
      expect(got.caseId).toBe('c1');
      expect(await store.listDue(99)).toEqual([]);
      expect((await store.listDue(100)).map((x) => x.key)).toEqual(['rep_1']);
      const s = await store.saveOutbox({ ...got, state: 'delivered' }, 1);
      expect(s.version).toBe(2);
      await expect(store.saveOutbox({ ...got, state: 'failed' }, 1)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.listDue(1e15)).toEqual([]);
      expect((await store.listOutbox('c1')).map((x) => x.state)).toEqual(['delivered']);
      await expect(store.saveOutbox({ ...r, key: 'missing' }, 1)).rejects.toBeInstanceOf(ConflictError);
    });

    it('counts cases by state and finds the oldest case awaiting review', async () => {
      expect(await store.caseStats()).toEqual({ byState: {} });
      await store.saveCase({ ...openCase({ type: 'match', event: match() }, T0 + 50), state: 'dropped' }, 0);
      expect(await store.caseStats()).toEqual({ byState: { dropped: 1 } });
      await store.saveCase(openCase({ type: 'match', event: match() }, T0 + 20), 0);
      await store.saveCase({ ...openCase({ type: 'match', event: match() }, T0 + 10), state: 'escalated' }, 0);
      await store.saveCase({ ...openCase({ type: 'match', event: match() }, T0), state: 'reported' }, 0);
      expect(await store.caseStats()).toEqual({ byState: { dropped: 1, pending_review: 1, escalated: 1, reported: 1 }, oldestAwaitingReviewOpenedAtMs: T0 + 10 });
    });

    it('counts outbox records by destination and state, and ambiguous submits', async () => {
      const base: OutboxRecord = {
        key: 'k', caseId: 'c', destination: 'ncmec', version: 0, createdAtMs: 1, updatedAtMs: 1, state: 'pending',
        attempts: 0, nextAttemptAtMs: 1, ambiguousSubmits: 0,
      };
      expect(await store.outboxStats()).toEqual({ byDestinationState: [], ambiguous: 0 });
      await store.enqueue({ ...base, key: 'a' });
      await store.enqueue({ ...base, key: 'b', ambiguousSubmits: 2, state: 'delivered' });
      await store.enqueue({ ...base, key: 'c', state: 'delivered' });
      await store.enqueue({ ...base, key: 'd', destination: 'eu_centre' });
      expect(await store.outboxStats()).toEqual({
        byDestinationState: [
          { destination: 'eu_centre', state: 'pending', count: 1 },
          { destination: 'ncmec', state: 'delivered', count: 2 },
          { destination: 'ncmec', state: 'pending', count: 1 },
        ],
        ambiguous: 1,
      });
    });

    it('appends audit records in order and reports the head', async () => {
      expect(await store.audit.head()).toBeUndefined();
      const a = chainRecord({ atMs: 1, type: 'case_opened', actor: { kind: 'system', id: 's' }, data: {} }, undefined);
      const b = chainRecord({ atMs: 2, type: 'policy_outcome', actor: { kind: 'system', id: 's' }, data: { x: 1 } }, a);
      await store.audit.append(a);
      await store.audit.append(b);
      await expect(store.audit.append(b)).rejects.toThrow();
      expect(await store.audit.head()).toEqual({ seq: 1, hash: b.hash });
      expect(await store.audit.list()).toEqual([a, b]);
      expect(await store.audit.list(1)).toEqual([b]);
    });
  });
}
