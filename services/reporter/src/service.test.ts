import { readFileSync } from 'node:fs';
import { createTransport, parseDeadLetterHeaders, type ConsumedMessage, type InProcessTransport, type TopicBinding } from '@safeguard/kafka';
import { loadSigningKey, parsePolicyConfig, parseProviderProfile, ReportingEngine, SqliteReportingStore, verifyAuditEventRecords, verifyEuReportBytes, type AuditRecord } from '@safeguard/reporting';
import { topics } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { waitFor, type Falsy } from '@safeguard/testkit';
import { BRIDGE_PDQ, BRIDGE_SHA256, callApi, groomingAlert, KEYS, matchFound, pdqMatch, reporterEnv, startAuthorities, stopAuthorities, WEE_PDQ, type ApiAnswer, type Authorities, type Workspace } from '../test/helpers';
import { reporterConfigSchema } from './config';
import { startReporter, type ReporterService } from './service';

async function readAll<V>(transport: InProcessTransport, binding: TopicBinding<V>): Promise<ConsumedMessage<V>[]> {
  const out: ConsumedMessage<V>[] = [];
  if (!transport.broker.hasTopic(binding.topic)) return out;
  const reader = await transport.reader({ binding, handle: (m) => void out.push(m) });
  await reader.caughtUp();
  await reader.stop();
  return out;
}

/** Waits (with a deadline) for `probe` to return something truthy. */
function until<T>(description: string, probe: () => T | Promise<T>): Promise<Exclude<T, Falsy>> {
  return waitFor(probe, { description, timeoutMs: 15_000, intervalMs: 25 });
}

jest.setTimeout(30_000);

