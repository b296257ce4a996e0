import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BRIDGE_SHA256, FakeClock, match, policy, provider, signingKey } from '../__fixtures__/fixtures';
import { verifyAuditChain } from '../audit';
import { ReportingEngine } from '../engine';
import { EuCentreSimulator } from '../sim/eu-simulator';
import { NcmecSimulator } from '../sim/ncmec-simulator';
import { MemoryReportingStore } from '../store/memory';
import { SqliteReportingStore } from '../store/sqlite';
import type { OutboxRecord, ReportingStore } from '../store/types';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff';
import { EuCentreClient } from './eu-client';
import { NcmecClient } from './ncmec-client';
import { DeliveryRunner, type MediaSource } from './runner';

const key = signingKey();
const media: MediaSource = { read: async (uri) => (uri.startsWith('s3://') ? Buffer.from(`benign synthetic bytes for ${uri}`) : undefined) };
const exact = () => match({ algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 });

describe('delivery to the local authority simulators', () => {
  let ncmecSim: NcmecSimulator;
  let euSim: EuCentreSimulator;
  let clock: FakeClock;
  let dir: string;
  beforeEach(async () => {
    ncmecSim = await NcmecSimulator.start();
    euSim = await EuCentreSimulator.start({ publicKeys: [key.publicKey] });
    clock = new FakeClock();
    dir = mkdtempSync(join(tmpdir(), 'sg-delivery-'));
  });
  afterEach(async () => {
    await ncmecSim.close();
    await euSim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function wire(store: ReportingStore, over: { timeoutMs?: number; maxAttempts?: number } = {}) {
    const engine = new ReportingEngine({ store, policy: policy(), provider: provider(), signingKey: key, clock: clock.now });
    const runner = new DeliveryRunner({
      store,
      clock: clock.now,
      ncmec: new NcmecClient({ baseUrl: ncmecSim.url, ...ncmecSim.credentials, timeoutMs: over.timeoutMs ?? 5_000 }),
      euCentre: new EuCentreClient({ url: euSim.url }),
      media,
      random: () => 0,
      backoff: { maxAttempts: over.maxAttempts ?? DEFAULT_BACKOFF.maxAttempts },
    });
    return { engine, runner };
  }

  async function directReportCase(store: ReportingStore): Promise<{ caseId: string; ncmecKey: string; euKey: string }> {
    const { engine } = wire(store);
    const r = await engine.ingestMatch(exact());
    expect(r.state).toBe('confirmed');
    const outbox = await store.listOutbox(r.caseId);
    return { caseId: r.caseId, ncmecKey: outbox.find((o) => o.destination === 'ncmec')!.key, euKey: outbox.find((o) => o.destination === 'eu_centre')!.key };
  }

  it('runs submit → upload → fileinfo → finish and the signed EU POST, then marks the case reported', async () => {
    const store = new MemoryReportingStore();
    const { caseId, ncmecKey } = await directReportCase(store);
    const { runner } = wire(store);
    const summary = await runner.runDue();
    expect(summary).toEqual({ processed: 2, delivered: 2, retryScheduled: 0, failed: 0, retracted: 0 });
    expect(ncmecSim.calls.map((c) => `${c.path}:${c.responseCode}`)).toEqual(['/submit:0', '/upload:0', '/fileinfo:0', '/finish:0']);
    const [report] = [...ncmecSim.reports.values()];
    expect(report!.state).toBe('finished');
    expect([...report!.files.values()][0]!.details?.children.find((c) => c.name === 'industryClassification')?.text).toBe('B2');
    expect(euSim.accepted.size).toBe(1);
    const rec = (await store.getOutbox(ncmecKey))!;
    expect(rec).toMatchObject({ state: 'delivered', ncmec: { reportId: report!.reportId } });
    const c = (await store.getCase(caseId))!;
    expect(c.state).toBe('reported');
    expect(c.reportedAtMs).toBe(clock.nowMs);
    const audit = await store.audit.list();
    expect(verifyAuditChain(audit).ok).toBe(true);
    expect(audit.filter((a) => a.type === 'report_sent').map((a) => a.data.destination).sort()).toEqual(['eu_centre', 'ncmec']);
    // Nothing more to do; a second pass sends nothing.
    expect(await runner.runDue()).toMatchObject({ processed: 0 });
    expect(ncmecSim.callsTo('/submit')).toHaveLength(1);
  });

  it('retries a transient 5xx with backoff and submits exactly once', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    const { runner } = wire(store);
    ncmecSim.faults.add({ path: '/submit', nth: 1, fault: { kind: 'status', status: 503 } });
    await runner.deliver(ncmecKey);
    const r1 = (await store.getOutbox(ncmecKey))!;
    expect(r1).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAtMs: clock.nowMs + backoffDelayMs(1, DEFAULT_BACKOFF, () => 0), lastError: { code: 'delivery_unavailable', httpStatus: 503 } });
    expect((await runner.runDue()).processed).toBe(1); // the EU record only
    clock.advance(r1.nextAttemptAtMs - clock.nowMs);
    expect(await runner.runDue()).toMatchObject({ processed: 1, delivered: 1 });
    expect(ncmecSim.reports.size).toBe(1);
    expect(ncmecSim.callsTo('/submit').map((c) => c.httpStatus)).toEqual([503, 200]);
  });

  it('never retries a 4100 validation failure', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    const r = (await store.getOutbox(ncmecKey))!;
    const broken: OutboxRecord = { ...r, ncmec: { ...r.ncmec!, reportXml: r.ncmec!.reportXml.replace(/<incidentSummary>.*?<\/incidentSummary>/, '').replace('</reporter>', '</reporter><incidentSummary/>') } };
    await store.saveOutbox(broken, r.version);
    const { runner } = wire(store);
    const done = await runner.deliver(ncmecKey);
    expect(done).toMatchObject({ state: 'failed', lastError: { code: 'delivery_rejected', authorityCode: 4100, httpStatus: 400 } });
    clock.advance(24 * 3600_000);
    await runner.runDue();
    expect(ncmecSim.callsTo('/submit')).toHaveLength(1);
    expect((await store.audit.list()).some((a) => a.type === 'report_failed' && a.data.authorityCode === 4100)).toBe(true);
  });

  it('retracts an unfinished report when a later step fails for good', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey, caseId } = await directReportCase(store);
    const { runner } = wire(store);
    ncmecSim.faults.add({ path: '/fileinfo', fault: { kind: 'status', status: 400 } });
    const done = await runner.deliver(ncmecKey);
    expect(done.state).toBe('failed');
    expect(done.ncmec?.retractedAtMs).toBe(clock.nowMs);
    expect(ncmecSim.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/fileinfo', '/retract']);
    expect([...ncmecSim.reports.values()][0]!.state).toBe('retracted');
    expect((await store.getCase(caseId))!.state).toBe('confirmed');
    expect((await store.audit.list()).map((a) => a.type)).toContain('report_retracted');
  });

  it('resumes after a restart at the step it stopped, never submitting twice (durable store)', async () => {
    const path = join(dir, 'store.db');
    const first = new SqliteReportingStore(path);
    const { ncmecKey, caseId } = await directReportCase(first);
    ncmecSim.faults.add({ path: '/upload', fault: { kind: 'drop' } });
    await wire(first).runner.deliver(ncmecKey);
    const mid = (await first.getOutbox(ncmecKey))!;
    expect(mid.state).toBe('submitted');
    expect(mid.ncmec?.reportId).toBeDefined();
    expect(mid.ncmec?.files[0]?.fileId).toBeUndefined();
    await first.close();

    // "Restart": a new store handle and a new runner on the same file.
    const second = new SqliteReportingStore(path);
    clock.advance(60_000);
    const { runner } = wire(second);
    await runner.runDue();
    const done = (await second.getOutbox(ncmecKey))!;
    expect(done.state).toBe('delivered');
    expect(ncmecSim.callsTo('/submit')).toHaveLength(1);
    expect(ncmecSim.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/upload', '/fileinfo', '/finish']);
    expect((await second.getCase(caseId))!.state).toBe('reported');
    expect(verifyAuditChain(await second.audit.list()).ok).toBe(true);
    await second.close();
  });

  it('counts a submit whose answer was lost as ambiguous (the simulator then holds two reports)', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    ncmecSim.faults.add({ path: '/submit', fault: { kind: 'drop_after_processing' } });
    const { runner } = wire(store);
    const r = await runner.deliver(ncmecKey);
    expect(r).toMatchObject({ state: 'pending', ambiguousSubmits: 1, attempts: 1 });
    clock.advance(r.nextAttemptAtMs - clock.nowMs);
    expect((await runner.deliver(ncmecKey)).state).toBe('delivered');
    expect(ncmecSim.reports.size).toBe(2);
  });

  it('counts NCMEC\'s "already finished" answer to a repeated /finish of our report as delivered (the first answer was lost)', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey, caseId } = await directReportCase(store);
    ncmecSim.faults.add({ path: '/finish', fault: { kind: 'drop_after_processing' } });
    const { runner } = wire(store);
    const first = await runner.deliver(ncmecKey);
    // The report is finished at NCMEC, but the runner could not know: it retries later.
    expect(first).toMatchObject({ state: 'submitted', attempts: 1, lastError: { code: 'delivery_unavailable' } });
    expect([...ncmecSim.reports.values()].map((r) => r.state)).toEqual(['finished']);
    clock.advance(first.nextAttemptAtMs - clock.nowMs);
    const done = await runner.deliver(ncmecKey);
    expect(done).toMatchObject({ state: 'delivered', deliveredAtMs: clock.nowMs });
    expect(ncmecSim.callsTo('/finish').map((c) => c.responseCode ?? null)).toEqual([0, 5102]);
    expect(ncmecSim.callsTo('/submit')).toHaveLength(1);
    expect(ncmecSim.callsTo('/retract')).toHaveLength(0);
    const sent = (await store.audit.list()).filter((a) => a.type === 'report_sent' && a.data.destination === 'ncmec');
    expect(sent.map((a) => a.data)).toEqual([{ reportKey: ncmecKey, destination: 'ncmec', authorityReportId: done.ncmec!.reportId!, alreadyFinished: true }]);
    expect((await store.audit.list()).some((a) => a.type === 'report_failed')).toBe(false);
    await runner.runDue();
    expect((await store.getCase(caseId))!.state).toBe('reported');
  });

  it('still fails when NCMEC does not know the report id at /finish (5001 is no success)', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    const { runner } = wire(store);
    ncmecSim.faults.add({ path: '/finish', fault: { kind: 'drop' } });
    const mid = await runner.deliver(ncmecKey);
    expect(mid.state).toBe('submitted');
    // NCMEC deleted the unfinished report meanwhile (it does so after a day): 5001 is no success.
    ncmecSim.reports.clear();
    clock.advance(mid.nextAttemptAtMs - clock.nowMs);
    const done = await runner.deliver(ncmecKey);
    expect(done).toMatchObject({ state: 'failed', lastError: { code: 'delivery_rejected', authorityCode: 5001 } });
    expect((await store.audit.list()).some((a) => a.type === 'report_sent')).toBe(false);
  });

  it('gives up after maxAttempts transient failures', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    ncmecSim.faults.add({ path: '/submit', times: 10, fault: { kind: 'status', status: 502 } });
    const { runner } = wire(store, { maxAttempts: 3 });
    let r = await runner.deliver(ncmecKey);
    for (let i = 0; i < 5 && r.state === 'pending'; i++) {
      clock.advance(r.nextAttemptAtMs - clock.nowMs);
      r = await runner.deliver(ncmecKey);
    }
    expect(r).toMatchObject({ state: 'failed', attempts: 3, lastError: { code: 'attempts_exhausted' } });
    expect(ncmecSim.callsTo('/submit')).toHaveLength(3);
  });

  it('treats a timeout as transient and ambiguous', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    ncmecSim.faults.add({ path: '/submit', fault: { kind: 'delay', ms: 300 } });
    const { runner } = wire(store, { timeoutMs: 50 });
    const r = await runner.deliver(ncmecKey);
    expect(r).toMatchObject({ state: 'pending', attempts: 1, ambiguousSubmits: 1 });
  });

  it('re-POSTs an EU report whose answer was lost and gets the same receipt (idempotency key)', async () => {
    const store = new MemoryReportingStore();
    const { euKey } = await directReportCase(store);
    euSim.faults.add({ fault: { kind: 'drop_after_processing' } });
    const { runner } = wire(store);
    const r = await runner.deliver(euKey);
    expect(r.state).toBe('pending');
    clock.advance(r.nextAttemptAtMs - clock.nowMs);
    const done = await runner.deliver(euKey);
    expect(done.state).toBe('delivered');
    expect(euSim.accepted.size).toBe(1);
    expect(done.eu?.receiptId).toBe([...euSim.accepted.values()][0]!.receiptId);
    expect(euSim.calls.map((c) => c.idempotencyKey)).toEqual([euKey, euKey]);
  });

  it('keeps retrying when an endpoint is not configured, and sends without files the platform cannot supply', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    const bare = new DeliveryRunner({ store, clock: clock.now, random: () => 0 });
    expect(await bare.deliver(ncmecKey)).toMatchObject({ state: 'pending', lastError: { code: 'delivery_unconfigured' } });
    const noMedia = new DeliveryRunner({ store, clock: clock.now, ncmec: new NcmecClient({ baseUrl: ncmecSim.url, ...ncmecSim.credentials }) });
    expect((await noMedia.deliver(ncmecKey)).state).toBe('delivered');
    expect(ncmecSim.calls.map((c) => c.path)).toEqual(['/submit', '/finish']);
  });

  it('refuses endpoint configs without a URL (no defaults point anywhere)', () => {
    expect(() => new NcmecClient({ username: 'u', password: 'p' } as never)).toThrow(/baseUrl/);
    expect(() => new EuCentreClient({} as never)).toThrow(/url/);
  });

  it('stops between steps when aborted: the step in flight completes and is stored, no new one starts', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    const { runner } = wire(store);
    const stop = new AbortController();
    ncmecSim.faults.add({ path: '/upload', fault: { kind: 'delay', ms: 150 } });
    const pass = runner.runDue(100, { signal: stop.signal });
    while (ncmecSim.callsTo('/upload').length === 0) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    // The EU record (earlier key) was delivered first; the NCMEC one stopped after /upload.
    expect(await pass).toMatchObject({ processed: 2, delivered: 1, retryScheduled: 1 });
    const r = (await store.getOutbox(ncmecKey))!;
    expect(r.state).toBe('submitted');
    expect(r.ncmec?.files[0]?.fileId).toBeDefined();
    expect(ncmecSim.calls.map((c) => c.path)).toEqual(['/submit', '/upload']);
    // The next pass resumes at /fileinfo.
    expect(await runner.runDue()).toMatchObject({ processed: 1, delivered: 1 });
    expect(ncmecSim.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/fileinfo', '/finish']);
  });

  it('counts a submit cut off by a crash as ambiguous on restart (it may have reached NCMEC), once', async () => {
    const path = join(dir, 'crash.db');
    const first = new SqliteReportingStore(path);
    const { ncmecKey } = await directReportCase(first);
    // The submit is processed but never answered; the "process" is gone before it learns anything.
    ncmecSim.faults.add({ path: '/submit', fault: { kind: 'hang', process: true } });
    const stop = new AbortController();
    const pending = wire(first).runner.deliver(ncmecKey, { signal: stop.signal });
    while (ncmecSim.callsTo('/submit').length === 0 || ncmecSim.reports.size === 0) await new Promise((r) => setTimeout(r, 5));
    const marked = (await first.getOutbox(ncmecKey))!;
    expect(marked).toMatchObject({ state: 'pending', ambiguousSubmits: 0 });
    expect(marked.ncmec?.submitStartedAtMs).toBe(clock.nowMs);
    // Simulated crash: copy the file as it is now and continue on the copy with a fresh runner.
    const copy = join(dir, 'crash-restart.db');
    await (first as unknown as { db: { backup(p: string): Promise<unknown> } }).db.backup(copy);
    const second = new SqliteReportingStore(copy);
    const done = await wire(second).runner.deliver(ncmecKey);
    expect(done).toMatchObject({ state: 'delivered', ambiguousSubmits: 1 });
    expect(done.ncmec?.submitStartedAtMs).toBeUndefined();
    const finished = [...ncmecSim.reports.values()].filter((x) => x.state === 'finished');
    expect(finished).toHaveLength(1);
    expect(ncmecSim.reports.size).toBe(2); // the orphan from the cut-off submit stays open: reconcile by hand
    expect((await second.audit.list()).filter((a) => a.type === 'delivery_ambiguous').map((a) => a.data)).toEqual([
      { reportKey: ncmecKey, destination: 'ncmec', step: 'submit', ambiguousSubmits: 1 },
    ]);
    expect(verifyAuditChain(await second.audit.list()).ok).toBe(true);
    stop.abort();
    await ncmecSim.close(); // releases the held request
    await pending.catch(() => undefined);
    await first.close();
    await second.close();
    ncmecSim = await NcmecSimulator.start();
  });

  it('counts a lost submit answer once, not again on the next attempt', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    ncmecSim.faults.add({ path: '/submit', fault: { kind: 'hang', process: true } });
    const { runner } = wire(store, { timeoutMs: 100 });
    const r = await runner.deliver(ncmecKey);
    expect(r).toMatchObject({ state: 'pending', ambiguousSubmits: 1 });
    expect(r.ncmec?.submitStartedAtMs).toBeUndefined();
    clock.advance(r.nextAttemptAtMs - clock.nowMs);
    expect(await runner.deliver(ncmecKey)).toMatchObject({ state: 'delivered', ambiguousSubmits: 1 });
    expect((await store.audit.list()).some((a) => a.type === 'delivery_ambiguous')).toBe(false);
  });

  it('audits a retraction that fails for good', async () => {
    const store = new MemoryReportingStore();
    const { ncmecKey } = await directReportCase(store);
    ncmecSim.faults.add({ path: '/fileinfo', fault: { kind: 'status', status: 400 } });
    ncmecSim.faults.add({ path: '/retract', fault: { kind: 'status', status: 400 } });
    const done = await wire(store).runner.deliver(ncmecKey);
    expect(done).toMatchObject({ state: 'failed' });
    expect(done.ncmec?.retractedAtMs).toBeUndefined();
    const failures = (await store.audit.list()).filter((a) => a.type === 'report_failed').map((a) => a.data);
    expect(failures).toEqual([
      expect.objectContaining({ reportKey: ncmecKey, willRetract: true }),
      expect.objectContaining({ reportKey: ncmecKey, retractFailed: true }),
    ]);
  });
});
