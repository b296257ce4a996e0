// Self-healing of confirmed cases whose reports were never queued (a crash between saving the
// decision and queueing): ReportingEngine.repairUnqueuedReports.
import { BRIDGE_SHA256, FakeClock, match, policy, provider, signingKey } from './__fixtures__/fixtures';
import { verifyAuditChain, type AuditRecord } from './audit';
import { openCase } from './case';
import { ReportingEngine } from './engine';
import { evaluatePolicy } from './policy';
import { MemoryReportingStore } from './store/memory';
import type { OutboxRecord } from './store/types';

const key = signingKey();
const reviewer = { id: 'rev-1', role: 'reviewer' as const };

/** A store whose chosen operation fails once, as if the process had died at that point. */
class CrashingStore extends MemoryReportingStore {
  crashOn: 'addDecision' | 'enqueue' | 'audit_review_decision' | undefined;
  private crash(): never {
    this.crashOn = undefined;
    throw new Error('simulated crash');
  }
  constructor() {
    super();
    const append = this.audit.append.bind(this.audit);
    this.audit.append = async (record: AuditRecord) => {
      if (this.crashOn === 'audit_review_decision' && record.type === 'review_decision') this.crash();
      return append(record);
    };
  }
  override async addDecision(...args: Parameters<MemoryReportingStore['addDecision']>): Promise<void> {
    if (this.crashOn === 'addDecision') this.crash();
    return super.addDecision(...args);
  }
  override async enqueue(r: OutboxRecord): Promise<boolean> {
    if (this.crashOn === 'enqueue') this.crash();
    return super.enqueue(r);
  }
}

function setup() {
  const store = new CrashingStore();
  const clock = new FakeClock();
  const engine = new ReportingEngine({ store, policy: policy(), provider: provider(), signingKey: key, clock: clock.now });
  return { store, clock, engine };
}

/** A case under review, claimed by `reviewer`. */
async function claimedCase(engine: ReportingEngine): Promise<string> {
  const r = await engine.ingestMatch(match({ distance: 10 }));
  await engine.review(r.caseId, { type: 'claim', actor: reviewer });
  return r.caseId;
}

const typesOf = async (store: MemoryReportingStore, caseId: string): Promise<string[]> => (await store.audit.list()).filter((a) => a.caseId === caseId).map((a) => a.type);