describe('reporter service (in-process transport, local authority simulators)', () => {
  let authorities: Authorities;
  let ws: Workspace;
  let ncmec: Authorities['ncmec'];
  let eu: Authorities['eu'];
  let transport: InProcessTransport;
  let runtime: ServiceRuntime;
  let service: ReporterService;
  let base: string;

  function env(over: Record<string, string> = {}): Record<string, string> {
    return {
      SAFEGUARD_TRANSPORT: 'in-process',
      LOG_LEVEL: 'silent',
      ...reporterEnv(authorities),
      REPORTER_DELIVERY_INTERVAL_MS: '50',
      REPORTER_RELAY_INTERVAL_MS: '50',
      REPORTER_DELIVERY_BACKOFF_BASE_MS: '50',
      ...over,
    };
  }

  async function start(over: Record<string, string> = {}, clock?: () => number): Promise<void> {
    const config = reporterConfigSchema.parse(env(over));
    runtime = await ServiceRuntime.start({ service: 'reporter', common: config.common, transport, healthServer: false });
    service = await startReporter(config, runtime, clock ? { clock } : {});
    base = `http://127.0.0.1:${service.httpPort}`;
  }

  beforeEach(async () => {
    authorities = await startAuthorities();
    ({ ws, ncmec, eu } = authorities);
    transport = createTransport({ kind: 'in-process', clientId: 'reporter' });
  });

  afterEach(async () => {
    await runtime?.stop();
    await stopAuthorities(authorities);
  });

  const call = (method: string, path: string, key: string | undefined, body?: unknown): Promise<ApiAnswer> => callApi(base, method, path, key, body);

  /** Waits until `GET /v1/cases` (as `key`) lists `count` cases; returns them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked by the assertions
  const listed = (count: number, description: string, key: string = KEYS.reviewer): Promise<any[]> =>
    until(description, async () => {
      const r = await call('GET', '/v1/cases', key);
      return r.json.cases.length === count ? r.json.cases : undefined;
    });

  /** The engine the service builds, on `store` (opened while the service is down), from the workspace's policy, provider profile and signing key. */
  function engineOn(store: SqliteReportingStore): ReportingEngine {
    return new ReportingEngine({
      store,
      policy: parsePolicyConfig(JSON.parse(readFileSync(ws.policyFile, 'utf8'))),
      provider: parseProviderProfile(JSON.parse(readFileSync(ws.providerFile, 'utf8'))),
      signingKey: loadSigningKey(readFileSync(ws.keyFile)),
      clock: Date.now,
    });
  }

  async function auditChain(): Promise<AuditRecord[]> {
    return service.store.audit.list();
  }

  it('reports an exact verified match directly: NCMEC gets one finished report with the file, the EU Centre a verifiable signed report; events and the audit chain are on their topics', async () => {
    await start();
    const m = matchFound({ mediaUri: ws.mediaUri });
    await transport.producer().send(topics.contentMatched, [{ value: m }]);

    await until('two finished deliveries', async () => (await readAll(transport, topics.caseReported)).length === 2);
    const finished = [...ncmec.reports.values()].filter((r) => r.state === 'finished');
    expect(finished).toHaveLength(1);
    expect(ncmec.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/fileinfo', '/finish']);
    const [file] = [...finished[0]!.files.values()];
    expect(file!.bytes.length).toBeGreaterThan(1000); // the benign image went up
    expect(eu.accepted.size).toBe(1);
    const [accepted] = [...eu.accepted.values()];
    expect(verifyEuReportBytes(accepted!.body, ws.publicKey, accepted!.report.signature!.keyId)).toMatchObject({ ok: true });

    const reports = (await readAll(transport, topics.caseReported)).map((r) => r.value!);
    expect(reports.map((r) => [r.destination, r.status, r.reportType]).sort()).toEqual([
      ['EU_CENTRE', 'DELIVERED', 'KNOWN_MATERIAL'],
      ['NCMEC', 'DELIVERED', 'KNOWN_MATERIAL'],
    ]);
    expect(reports.find((r) => r.destination === 'NCMEC')!.externalReportId).toBe(finished[0]!.reportId);

    // The audit topic holds exactly the store's chain, and it verifies.
    await service.relay.drain();
    const chain = await auditChain();
    const onTopic = (await readAll(transport, topics.auditRecorded)).map((r) => r.value!);
    expect(onTopic).toHaveLength(chain.length);
    expect(verifyAuditEventRecords(onTopic, { expectedHead: { seq: chain.at(-1)!.seq, hash: chain.at(-1)!.hash } })).toMatchObject({ ok: true });
    // The report went out on a recorded policy outcome, recorded before it was queued.
    const types = chain.map((r) => r.type);
    expect(types.indexOf('policy_outcome')).toBeLessThan(types.indexOf('report_queued'));
    expect(chain.find((r) => r.type === 'policy_outcome')!.data).toMatchObject({ action: 'report', ruleId: 'exact-verified' });
  });

  it('sends a PDQ near match and a grooming alert through human review, then reports them; decisions, feedback and audit are published', async () => {
    await start();
    const m = pdqMatch({ mediaUri: ws.mediaUri, uploadContext: { uploadedAtMs: 1_768_471_190_000, ipAddress: '198.51.100.23', countryCode: 'nl', publiclyAvailable: true } });
    const g = groomingAlert();
    await transport.producer().send(topics.contentMatched, [{ value: m }]);
    await transport.producer().send(topics.conversationFlagged, [{ value: g }]);

    const queue = await listed(2, 'two pending cases');
    expect(queue.map((c: { kind: string; state: string }) => [c.kind, c.state]).sort()).toEqual([
      ['grooming', 'pending_review'],
      ['match', 'pending_review'],
    ]);
    expect(ncmec.calls).toEqual([]);
    // Queue listings never carry the upload context (personal data).
    expect(JSON.stringify(queue)).not.toContain('198.51.100.23');

    // Claim the next case, read it (references, hashes, provenance, scores; no content), confirm it.
    for (let i = 0; i < 2; i++) {
      const claimed = await call('POST', '/v1/cases/claim-next', KEYS.reviewer, {});
      expect(claimed.status).toBe(200);
      const c = claimed.json.case;
      expect(c.state).toBe('claimed');
      const read = await call('GET', `/v1/cases/${c.caseId}`, KEYS.reviewer);
      expect(read.status).toBe(200);
      const ev = read.json.case.evidence[0];
      if (c.kind === 'match') {
        expect(ev).toMatchObject({ type: 'media', contentId: m.contentId, mediaUri: ws.mediaUri });
        expect(ev.matches[0]).toMatchObject({ algorithm: 'pdq', distance: 12, entryHash: WEE_PDQ, bank: { name: 'platform-review', entryId: 'p-7', listVersion: '2026-01' } });
        // The reviewer sees what will be reported about the upload.
        expect(ev.upload).toEqual({ uploadedAtMs: 1_768_471_190_000, ipAddress: '198.51.100.23', countryCode: 'NL', publiclyAvailable: true });
      } else {
        expect(ev).toMatchObject({ type: 'conversation', conversationId: g.conversationId, score: 0.91, stage: 'exclusivity', suspectedAccountId: 'acct-adult' });
        expect(ev.signals).toEqual([
          { kind: 'age_probing', messageIds: ['msg-3', 'msg-5'] },
          { kind: 'secrecy_request', messageIds: ['msg-9'] },
        ]);
        expect(read.json.case.policy.ruleId).toBe('default');
      }
      const decided = await call('POST', `/v1/cases/${c.caseId}/decision`, KEYS.reviewer, { outcome: 'confirm', ...(c.kind === 'match' ? { industryClassification: 'B1' } : {}) });
      expect(decided.status).toBe(200);
      expect(decided.json.case.state).toBe('confirmed');
    }
    expect((await call('POST', '/v1/cases/claim-next', KEYS.reviewer, {})).status).toBe(204);

    await until('four finished deliveries', async () => (await readAll(transport, topics.caseReported)).length === 4);
    const finished = [...ncmec.reports.values()].filter((r) => r.state === 'finished');
    expect(finished).toHaveLength(2);
    expect(finished.map((r) => r.report.children[0]!.children[0]!.text).sort()).toEqual([
      'Child Pornography (possession, manufacture, and distribution)',
      'Online Enticement of Children for Sexual Acts',
    ]);
    expect(eu.accepted.size).toBe(2);
    expect([...eu.accepted.values()].map((a) => a.report.category).sort()).toEqual(['new_material', 'solicitation']);
    // The upload context reached both reports: NCMEC's reported user and file details, the EU report's (f).
    const material = finished.find((r) => r.xml.includes('Child Pornography'))!;
    expect(material.xml).toContain('<ipCaptureEvent><ipAddress>198.51.100.23</ipAddress><eventName>Upload</eventName><dateTime>2026-01-15T09:59:50Z</dateTime></ipCaptureEvent>');
    expect(material.xml).toContain('<estimatedLocation><countryCode>NL</countryCode>');
    const details = [...material.files.values()][0]!.details!;
    expect(details.children.map((n) => [n.name, n.text]).filter(([n]) => n === 'uploadedToEspTimestamp' || n === 'publiclyAvailable')).toEqual([
      ['uploadedToEspTimestamp', '2026-01-15T09:59:50Z'],
      ['publiclyAvailable', 'true'],
    ]);
    expect(details.children.find((n) => n.name === 'ipCaptureEvent')!.children[0]!.text).toBe('198.51.100.23');
    const euMaterial = [...eu.accepted.values()].find((a) => a.report.category === 'new_material')!.report;
    expect(euMaterial.geographic).toMatchObject({ available: true, countryCodes: ['NL'], ipCaptureEvents: [{ ipAddress: '198.51.100.23', eventName: 'Upload', contentId: m.contentId }] });
    // Never in the audit chain, the events or the metrics.
    expect(JSON.stringify(await auditChain())).not.toContain('198.51.100.23');
    expect(JSON.stringify((await readAll(transport, topics.caseReported)).map((r) => r.value))).not.toContain('198.51.100.23');
    expect(await runtime.registry.metrics()).not.toContain('198.51.100.23');

    const decisions = (await readAll(transport, topics.caseDecided)).map((d) => d.value!);
    expect(decisions.map((d) => [d.outcome, d.reviewerId, d.reviewerRole, d.caseKind]).sort()).toEqual([
      ['CONFIRMED', 'rev-1', 'REVIEWER', 'NEW_MATERIAL'],
      ['CONFIRMED', 'rev-1', 'REVIEWER', 'SOLICITATION'],
    ]);
    const feedback = (await readAll(transport, topics.indicatorFeedback)).map((f) => f.value!);
    expect(feedback).toEqual([expect.objectContaining({ vote: 'UP', entryId: 'p-7', hashValue: WEE_PDQ, action: null, bank: { name: 'platform-review', kind: 'REVIEW', source: 'platform', listVersion: '2026-01' } })]);

    // No report without a recorded review decision: every queued report follows a confirm of its case.
    await service.relay.drain();
    const chain = await auditChain();
    for (const q of chain.filter((r) => r.type === 'report_queued')) {
      const before = chain.slice(0, q.seq);
      const justified = before.some(
        (r) => r.caseId === q.caseId && ((r.type === 'review_decision' && r.data.decision === 'confirm') || (r.type === 'policy_outcome' && r.data.action === 'report')),
      );
      expect({ seq: q.seq, justified }).toEqual({ seq: q.seq, justified: true });
    }
    expect(verifyAuditEventRecords((await readAll(transport, topics.auditRecorded)).map((r) => r.value!))).toMatchObject({ ok: true, count: chain.length });
  });

  it('turns a false positive into a down-vote that disables the entry (admin only) or proposes an allow-list entry', async () => {
    await start();
    const a = pdqMatch();
    const b = pdqMatch({ uploaderAccountId: 'acct-other' });
    await transport.producer().send(topics.contentMatched, [{ value: a }, { value: b }]);
    const cases = await listed(2, 'two cases', KEYS.admin);
    const [first, second] = cases as Array<{ caseId: string }>;
    expect((await call('POST', `/v1/cases/${first!.caseId}/claim`, KEYS.reviewer, {})).status).toBe(200);
    // Another reviewer cannot decide it; the reviewer cannot disable an entry.
    expect(await call('POST', `/v1/cases/${first!.caseId}/decision`, KEYS.reviewer2, { outcome: 'false_positive', reasonCode: 'benign_collision' })).toMatchObject({ status: 409, json: { error: { code: 'claim_conflict' } } });
    const forbidden = await call('POST', `/v1/cases/${first!.caseId}/decision`, KEYS.reviewer, { outcome: 'false_positive', reasonCode: 'benign_collision', action: 'disable_entry' });
    expect(forbidden).toMatchObject({ status: 403, json: { error: { code: 'forbidden_role' } } });
    const proposed = await call('POST', `/v1/cases/${first!.caseId}/decision`, KEYS.reviewer, { outcome: 'false_positive', reasonCode: 'benign_collision', action: 'propose_allow_list' });
    expect(proposed.status).toBe(200);
    expect(proposed.json.case.state).toBe('false_positive');

    expect((await call('POST', `/v1/cases/${second!.caseId}/claim`, KEYS.admin, {})).status).toBe(200);
    expect((await call('POST', `/v1/cases/${second!.caseId}/decision`, KEYS.admin, { outcome: 'false_positive', reasonCode: 'benign_collision', action: 'disable_entry' })).status).toBe(200);

    const feedback = await until('two feedback events', async () => {
      const f = (await readAll(transport, topics.indicatorFeedback)).map((x) => x.value!);
      return f.length === 2 ? f : undefined;
    });
    // The proposal carries the content's own hash (what an allow-list entry needs) besides the entry's.
    expect(feedback.map((f) => [f.vote, f.action, f.entryId, f.hashValue, f.queryHash, f.caseId])).toEqual([
      ['DOWN', 'propose_allow_list', 'p-7', WEE_PDQ, BRIDGE_PDQ, first!.caseId],
      ['DOWN', 'disable_entry', 'p-7', WEE_PDQ, null, second!.caseId],
    ]);
    const decisions = (await readAll(transport, topics.caseDecided)).map((d) => d.value!);
    expect(decisions.map((d) => [d.outcome, d.proposeAllowList, d.disableEntry, d.reviewerRole, d.grounds])).toEqual([
      ['FALSE_POSITIVE', true, false, 'REVIEWER', 'benign_collision'],
      ['FALSE_POSITIVE', false, true, 'ADMIN', 'benign_collision'],
    ]);
    expect(ncmec.calls).toEqual([]);
    expect(eu.calls).toEqual([]);
  });

  it('escalates as urgent to an admin, who confirms; the reports carry the urgency', async () => {
    await start();
    await transport.producer().send(topics.conversationFlagged, [{ value: groomingAlert() }]);
    const [c] = await listed(1, 'a case');
    await call('POST', `/v1/cases/${c.caseId}/claim`, KEYS.reviewer, {});
    expect((await call('POST', `/v1/cases/${c.caseId}/decision`, KEYS.reviewer, { outcome: 'escalate', reasonCode: 'imminent_risk' })).json.case).toMatchObject({ state: 'escalated', urgent: true });
    // Reviewers cannot take escalated cases; the admin's claim-next takes escalated ones first.
    expect((await call('POST', '/v1/cases/claim-next', KEYS.reviewer, {})).status).toBe(204);
    expect((await call('POST', '/v1/cases/claim-next', KEYS.admin, {})).json.case.caseId).toBe(c.caseId);
    expect((await call('POST', `/v1/cases/${c.caseId}/decision`, KEYS.admin, { outcome: 'confirm' })).status).toBe(200);
    const reports = await until('two reports', async () => {
      const r = (await readAll(transport, topics.caseReported)).map((x) => x.value!);
      return r.length === 2 ? r : undefined;
    });
    expect(reports.every((r) => r.urgent && r.reportType === 'SOLICITATION')).toBe(true);
    expect([...eu.accepted.values()][0]!.report.urgency).toMatchObject({ urgent: true });
    expect((await readAll(transport, topics.caseDecided)).map((d) => d.value!.outcome)).toEqual(['ESCALATED_URGENT', 'CONFIRMED']);
  });

  it('authenticates every call, enforces roles, and audits every authenticated call (route and status, no body)', async () => {
    await start();
    await transport.producer().send(topics.contentMatched, [{ value: pdqMatch() }]);
    const [c] = await listed(1, 'a case');
    await service.relay.drain();
    const before = (await auditChain()).filter((r) => r.type === 'api_request').length;

    expect((await call('GET', '/v1/cases', undefined)).status).toBe(401);
    expect((await call('GET', '/v1/cases', 'not-a-key-not-a-key-not-a-key')).status).toBe(401);
    expect((await call('GET', '/v1/cases', KEYS.platform)).status).toBe(403);
    expect((await call('GET', '/v1/complaints', KEYS.reviewer)).status).toBe(403);
    expect((await call('GET', `/v1/cases/${c.caseId}`, KEYS.admin)).status).toBe(200);
    expect((await call('GET', '/v1/cases/no-such-case', KEYS.admin)).status).toBe(404);
    expect((await call('POST', `/v1/cases/${c.caseId}/decision`, KEYS.reviewer, { outcome: 'maybe' })).status).toBe(400);
    const xApiKey = await fetch(`${base}/v1/cases`, { headers: { 'x-api-key': KEYS.reviewer } });
    expect(xApiKey.status).toBe(200);

    const audited = (await auditChain()).filter((r) => r.type === 'api_request').slice(before);
    expect(audited.map((r) => [r.actor.kind, r.actor.id, r.data.route, r.data.status, r.caseId ?? null])).toEqual([
      ['platform', 'plat-1', 'GET /v1/cases', 403, null],
      ['reviewer', 'rev-1', 'GET /v1/complaints', 403, null],
      ['admin', 'adm-1', 'GET /v1/cases/:caseId', 200, c.caseId],
      ['admin', 'adm-1', 'GET /v1/cases/:caseId', 404, null],
      ['reviewer', 'rev-1', 'POST /v1/cases/:caseId/decision', 400, null],
      ['reviewer', 'rev-1', 'GET /v1/cases', 200, null],
    ]);
    // Requests by route in the counter; the latency histogram has no route label (series bound).
    const text = await runtime.registry.metrics();
    expect(text).toMatch(/^safeguard_reporter_api_requests_total\{route="GET \/v1\/cases",status="401",service="reporter"\} 2$/m);
    expect(text).toMatch(/^safeguard_reporter_api_request_seconds_count\{service="reporter"\} [1-9]\d*$/m);
    expect(text).not.toMatch(/safeguard_reporter_api_request_seconds_bucket\{[^}]*route=/);
  });

  it('takes complaints from the platform; an admin upholds one (reversal, down-vote) and rejects another', async () => {
    await start();
    await transport.producer().send(topics.contentMatched, [{ value: pdqMatch() }, { value: pdqMatch({ uploaderAccountId: 'acct-b' }) }]);
    const cases = await listed(2, 'two cases');
    const filed = [];
    for (const c of cases) {
      const r = await call('POST', '/v1/complaints', KEYS.platform, { caseId: c.caseId, subject: 'detection', complainantRef: 'user-ref-1', groundsCode: 'not_abuse_material' });
      expect(r.status).toBe(201);
      expect(r.json.complaint).not.toHaveProperty('complainantRef');
      filed.push(r.json.complaint);
    }
    expect((await call('POST', `/v1/complaints/${filed[0].complaintId}/decision`, KEYS.reviewer, { outcome: 'upheld', groundsCode: 'benign_collision' })).status).toBe(403);
    expect((await call('GET', '/v1/complaints?state=open', KEYS.admin)).json.complaints).toHaveLength(2);
    const upheld = await call('POST', `/v1/complaints/${filed[0].complaintId}/decision`, KEYS.admin, { outcome: 'upheld', groundsCode: 'benign_collision' });
    expect(upheld.json.complaint).toMatchObject({ state: 'upheld', reversal: { reversed: true } });
    expect(upheld.json.case.state).toBe('false_positive');
    const rejected = await call('POST', `/v1/complaints/${filed[1].complaintId}/decision`, KEYS.admin, { outcome: 'rejected', groundsCode: 'confirmed_by_review' });
    expect(rejected.json.complaint.state).toBe('rejected');
    const feedback = await until('complaint feedback', async () => {
      const f = (await readAll(transport, topics.indicatorFeedback)).map((x) => x.value!);
      return f.length === 1 ? f : undefined;
    });
    expect(feedback[0]).toMatchObject({ vote: 'DOWN', action: null, entryId: 'p-7', caseId: cases[0].caseId });
  });

  it('dead-letters input the library refuses and keeps consuming', async () => {
    await start();
    await transport.producer().send(topics.contentMatched, [{ value: matchFound({ matches: [] }) }, { value: matchFound() }]);
    await transport.producer().send(topics.conversationFlagged, [{ value: groomingAlert({ suspectedAccountId: null }) }]);
    const dlq = `${topics.contentMatched.topic}.dlq`;
    await until('dead letters', () => transport.broker.hasTopic(dlq) && transport.broker.hasTopic(`${topics.conversationFlagged.topic}.dlq`) && transport.broker.read(`${topics.conversationFlagged.topic}.dlq`, 0, 0, 5).length === 1);
    expect(parseDeadLetterHeaders(transport.broker.read(dlq, 0, 0, 5)[0]!.headers)).toMatchObject({ reason: 'invalid_event' });
    await until('the good match reported', async () => (await readAll(transport, topics.caseReported)).length === 2);
  });

  it('purges case data after the retention period on its timer, leaving an audit record', async () => {
    let now = Date.now();
    await start({ REPORTER_PURGE_INTERVAL_MS: '30', REPORTER_RETENTION_MONTHS: '1' }, () => now);
    await transport.producer().send(topics.contentMatched, [{ value: pdqMatch() }]);
    const [c] = await listed(1, 'a case');
    now += 32 * 24 * 3600_000;
    const purged = await until('the purge', async () => (await auditChain()).find((r) => r.type === 'data_purged'));
    expect(purged).toMatchObject({ caseId: c.caseId, data: { retentionMonths: 1, previousState: 'pending_review' } });
    const after = (await service.store.getCase(c.caseId))!;
    expect(after).toMatchObject({ state: 'purged', subjectId: '', items: [] });
    expect(() => reporterConfigSchema.parse(env({ REPORTER_RETENTION_MONTHS: '13' }))).toThrow(/12 months/);
  });

  it('publishes on restart exactly the audit records the topic lacks (crash between store and topic)', async () => {
    await start();
    await transport.producer().send(topics.contentMatched, [{ value: matchFound() }]);
    await until('reports', async () => (await readAll(transport, topics.caseReported)).length === 2);
    await runtime.stop();
    const onTopicBefore = (await readAll(transport, topics.auditRecorded)).length;

    // While "down", the store gains records the topic never saw (as if the process died after
    // writing them): open the store directly and record a notification hold.
    const store = new SqliteReportingStore(ws.storePath, { exclusive: true });
    const engine = engineOn(store);
    const [c] = await store.listCases();
    await engine.holdNotification(c!.caseId, Date.now() + 1000, 'ncmec');
    await engine.holdNotification(c!.caseId, Date.now() + 2000, 'ncmec');
    const chainLength = (await store.audit.head())!.seq + 1;
    expect(chainLength).toBe(onTopicBefore + 2);
    await store.close();

    await start();
    const onTopic = (await readAll(transport, topics.auditRecorded)).map((r) => r.value!);
    expect(onTopic.map((e) => e.sequence)).toEqual(Array.from({ length: chainLength }, (_, i) => i));
    expect(onTopic.slice(-2).map((e) => e.kind)).toEqual(['notification_hold', 'notification_hold']);
    expect(verifyAuditEventRecords(onTopic)).toMatchObject({ ok: true, count: chainLength });
    // Nothing was re-sent to the authorities.
    expect(ncmec.callsTo('/submit')).toHaveLength(1);
    expect(eu.calls).toHaveLength(1);
  });

  it('queues on start the reports of a case confirmed just before a crash (decision stored, reports not queued)', async () => {
    await start();
    await transport.producer().send(topics.contentMatched, [{ value: pdqMatch({ mediaUri: ws.mediaUri }) }]);
    const [c] = await listed(1, 'a case');
    await runtime.stop();

    // While "down": the confirm is stored, then the process dies before queueing the reports.
    class DiesAtQueueing extends SqliteReportingStore {
      override async enqueue(): Promise<boolean> {
        throw new Error('process killed');
      }
    }
    const store = new DiesAtQueueing(ws.storePath, { exclusive: true });
    const engine = engineOn(store);
    const actor = { id: 'rev-1', role: 'reviewer' as const };
    await engine.review(c.caseId, { type: 'claim', actor });
    await expect(engine.review(c.caseId, { type: 'confirm', actor })).rejects.toThrow('process killed');
    expect((await store.getCase(c.caseId))!.state).toBe('confirmed');
    expect(await store.listOutbox()).toEqual([]);
    await store.close();

    await start();
    const reports = await until('both reports after the restart', async () => {
      const r = (await readAll(transport, topics.caseReported)).map((x) => x.value!);
      return r.length === 2 ? r : undefined;
    });
    expect(reports.map((r) => [r.destination, r.status, r.caseId]).sort()).toEqual([
      ['EU_CENTRE', 'DELIVERED', c.caseId],
      ['NCMEC', 'DELIVERED', c.caseId],
    ]);
    expect(ncmec.callsTo('/submit')).toHaveLength(1);
    const chain = await auditChain();
    const ofCase = chain.filter((r) => r.caseId === c.caseId).map((r) => r.type);
    expect(ofCase.filter((t) => t === 'review_decision')).toHaveLength(1);
    expect(ofCase.indexOf('review_decision')).toBeLessThan(ofCase.indexOf('report_queued'));
    expect(await runtime.registry.metrics()).toMatch(/^safeguard_reporter_repaired_cases_total\{action="queued",service="reporter"\} 1$/m);
  });

  it('refuses to start when the audit topic and the store disagree (it would fork the chain), and when another process holds the store', async () => {
    await start();
    await transport.producer().send(topics.conversationFlagged, [{ value: groomingAlert() }]);
    await until('audit on topic', async () => (await readAll(transport, topics.auditRecorded)).length >= 3);
    const other = reporterConfigSchema.parse(env());
    const second = await ServiceRuntime.start({ service: 'reporter', common: other.common, transport: createTransport({ kind: 'in-process', broker: transport.broker }), healthServer: false });
    await expect(startReporter(other, second)).rejects.toMatchObject({ code: 'store_locked' });
    await second.stop();
    await runtime.stop();

    // A fresh store against the old topic: the topic is ahead of the store.
    ws.storePath = `${ws.storePath}.fresh`;
    const fresh = reporterConfigSchema.parse(env());
    runtime = await ServiceRuntime.start({ service: 'reporter', common: fresh.common, transport: createTransport({ kind: 'in-process', broker: transport.broker }), healthServer: false });
    await expect(startReporter(fresh, runtime)).rejects.toMatchObject({ code: 'audit_chain_diverged' });
  });

  it('refuses a policy that routes to a destination without an endpoint, and unreadable files', async () => {
    const config = reporterConfigSchema.parse({ ...env(), REPORTER_EU_CENTRE_URL: '' });
    runtime = await ServiceRuntime.start({ service: 'reporter', common: config.common, transport, healthServer: false });
    await expect(startReporter(config, runtime)).rejects.toMatchObject({ code: 'invalid_config', message: expect.stringContaining('REPORTER_EU_CENTRE_URL') });
    const missing = reporterConfigSchema.parse(env({ REPORTER_POLICY_FILE: `${ws.dir}/nope.json` }));
    await expect(startReporter(missing, runtime)).rejects.toMatchObject({ code: 'invalid_config' });
  });

  it('exposes metrics: cases by state, backlog age, reports by destination and outcome, delivery latency, audit chain length', async () => {
    await start();
    await transport.producer().send(topics.contentMatched, [{ value: matchFound() }, { value: pdqMatch() }]);
    await until('reports', async () => (await readAll(transport, topics.caseReported)).length === 2);
    await service.relay.drain();
    const text = await runtime.registry.metrics();
    expect(text).toMatch(/safeguard_reporter_cases\{state="reported",service="reporter"\} 1/);
    expect(text).toMatch(/safeguard_reporter_cases\{state="pending_review",service="reporter"\} 1/);
    expect(text).toMatch(/safeguard_reporter_review_backlog_age_seconds\{service="reporter"\} \d/);
    expect(text).toMatch(/safeguard_reporter_reports_total\{destination="ncmec",outcome="delivered",service="reporter"\} 1/);
    expect(text).toMatch(/safeguard_reporter_delivery_seconds_count\{[^}]*destination="eu_centre"[^}]*\} 1\n/);
    const chainLength = (await service.store.audit.head())!.seq + 1;
    expect(text).toContain(`safeguard_reporter_audit_chain_length{service="reporter"} ${chainLength}`);
    expect(text).toContain(`safeguard_reporter_audit_published_length{service="reporter"} ${chainLength}`);
    expect(text).toMatch(/safeguard_reporter_events_total\{kind="match",outcome="opened",service="reporter"\} 2/);
    // No ids, hashes or URIs in any label.
    expect(text).not.toContain(BRIDGE_SHA256);
    expect(text).not.toContain('content-');
    expect(text).not.toContain('acct-');
  });

  it('shuts down in order: API, consumer, repair, delivery after its step, retention, remaining audit, producer, store', async () => {
    await start();
    const steps = (await runtime.stop()).map((r) => [r.name, r.ok]);
    expect(steps).toEqual([
      ['mark_unready', true],
      ['stop_review_api', true],
      ['stop_consumer', true],
      ['stop_report_repair', true],
      ['stop_delivery_after_step', true],
      ['stop_retention', true],
      ['publish_remaining_audit', true],
      ['flush_producer', true],
      ['close_store', true],
      ['close_transport', true],
      ['close_health_server', true],
    ]);
  });
});
