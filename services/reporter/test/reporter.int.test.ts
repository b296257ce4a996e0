import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Transport } from '@safeguard/kafka';
import { verifyAuditEventRecords, verifyEuReportBytes } from '@safeguard/reporting';
import { renameTopic, topics } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { decodeConfluentWithPythonAvro, decodeManyWithPythonAvro, integrationEnv, kcatConsume, parseConfluentFrame, waitFor } from '@safeguard/testkit';
import { reporterConfigSchema } from '../src/config';
import { startReporter, type ReporterService } from '../src/service';
import { brokerScope, callApi, groomingAlert, KEYS, matchFound, pdqMatch, reporterEnv, startAuthorities, stopAuthorities, WEE_PDQ, type ApiAnswer, type Authorities, type BrokerScope, type Workspace } from './helpers';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/bin/safeguard.js');

/** Runs the `safeguard` command; resolves with its exit code and output. */
function safeguard(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => done({ code: code ?? 1, out, err }));
  });
}

/** Bigints (Avro longs from Python) as numbers. */
function numbers<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x))) as T;
}

describe('reporter against the real broker and schema registry', () => {
  let authorities: Authorities;
  let ws: Workspace;
  let ncmec: Authorities['ncmec'];
  let eu: Authorities['eu'];
  let broker: BrokerScope;
  let runtime: ServiceRuntime;
  let service: ReporterService;
  let prefix: string;
  let platform: Transport;

  beforeEach(async () => {
    authorities = await startAuthorities();
    ({ ws, ncmec, eu } = authorities);
    broker = brokerScope('reporter');
    ({ prefix, platform } = broker);
    const config = reporterConfigSchema.parse({
      ...broker.env,
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...reporterEnv(authorities),
      REPORTER_DELIVERY_INTERVAL_MS: '200',
      REPORTER_RELAY_INTERVAL_MS: '200',
    });
    runtime = await ServiceRuntime.start({ service: 'reporter', common: config.common });
    service = await startReporter(config, runtime);
  });

  afterEach(async () => {
    await runtime.stop();
    await broker.cleanUp();
    await stopAuthorities(authorities);
  });

  const api = (method: string, path: string, key: string, body?: unknown): Promise<ApiAnswer> => callApi(`http://127.0.0.1:${service.httpPort}`, method, path, key, body);

  it('from match events and a grooming alert to delivered reports: policy reports the exact match, review decides the rest; events and audit read back by kcat + Apache Avro', async () => {
    // Upload contexts as the platform sent them (documentation-range addresses, RFC 5737 / RFC 3849).
    const exact = matchFound({ mediaUri: ws.mediaUri, uploadContext: { uploadedAtMs: 1_768_471_190_000, ipAddress: '192.0.2.10', countryCode: 'DE', publiclyAvailable: false } });
    const near = pdqMatch({ mediaUri: ws.mediaUri, uploadContext: { uploadedAtMs: null, ipAddress: '2001:db8::42', countryCode: 'FR', publiclyAvailable: null } });
    const alert = groomingAlert();
    const producer = platform.producer();
    await producer.send(broker.prefixed(topics.contentMatched), [{ value: exact }, { value: near }]);
    await producer.send(broker.prefixed(topics.conversationFlagged), [{ value: alert }]);

    // Policy reports the exact verified match with no human in between.
    await waitFor(() => [...ncmec.reports.values()].some((r) => r.state === 'finished'), { description: 'the direct report at NCMEC', timeoutMs: 60_000 });

    // The PDQ case and the grooming case wait for review; a reviewer claims, reads and confirms each.
    const reviewed: string[] = [];
    for (let i = 0; i < 2; i++) {
      const claimed = await waitFor(async () => {
        const r = await api('POST', '/v1/cases/claim-next', KEYS.reviewer, {});
        return r.status === 200 ? r.json.case! : undefined;
      }, { description: 'a case to claim', timeoutMs: 60_000 });
      const read = await api('GET', `/v1/cases/${claimed.caseId}`, KEYS.reviewer);
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.json)).not.toMatch(/"text"|"content"\s*:/);
      const decided = await api('POST', `/v1/cases/${claimed.caseId}/decision`, KEYS.reviewer, { outcome: 'confirm' });
      expect(decided.status).toBe(200);
      reviewed.push(claimed.kind);
    }
    expect(reviewed.sort()).toEqual(['grooming', 'match']);

    await waitFor(() => [...ncmec.reports.values()].filter((r) => r.state === 'finished').length === 3 && eu.accepted.size === 3, { description: 'three reports at each authority', timeoutMs: 60_000 });
    // Exactly once each: one submit per incident, every report finished.
    expect(ncmec.reports.size).toBe(3);
    expect(ncmec.callsTo('/submit')).toHaveLength(3);
    expect(ncmec.callsTo('/finish')).toHaveLength(3);
    for (const accepted of eu.accepted.values()) {
      expect(verifyEuReportBytes(accepted.body, ws.publicKey, accepted.report.signature!.keyId)).toMatchObject({ ok: true });
    }
    expect([...eu.accepted.values()].map((a) => a.report.category).sort()).toEqual(['known_material', 'new_material', 'solicitation']);

    // Art. 13(f) / NCMEC: each upload's IP address and country reached the simulators' reports.
    for (const [m, ip, country] of [[exact, '192.0.2.10', 'DE'], [near, '2001:db8::42', 'FR']] as const) {
      const atNcmec = [...ncmec.reports.values()].find((r) => r.xml.includes(`<espIdentifier>${m.uploaderAccountId}</espIdentifier>`))!;
      const user = atNcmec.report.children.find((n) => n.name === 'personOrUserReported')!;
      expect(user.children.find((n) => n.name === 'ipCaptureEvent')!.children.map((n) => [n.name, n.text]).slice(0, 2)).toEqual([['ipAddress', ip], ['eventName', 'Upload']]);
      expect(user.children.find((n) => n.name === 'estimatedLocation')!.children[0]).toMatchObject({ name: 'countryCode', text: country });
      const fileDetails = [...atNcmec.files.values()][0]!.details!;
      expect(fileDetails.children.find((n) => n.name === 'ipCaptureEvent')!.children[0]!.text).toBe(ip);
      const atEu = [...eu.accepted.values()].find((a) => a.report.usersInvolved.some((u) => u.accountId === m.uploaderAccountId))!.report;
      expect(atEu.geographic).toMatchObject({ available: true, countryCodes: [country], ipCaptureEvents: [{ ipAddress: ip, eventName: 'Upload', contentId: m.contentId }] });
    }
    const exactAtNcmec = [...ncmec.reports.values()].find((r) => r.xml.includes(`<espIdentifier>${exact.uploaderAccountId}</espIdentifier>`))!;
    expect(exactAtNcmec.xml).toContain('<dateTime>2026-01-15T09:59:50Z</dateTime>');
    const exactFile = [...exactAtNcmec.files.values()][0]!.details!.children;
    expect(exactFile.filter((n) => n.name === 'uploadedToEspTimestamp' || n.name === 'publiclyAvailable').map((n) => [n.name, n.text])).toEqual([
      ['uploadedToEspTimestamp', '2026-01-15T09:59:50Z'],
      ['publiclyAvailable', 'false'],
    ]);

    // Read the events back with an independent client (kcat) and decode them with Apache's Python Avro.
    const registry = integrationEnv().registryUrl;
    const reported = await kcatConsume({ topic: `${prefix}${topics.caseReported.topic}`, count: 6, timeoutMs: 60_000 });
    const reports = await Promise.all(reported.map(async (r) => (await decodeConfluentWithPythonAvro(r.value!, registry)).value as { reportId: string; destination: string; status: string }));
    expect(new Set(reports.map((r) => r.reportId)).size).toBe(6);
    expect(reports.every((r) => r.status === 'DELIVERED')).toBe(true);
    expect(reports.filter((r) => r.destination === 'NCMEC')).toHaveLength(3);

    const [decisionRecord, second] = await kcatConsume({ topic: `${prefix}${topics.caseDecided.topic}`, count: 2 });
    for (const rec of [decisionRecord!, second!]) {
      expect((await decodeConfluentWithPythonAvro(rec.value!, registry)).value).toMatchObject({ outcome: 'CONFIRMED', reviewerId: 'rev-1', reviewerRole: 'REVIEWER' });
    }
    const [fb] = await kcatConsume({ topic: `${prefix}${topics.indicatorFeedback.topic}`, count: 1 });
    expect(fb!.key?.toString('utf8')).toBe('platform-review/p-7');
    expect((await decodeConfluentWithPythonAvro(fb!.value!, registry)).value).toMatchObject({ vote: 'UP', entryId: 'p-7', hashValue: WEE_PDQ, action: null });

    // The audit topic: one partition, exactly the store's chain, verified from Python-decoded records.
    await service.relay.drain();
    const chain = await service.store.audit.list();
    const auditTopic = `${prefix}${topics.auditRecorded.topic}`;
    const raw = await kcatConsume({ topic: auditTopic, count: chain.length });
    expect(new Set(raw.map((r) => r.partition))).toEqual(new Set([0]));
    // The upload context is personal data: never in an audit record.
    expect(raw.some((r) => r.value!.includes('192.0.2.10') || r.value!.includes('2001:db8::42'))).toBe(false);
    const first = await decodeConfluentWithPythonAvro(raw[0]!.value!, registry);
    const decoded = numbers(await decodeManyWithPythonAvro(first.schema, raw.map((r) => parseConfluentFrame(r.value!).body)));
    expect(verifyAuditEventRecords(decoded, { chainId: 'reporter', expectedHead: { seq: chain.at(-1)!.seq, hash: chain.at(-1)!.hash } })).toMatchObject({ ok: true, count: chain.length });
    // Every queued report follows a recorded policy outcome (report) or a confirm of its case.
    for (const q of chain.filter((r) => r.type === 'report_queued')) {
      const justified = chain.slice(0, q.seq).some((r) => r.caseId === q.caseId && ((r.type === 'policy_outcome' && r.data.action === 'report') || (r.type === 'review_decision' && r.data.decision === 'confirm')));
      expect({ seq: q.seq, justified }).toEqual({ seq: q.seq, justified: true });
    }

    // The CLI verifies the topic, and reads transparency figures from the running service's store file.
    const env = integrationEnv();
    const verified = await safeguard(['audit', 'verify', '--topic', auditTopic, '--brokers', env.brokersCsv, '--registry', env.registryUrl]);
    expect({ code: verified.code, err: verified.err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(verified.out)).toMatchObject({ ok: true, count: expect.any(Number) });
    expect(JSON.parse(verified.out).count).toBeGreaterThanOrEqual(chain.length);
    const today = new Date().toISOString().slice(0, 10);
    const t = await safeguard(['transparency', '--from', today, '--to', today, '--store', ws.storePath]);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out)).toMatchObject({ reviewOutcomes: { confirm: 2, false_positive: 0, escalate: 0 }, reports: { byDestination: { ncmec: 3, eu_centre: 3 } } });
  });

  it('audit verify --topic detects an altered, a dropped and a reordered record on real topics', async () => {
    await platform.producer().send(broker.prefixed(topics.conversationFlagged), [{ value: groomingAlert() }]);
    const claimed = await waitFor(async () => {
      const r = await api('POST', '/v1/cases/claim-next', KEYS.reviewer, {});
      return r.status === 200 ? r.json.case! : undefined;
    }, { description: 'the grooming case', timeoutMs: 60_000 });
    await api('POST', `/v1/cases/${claimed.caseId}/decision`, KEYS.reviewer, { outcome: 'false_positive', reasonCode: 'ordinary_conversation' });
    await service.relay.drain();
    const env = integrationEnv();
    const auditTopic = `${prefix}${topics.auditRecorded.topic}`;
    const chain = await service.store.audit.list();
    const raw = await kcatConsume({ topic: auditTopic, count: chain.length });
    const events = numbers(await Promise.all(raw.map(async (r) => (await decodeConfluentWithPythonAvro(r.value!, env.registryUrl)).value))) as Array<Record<string, unknown>>;
    expect(events).toHaveLength(chain.length);

    const binding = topics.auditRecorded;
    const variants: Array<[string, Array<Record<string, unknown>>, string]> = [
      ['altered', events.map((e, i) => (i === 3 ? { ...e, detailsJson: String(e.detailsJson).replace('"', '"x') } : e)), 'hash_mismatch'],
      ['dropped', events.filter((_, i) => i !== 2), 'sequence_gap'],
      ['reordered', [events[0]!, events[2]!, events[1]!, ...events.slice(3)], 'sequence_gap'],
    ];
    for (const [name, records, reason] of variants) {
      const topic = `${prefix}tampered-${name}`;
      await platform.admin().ensureTopics([{ topic, partitions: 1 }]);
      await platform.producer().send(renameTopic(binding, topic), records.map((value) => ({ value: value as never })));
      const r = await safeguard(['audit', 'verify', '--topic', topic, '--brokers', env.brokersCsv, '--registry', env.registryUrl]);
      expect({ name, code: r.code }).toEqual({ name, code: 1 });
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, reason });
    }
    // Dropping the newest record is caught with the signed head from the API.
    const head = await api('GET', '/v1/audit/head', KEYS.admin);
    expect(head.status).toBe(200);
    const { writeFileSync } = await import('node:fs');
    const headFile = join(ws.dir, 'head.json');
    writeFileSync(headFile, JSON.stringify(head.json.head));
    const pubFile = join(ws.dir, 'signing.pub.pem');
    writeFileSync(pubFile, ws.publicKey.export({ type: 'spki', format: 'pem' }));
    await service.relay.drain();
    // The topic keeps growing after the head was signed (this very call was audited after it): still intact.
    const intact = await safeguard(['audit', 'verify', '--topic', auditTopic, '--head', headFile, '--public-key', pubFile, '--brokers', env.brokersCsv, '--registry', env.registryUrl]);
    expect({ code: intact.code, out: JSON.parse(intact.out) }).toMatchObject({ code: 0, out: { ok: true } });
    const headSeq = (head.json.head as { seq: number }).seq;
    const truncatedTopic = `${prefix}tampered-truncated`;
    await platform.admin().ensureTopics([{ topic: truncatedTopic, partitions: 1 }]);
    const upToHead = (await kcatConsume({ topic: auditTopic, count: headSeq + 1 })).map((r) => r.value!);
    const asEvents = numbers(await Promise.all(upToHead.map(async (v) => (await decodeConfluentWithPythonAvro(v, env.registryUrl)).value))) as Array<Record<string, unknown>>;
    await platform.producer().send(renameTopic(binding, truncatedTopic), asEvents.slice(0, -1).map((value) => ({ value: value as never })));
    const truncated = await safeguard(['audit', 'verify', '--topic', truncatedTopic, '--head', headFile, '--public-key', pubFile, '--brokers', env.brokersCsv, '--registry', env.registryUrl]);
    expect(truncated.code).toBe(1);
    expect(JSON.parse(truncated.out)).toMatchObject({ ok: false, reason: 'head_mismatch' });
  });
});
