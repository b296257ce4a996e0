import { alert, match, provider, signingKey, T0 } from '../__fixtures__/fixtures';
import { openCase, type Case } from '../case';
import { parseNcmecResponse } from '../delivery/ncmec-client';
import { buildEuReport, serializeEuReport, signEuReport } from '../reports/eu-report';
import { buildNcmecReportXml } from '../reports/ncmec-report';
import { EuCentreSimulator } from './eu-simulator';
import { NcmecSimulator } from './ncmec-simulator';

const MINIMAL = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><report>${inner}</report>`;
const SUMMARY = '<incidentSummary><incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType><incidentDateTime>2026-01-15T10:00:00Z</incidentDateTime></incidentSummary>';
const REPORTER = '<reporter><reportingPerson><email>reporter@example.org</email></reportingPerson></reporter>';

describe('NCMEC CyberTipline simulator', () => {
  let sim: NcmecSimulator;
  let auth: string;
  beforeEach(async () => {
    sim = await NcmecSimulator.start();
    auth = `Basic ${Buffer.from(`${sim.credentials.username}:${sim.credentials.password}`).toString('base64')}`;
  });
  afterEach(async () => {
    await sim.close();
  });

  async function post(path: string, body: string | FormData | URLSearchParams, headers: Record<string, string> = {}) {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { Authorization: auth, ...headers }, body });
    const text = await res.text();
    return { status: res.status, text, parsed: parseNcmecResponse(text) };
  }
  const form = (id: string) => new URLSearchParams({ id });
  async function submitMinimal(): Promise<string> {
    const r = await post('/submit', MINIMAL(SUMMARY + REPORTER));
    expect(r.parsed).toMatchObject({ responseCode: 0 });
    return r.parsed!.reportId!;
  }

  it('binds 127.0.0.1 on a free port', () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('requires basic auth', async () => {
    const res = await fetch(`${sim.url}/submit`, { method: 'POST', body: MINIMAL(SUMMARY + REPORTER) });
    expect(res.status).toBe(401);
    expect(parseNcmecResponse(await res.text())?.responseCode).toBe(1000);
    const wrong = await fetch(`${sim.url}/submit`, { method: 'POST', headers: { Authorization: `Basic ${Buffer.from('sim-user:nope').toString('base64')}` }, body: 'x' });
    expect(wrong.status).toBe(401);
    expect(sim.reports.size).toBe(0);
  });

  it('accepts a minimal valid report and answers in the documented shape', async () => {
    const r = await post('/submit', MINIMAL(SUMMARY + REPORTER));
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^<\?xml[^>]*>\n<reportResponse><responseCode>0<\/responseCode><responseDescription>Success<\/responseDescription><reportId>\d+<\/reportId><\/reportResponse>$/);
  });

  it('answers 4100 for elements out of order, naming the element', async () => {
    const r = await post('/submit', MINIMAL(REPORTER + SUMMARY));
    expect(r.status).toBe(400);
    expect(r.parsed?.responseCode).toBe(4100);
    expect(r.parsed?.responseDescription).toMatch(/Validation failed .*'reporter'.*incidentSummary/);
    const inner = await post('/submit', MINIMAL('<incidentSummary><incidentDateTime>2026-01-15T10:00:00Z</incidentDateTime><incidentType>Child Sex Tourism</incidentType></incidentSummary>' + REPORTER));
    expect(inner.parsed?.responseCode).toBe(4100);
    expect(sim.reports.size).toBe(0);
  });

  it('answers 4100 for missing required elements, bad values, unknown elements and malformed XML', async () => {
    for (const body of [
      MINIMAL(SUMMARY),
      MINIMAL(REPORTER),
      MINIMAL(SUMMARY + '<reporter><reportingPerson><firstName>A</firstName></reportingPerson></reporter>'),
      MINIMAL(SUMMARY.replace('2026-01-15T10:00:00Z', 'yesterday') + REPORTER),
      MINIMAL(SUMMARY.replace('Child Pornography (possession, manufacture, and distribution)', 'Something else') + REPORTER),
      MINIMAL(SUMMARY + REPORTER + '<colour>red</colour>'),
      MINIMAL(SUMMARY + '<internetDetails><webPageIncident/><chatImIncident/></internetDetails>' + REPORTER),
      MINIMAL(SUMMARY + REPORTER + '<personOrUserReported><espIdentifier>u</espIdentifier><estimatedLocation><countryCode>Germany</countryCode></estimatedLocation></personOrUserReported>'),
      MINIMAL(SUMMARY + REPORTER + '<personOrUserReported><estimatedLocation><countryCode>DE</countryCode></estimatedLocation><ipCaptureEvent><ipAddress>192.0.2.1</ipAddress></ipCaptureEvent></personOrUserReported>'),
      '<report><incidentSummary>',
      '<notAReport/>',
    ]) {
      const r = await post('/submit', body);
      expect({ body, code: r.parsed?.responseCode }).toEqual({ body, code: 4100 });
    }
  });

  it('accepts the library-built reports', async () => {
    const g: Case = { ...openCase({ type: 'grooming', event: alert() }, T0), state: 'confirmed', urgent: true };
    const m: Case = { ...openCase({ type: 'match', event: match() }, T0), state: 'confirmed' };
    const upload = { uploadedAtMs: T0 - 5000, ipAddress: '2001:db8::7', countryCode: 'DE', publiclyAvailable: true };
    const withUpload: Case = { ...openCase({ type: 'match', event: match({ upload }) }, T0), state: 'confirmed' };
    for (const c of [g, m, withUpload]) expect((await post('/submit', buildNcmecReportXml(c, { provider: provider() }))).parsed?.responseCode).toBe(0);
    const held = [...sim.reports.values()].at(-1)!.report.children.find((n) => n.name === 'personOrUserReported')!;
    expect(held.children.map((n) => n.name)).toEqual(['espIdentifier', 'espService', 'ipCaptureEvent', 'estimatedLocation']);
  });

  it('enforces the flow: upload/fileinfo/finish only for a submitted, unfinished report (5001 unknown, 5102 finished, as NCMEC answers); retract before finish', async () => {
    const unknown = new FormData();
    unknown.append('id', '999');
    unknown.append('file', new Blob([Buffer.from('benign bytes')]), 'x.bin');
    expect((await post('/upload', unknown)).parsed?.responseCode).toBe(5001);
    expect((await post('/finish', form('999'))).parsed?.responseCode).toBe(5001);

    const id = await submitMinimal();
    const up = new FormData();
    up.append('id', id);
    up.append('file', new Blob([Buffer.from('benign bytes')]), 'x.bin');
    const u = await post('/upload', up);
    expect(u.parsed).toMatchObject({ responseCode: 0, reportId: id });
    const fileId = u.parsed!.fileId!;
    const details = (rid: string, fid: string) => `<fileDetails><reportId>${rid}</reportId><fileId>${fid}</fileId><fileViewedByEsp>true</fileViewedByEsp></fileDetails>`;
    expect((await post('/fileinfo', details(id, 'nope'))).parsed?.responseCode).toBe(4000);
    expect((await post('/fileinfo', `<fileDetails><fileId>${fileId}</fileId><reportId>${id}</reportId></fileDetails>`)).parsed?.responseCode).toBe(4100);
    expect((await post('/fileinfo', details(id, fileId))).parsed?.responseCode).toBe(0);
    const done = await post('/finish', form(id));
    expect(done.parsed).toMatchObject({ responseCode: 0, reportId: id, fileIds: [fileId] });
    expect(sim.reports.get(id)?.state).toBe('finished');
    expect((await post('/fileinfo', details(id, fileId))).parsed?.responseCode).toBe(5102);
    const again = await post('/finish', form(id));
    expect(again.parsed).toMatchObject({ responseCode: 5102, responseDescription: expect.stringContaining('already finished') });
    expect((await post('/retract', form(id))).parsed?.responseCode).toBe(5102);
    expect(sim.reports.get(id)?.state).toBe('finished');

    const id2 = await submitMinimal();
    expect((await post('/retract', form(id2))).parsed?.responseCode).toBe(0);
    expect(sim.reports.get(id2)?.state).toBe('retracted');
    expect((await post('/finish', form(id2))).parsed?.responseCode).toBe(4000);
    expect((await post('/retract', form(id2))).parsed?.responseCode).toBe(4000);
  });

  it('injects faults: Nth call 5xx, dropped connection, drop after processing', async () => {
    sim.faults.add({ path: '/submit', nth: 2, fault: { kind: 'status', status: 503 } });
    await submitMinimal();
    expect((await post('/submit', MINIMAL(SUMMARY + REPORTER))).status).toBe(503);
    await submitMinimal();
    expect(sim.reports.size).toBe(2);

    sim.faults.add({ path: '/submit', fault: { kind: 'drop' } });
    await expect(post('/submit', MINIMAL(SUMMARY + REPORTER))).rejects.toThrow();
    expect(sim.reports.size).toBe(2);

    sim.faults.add({ path: '/submit', fault: { kind: 'drop_after_processing' } });
    await expect(post('/submit', MINIMAL(SUMMARY + REPORTER))).rejects.toThrow();
    expect(sim.reports.size).toBe(3);
    expect(sim.callsTo('/submit').map((c) => c.fault ?? 'none')).toEqual(['none', 'status', 'none', 'drop', 'drop_after_processing']);
  });

  it('holds a request without answering (hang), with or without processing it, until the client gives up', async () => {
    sim.faults.add({ path: '/submit', fault: { kind: 'hang' } });
    const timeout = (ms: number) => ({ signal: AbortSignal.timeout(ms) });
    await expect(fetch(`${sim.url}/submit`, { method: 'POST', headers: { Authorization: auth }, body: MINIMAL(SUMMARY + REPORTER), ...timeout(150) })).rejects.toThrow();
    expect(sim.reports.size).toBe(0);
    sim.faults.add({ path: '/submit', fault: { kind: 'hang', process: true } });
    await expect(fetch(`${sim.url}/submit`, { method: 'POST', headers: { Authorization: auth }, body: MINIMAL(SUMMARY + REPORTER), ...timeout(150) })).rejects.toThrow();
    expect(sim.reports.size).toBe(1);
    expect(sim.callsTo('/submit').map((c) => c.fault)).toEqual(['hang', 'hang']);
  });
});

describe('EU Centre simulator', () => {
  const key = signingKey();
  let sim: EuCentreSimulator;
  beforeEach(async () => {
    sim = await EuCentreSimulator.start({ publicKeys: [key.publicKey] });
  });
  afterEach(async () => {
    await sim.close();
  });

  const body = (): Buffer => {
    const c: Case = { ...openCase({ type: 'match', event: match() }, T0), state: 'confirmed' };
    return serializeEuReport(signEuReport(buildEuReport(c, { provider: provider(), nowMs: T0 }), key));
  };
  const send = (b: Buffer | string, idem?: string) =>
    fetch(sim.url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(idem ? { 'Idempotency-Key': idem } : {}) }, body: b }).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as Record<string, unknown>,
    }));

  it('verifies the signature, answers a receipt, and repeats it for the same idempotency key', async () => {
    const b = body();
    const first = await send(b, 'k1');
    expect(first.status).toBe(201);
    const again = await send(b, 'k1');
    expect(again).toEqual({ status: 200, json: { receiptId: first.json.receiptId, duplicate: true } });
    expect(sim.accepted.size).toBe(1);
    expect((await send(body(), 'k1')).status).toBe(409);
    expect((await send(b)).status).toBe(400);
  });

  it('rejects tampered, unsigned, unknown-key and incomplete reports with 422', async () => {
    const b = body();
    const tampered = Buffer.from(b.toString('utf8').replace('"known_material"', '"new_material"'));
    expect(await send(tampered, 't1')).toMatchObject({ status: 422, json: { error: 'bad_signature' } });
    const other = signingKey();
    const c: Case = { ...openCase({ type: 'match', event: match() }, T0), state: 'confirmed' };
    const foreign = serializeEuReport(signEuReport(buildEuReport(c, { provider: provider(), nowMs: T0 }), other));
    expect(await send(foreign, 't2')).toMatchObject({ status: 422, json: { error: 'unknown_key' } });
    const report = JSON.parse(b.toString('utf8'));
    delete report.urgency;
    delete report.signature;
    const incomplete = serializeEuReport(signEuReport(report, key));
    expect(await send(incomplete, 't3')).toMatchObject({ status: 422, json: { error: 'missing_fields', detail: '(j) urgency' } });
    expect(sim.accepted.size).toBe(0);
  });

  it('holds a request after accepting it (hang with process): a resend with the key gets the same receipt', async () => {
    sim.faults.add({ fault: { kind: 'hang', process: true } });
    const b = body();
    await expect(
      fetch(sim.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'h1' }, body: b, signal: AbortSignal.timeout(150) }),
    ).rejects.toThrow();
    expect(sim.accepted.size).toBe(1);
    expect(await send(b, 'h1')).toMatchObject({ status: 200, json: { duplicate: true } });
  });
});