describe('repairUnqueuedReports', () => {
  it('queues the reports of a case confirmed by a reviewer when the process stopped before queueing; idempotent', async () => {
    const { engine, store } = setup();
    const caseId = await claimedCase(engine);
    store.crashOn = 'enqueue';
    await expect(engine.review(caseId, { type: 'confirm', actor: reviewer })).rejects.toThrow('simulated crash');
    expect((await store.getCase(caseId))!.state).toBe('confirmed');
    expect(await store.listOutbox(caseId)).toEqual([]);

    expect(await engine.repairUnqueuedReports()).toEqual({ queued: [caseId], requeued: [], failed: [] });
    expect((await store.listOutbox(caseId)).map((o) => o.destination).sort()).toEqual(['eu_centre', 'ncmec']);
    // Nothing was recorded twice: one decision, one feedback record, each audited once.
    expect(await typesOf(store, caseId)).toEqual(['match_received', 'case_opened', 'policy_outcome', 'case_claimed', 'review_decision', 'feedback_recorded', 'report_queued', 'report_queued']);
    expect(await store.listFeedback(caseId)).toHaveLength(1);

    expect(await engine.repairUnqueuedReports()).toEqual({ queued: [], requeued: [], failed: [] });
    expect(await store.listOutbox()).toHaveLength(2);
    expect(verifyAuditChain(await store.audit.list()).ok).toBe(true);
  });

  it('completes a decision stored but not audited (audit record and feedback marked repaired) before queueing', async () => {
    const { engine, store } = setup();
    const caseId = await claimedCase(engine);
    store.crashOn = 'audit_review_decision';
    await expect(engine.review(caseId, { type: 'confirm', actor: reviewer, reasonCode: 'confirmed_csam' })).rejects.toThrow('simulated crash');
    const [decision] = await store.listDecisions(caseId);
    expect(decision).toBeDefined();
    expect(await store.listFeedback(caseId)).toEqual([]);

    expect(await engine.repairUnqueuedReports()).toEqual({ queued: [caseId], requeued: [], failed: [] });
    const chain = await store.audit.list();
    const audited = chain.filter((a) => a.caseId === caseId);
    expect(audited.map((a) => a.type)).toEqual(['match_received', 'case_opened', 'policy_outcome', 'case_claimed', 'review_decision', 'feedback_recorded', 'report_queued', 'report_queued']);
    expect(audited.find((a) => a.type === 'review_decision')).toMatchObject({ actor: { kind: 'reviewer', id: 'rev-1' }, data: { decisionId: decision!.decisionId, decision: 'confirm', reasonCode: 'confirmed_csam', decidedAtMs: decision!.atMs, repaired: true } });
    expect(await store.listFeedback(caseId)).toEqual([expect.objectContaining({ vote: 'up', reasonCode: 'confirmed_csam', createdAtMs: decision!.atMs, actorId: 'rev-1' })]);
    // Every queued report follows the recorded decision in the chain.
    expect(audited.findIndex((a) => a.type === 'review_decision')).toBeLessThan(audited.findIndex((a) => a.type === 'report_queued'));
    expect(verifyAuditChain(chain).ok).toBe(true);
  });

  it('returns a case confirmed without a stored decision to the review queue instead of reporting it', async () => {
    const { engine, store } = setup();
    const caseId = await claimedCase(engine);
    store.crashOn = 'addDecision';
    await expect(engine.review(caseId, { type: 'confirm', actor: reviewer, industryClassification: 'A1' })).rejects.toThrow('simulated crash');
    expect((await store.getCase(caseId))!).toMatchObject({ state: 'confirmed', industryClassification: 'A1' });

    expect(await engine.repairUnqueuedReports()).toEqual({ queued: [], requeued: [caseId], failed: [] });
    const c = (await store.getCase(caseId))!;
    expect(c.state).toBe('pending_review');
    expect(c).not.toHaveProperty('decidedAtMs');
    expect(c).not.toHaveProperty('industryClassification');
    expect(await store.listOutbox(caseId)).toEqual([]);
    expect((await store.audit.list()).at(-1)).toMatchObject({ type: 'case_requeued', caseId, data: { reason: 'decision_missing', previousState: 'confirmed' } });
    // A reviewer decides again, and only then is it reported.
    await engine.review(caseId, { type: 'claim', actor: reviewer });
    await engine.review(caseId, { type: 'confirm', actor: reviewer });
    expect(await store.listOutbox(caseId)).toHaveLength(2);
  });

  it('queues a case confirmed by policy (direct report) whose reports were never queued; a case it cannot repair does not stop the others', async () => {
    const { engine, store } = setup();
    // A broken record (no evidence left to report) sorts first and fails; the pass goes on.
    const broken = openCase({ type: 'match', event: match({ uploaderAccountId: 'acct-broken', algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 }) }, 0);
    await store.saveCase({ ...broken, openedAtMs: -1, state: 'confirmed', items: [], policy: evaluatePolicy(broken.items, policy(), 0) }, 0);
    const ev = match({ algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 });
    const c = openCase({ type: 'match', event: ev }, 0);
    await store.saveCase({ ...c, state: 'confirmed', policy: evaluatePolicy(c.items, policy(), 0), category: 'known_material' }, 0);
    expect(await engine.repairUnqueuedReports()).toEqual({ queued: [c.caseId], requeued: [], failed: [{ caseId: broken.caseId, code: 'invalid_case' }] });
    expect(await typesOf(store, c.caseId)).toEqual(['policy_outcome', 'report_queued', 'report_queued']);
  });

  it('leaves alone escalated cases, cases with reports, and a case whose review is still under way', async () => {
    const { engine, store } = setup();
    const escalated = await claimedCase(engine);
    await engine.review(escalated, { type: 'escalate', actor: reviewer, reasonCode: 'imminent_risk' });
    const reported = await engine.ingestMatch(match({ uploaderAccountId: 'acct-u7', algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 }));
    expect(reported.state).toBe('confirmed');

    // A confirm held between saving the case and queueing: the repair pass must not touch it.
    const busy = await engine.ingestMatch(match({ uploaderAccountId: 'acct-u8', distance: 10 }));
    await engine.review(busy.caseId, { type: 'claim', actor: reviewer });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const enqueue = store.enqueue.bind(store);
    store.enqueue = async (r) => {
      await held;
      return enqueue(r);
    };
    const confirming = engine.review(busy.caseId, { type: 'confirm', actor: reviewer });
    while ((await store.getCase(busy.caseId))!.state !== 'confirmed') await new Promise((r) => setTimeout(r, 1));
    expect(await engine.repairUnqueuedReports()).toEqual({ queued: [], requeued: [], failed: [] });
    release();
    await confirming;
    expect(await store.listOutbox(busy.caseId)).toHaveLength(2);
    expect((await store.audit.list()).filter((a) => a.caseId === busy.caseId && a.type === 'report_queued')).toHaveLength(2);
    expect((await store.getCase(escalated))!.state).toBe('escalated');
    expect(await store.listOutbox(escalated)).toEqual([]);
  });
});
