// Upload context (IP address, country, upload time, public availability) from the match event to
// the case item and into both reports. Synthetic data: IP addresses from the documentation ranges
// (RFC 5737, RFC 3849).
import { BRIDGE_SHA256, FakeClock, match, policy, provider, signingKey, T0 } from '../__fixtures__/fixtures';
import { mergeEvent, openCase, type Case, type MatchItem } from '../case';
import { ReportingEngine } from '../engine';
import { parseMatchEvent, type UploadContext } from '../events';
import { addMonthsUtc } from '../retention';
import { FILE_DETAILS_SPEC, parseXmlDocument, REPORT_SPEC, validateElement, type XmlNode } from '../sim/xml-schema';
import { MemoryReportingStore } from '../store/memory';
import { buildEuReport, serializeEuReport, signEuReport, verifyEuReportBytes } from './eu-report';
import { buildNcmecFileDetailsXml, buildNcmecReportXml } from './ncmec-report';
import { countryCodesOf, fileFactsOf, ipEventsOf, uploaderLocationOf } from './upload-facts';

const UPLOAD: UploadContext = { uploadedAtMs: T0 - 60_000, ipAddress: '192.0.2.10', countryCode: 'DE', publiclyAvailable: true };
const key = signingKey();

function caseWith(...uploads: Array<UploadContext | undefined>): Case {
  let c: Case | undefined;
  uploads.forEach((upload, i) => {
    const ev = { type: 'match' as const, event: match({ contentId: `content-${i + 1}`, ...(upload ? { upload } : {}) }) };
    c = c ? mergeEvent(c, ev, T0).case : openCase(ev, T0);
  });
  return { ...c!, state: 'confirmed', category: 'known_material', decidedAtMs: T0 + 1000 };
}

const child = (n: XmlNode, name: string): XmlNode | undefined => n.children.find((x) => x.name === name);
const text = (n: XmlNode | undefined, name: string): string | undefined => (n ? child(n, name)?.text : undefined);

describe('upload context on case items', () => {
  it('validates the event field: IPv4/IPv6, ISO country codes; rejects anything else', () => {
    expect(parseMatchEvent(match({ upload: UPLOAD })).upload).toEqual(UPLOAD);
    expect(parseMatchEvent(match({ upload: { ipAddress: '2001:db8::1' } })).upload).toEqual({ ipAddress: '2001:db8::1' });
    for (const bad of [{ ipAddress: '999.1.1.1' }, { ipAddress: 'example.org' }, { countryCode: 'de' }, { countryCode: 'Germany' }, { uploadedAtMs: -1 }, { city: 'X' }]) {
      expect(() => parseMatchEvent(match({ upload: bad as UploadContext }))).toThrow(expect.objectContaining({ code: 'invalid_event' }));
    }
  });

  it('keeps the upload on the item; a later match of the same content fills it in when the first had none', () => {
    const first = match({ contentId: 'content-x' });
    let c = openCase({ type: 'match', event: first }, T0);
    expect((c.items[0] as MatchItem).upload).toBeUndefined();
    c = mergeEvent(c, { type: 'match', event: match({ contentId: 'content-x', algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256, upload: UPLOAD }) }, T0).case;
    expect((c.items[0] as MatchItem).upload).toEqual(UPLOAD);
    // An empty context is no context.
    expect((openCase({ type: 'match', event: match({ upload: {} }) }, T0).items[0] as MatchItem).upload).toBeUndefined();
  });

  it('derives IP events, countries, the uploader location and file facts; the enrichment wins per file', () => {
    const c = caseWith(UPLOAD, { ipAddress: '198.51.100.7', countryCode: 'FR', uploadedAtMs: T0 - 1000 }, undefined);
    expect(ipEventsOf(c)).toEqual([
      { accountId: 'acct-u1', ipAddress: '192.0.2.10', eventName: 'Upload', atMs: T0 - 60_000, contentId: 'content-1' },
      { accountId: 'acct-u1', ipAddress: '198.51.100.7', eventName: 'Upload', atMs: T0 - 1000, contentId: 'content-2' },
    ]);
    // The same upload also listed by the platform's enrichment appears once, with its content id.
    const enrichment = { ipEvents: [{ accountId: 'acct-u1', ipAddress: '192.0.2.10', eventName: 'Upload' as const, atMs: T0 - 60_000, port: 443 }], countryCodes: ['NL'], files: { 'content-1': { publiclyAvailable: false } } };
    expect(ipEventsOf(c, enrichment)).toEqual([
      { accountId: 'acct-u1', ipAddress: '192.0.2.10', eventName: 'Upload', atMs: T0 - 60_000, port: 443, contentId: 'content-1' },
      expect.objectContaining({ ipAddress: '198.51.100.7' }),
    ]);
    expect(countryCodesOf(c, enrichment)).toEqual(['NL', 'DE', 'FR']);
    expect(uploaderLocationOf(c)).toEqual({ countryCode: 'FR', atMs: T0 - 1000 }); // the latest upload
    expect(fileFactsOf(c.items[0] as MatchItem)).toEqual({ uploadedAtMs: T0 - 60_000, publiclyAvailable: true });
    expect(fileFactsOf(c.items[0] as MatchItem, enrichment)).toEqual({ uploadedAtMs: T0 - 60_000, publiclyAvailable: false });
    expect(fileFactsOf(c.items[2] as MatchItem)).toEqual({});
    expect(uploaderLocationOf({ ...c, kind: 'grooming' })).toBeUndefined();
  });
});

describe('upload context in the NCMEC report', () => {
  it('puts the upload IP and the country on the reported user, in XSD order, and the simulator model accepts it', () => {
    const c = caseWith(UPLOAD);
    const xml = buildNcmecReportXml(c, { provider: provider() });
    const doc = parseXmlDocument(xml);
    expect(validateElement(doc, REPORT_SPEC)).toBeUndefined();
    const user = child(doc, 'personOrUserReported')!;
    expect(user.children.map((n) => n.name)).toEqual(['espIdentifier', 'espService', 'ipCaptureEvent', 'estimatedLocation']);
    const ip = child(user, 'ipCaptureEvent')!;
    expect(ip.children.map((n) => [n.name, n.text])).toEqual([
      ['ipAddress', '192.0.2.10'],
      ['eventName', 'Upload'],
      ['dateTime', new Date(T0 - 60_000).toISOString().replace('.000Z', 'Z')],
    ]);
    expect(child(user, 'estimatedLocation')!.children.map((n) => [n.name, n.text])).toEqual([
      ['countryCode', 'DE'],
      ['timestamp', new Date(T0 - 60_000).toISOString().replace('.000Z', 'Z')],
    ]);
  });

  it('fills uploadedToEspTimestamp, publiclyAvailable and the file\'s own upload IP in <fileDetails>', () => {
    const c = caseWith({ ipAddress: '2001:db8::7', publiclyAvailable: false, uploadedAtMs: T0 - 5000 });
    const xml = buildNcmecFileDetailsXml({ reportId: '100001', fileId: 'f1', item: c.items[0] as MatchItem, fileName: 'x.bin', fileViewedByEsp: true, uploaderAccountId: c.subjectId });
    const doc = parseXmlDocument(xml);
    expect(validateElement(doc, FILE_DETAILS_SPEC)).toBeUndefined();
    expect(doc.children.map((n) => n.name)).toEqual([
      'reportId', 'fileId', 'fileName', 'uploadedToEspTimestamp', 'fileViewedByEsp', 'exifViewedByEsp', 'publiclyAvailable', 'fileRelevance', 'originalFileHash', 'ipCaptureEvent', 'details',
    ]);
    expect(text(doc, 'uploadedToEspTimestamp')).toBe(new Date(T0 - 5000).toISOString().replace('.000Z', 'Z'));
    expect(text(doc, 'publiclyAvailable')).toBe('false');
    expect(text(child(doc, 'ipCaptureEvent'), 'ipAddress')).toBe('2001:db8::7');
  });

  it('leaves out what the platform did not send: no time, no country, no IP', () => {
    const noTime = caseWith({ ipAddress: '192.0.2.99' });
    const user = child(parseXmlDocument(buildNcmecReportXml(noTime, { provider: provider() })), 'personOrUserReported')!;
    expect(user.children.map((n) => n.name)).toEqual(['espIdentifier', 'espService', 'ipCaptureEvent']);
    expect(child(user, 'ipCaptureEvent')!.children.map((n) => n.name)).toEqual(['ipAddress', 'eventName']);
    const none = child(parseXmlDocument(buildNcmecReportXml(caseWith(undefined), { provider: provider() })), 'personOrUserReported')!;
    expect(none.children.map((n) => n.name)).toEqual(['espIdentifier', 'espService']);
  });
});

describe('upload context in the EU Centre report (Art. 13(f))', () => {
  it('lists the upload IP with its content and the country under geographic, the upload time and visibility under content data; signed and verifiable', () => {
    const c = caseWith(UPLOAD, undefined);
    const signed = signEuReport(buildEuReport(c, { provider: provider(), nowMs: T0 + 2000 }), key);
    expect(signed.geographic).toEqual({
      available: true,
      ipCaptureEvents: [{ accountId: 'acct-u1', ipAddress: '192.0.2.10', eventName: 'Upload', at: new Date(T0 - 60_000).toISOString(), contentId: 'content-1' }],
      countryCodes: ['DE'],
    });
    expect(signed.contentData.items[0]).toMatchObject({ type: 'media', contentId: 'content-1', uploadedAt: new Date(T0 - 60_000).toISOString(), publiclyAvailable: true });
    expect(signed.contentData.items[1]).not.toHaveProperty('uploadedAt');
    expect(signed.contentData.items[1]).not.toHaveProperty('publiclyAvailable');
    expect(verifyEuReportBytes(serializeEuReport(signed), key.publicKey)).toMatchObject({ ok: true });
    // Without any upload context (f) says so.
    expect(buildEuReport(caseWith(undefined), { provider: provider(), nowMs: T0 }).geographic).toEqual({ available: false, ipCaptureEvents: [], countryCodes: [] });
    // An IP without a recorded time has no `at`.
    expect(buildEuReport(caseWith({ ipAddress: '192.0.2.5' }), { provider: provider(), nowMs: T0 }).geographic.ipCaptureEvents).toEqual([
      { accountId: 'acct-u1', ipAddress: '192.0.2.5', eventName: 'Upload', contentId: 'content-1' },
    ]);
  });
});

describe('upload context through the engine', () => {
  it('reaches both queued reports, stays out of the audit chain, and retention purges it with the case', async () => {
    const store = new MemoryReportingStore();
    const clock = new FakeClock();
    const engine = new ReportingEngine({ store, policy: policy(), provider: provider(), signingKey: key, clock: clock.now });
    const r = await engine.ingestMatch(match({ algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256, upload: { ...UPLOAD, ipAddress: '203.0.113.77' } }));
    expect(r.state).toBe('confirmed');
    const outbox = await store.listOutbox(r.caseId);
    const ncmec = outbox.find((o) => o.destination === 'ncmec')!;
    const eu = outbox.find((o) => o.destination === 'eu_centre')!;
    expect(ncmec.ncmec!.reportXml).toContain('<ipAddress>203.0.113.77</ipAddress>');
    expect(ncmec.ncmec!.reportXml).toContain('<countryCode>DE</countryCode>');
    expect(ncmec.ncmec!.files[0]!.item.upload).toMatchObject({ ipAddress: '203.0.113.77' });
    expect(JSON.parse(eu.eu!.body).geographic).toMatchObject({ available: true, countryCodes: ['DE'], ipCaptureEvents: [{ ipAddress: '203.0.113.77', contentId: expect.any(String) }] });
    expect(JSON.stringify(await store.audit.list())).not.toContain('203.0.113.77');

    clock.nowMs = addMonthsUtc(T0, 12);
    expect(await engine.purgeExpired()).toEqual([r.caseId]);
    const everything = JSON.stringify({ cases: await store.listCases(), outbox: await store.listOutbox(), audit: await store.audit.list(), decisions: await store.listDecisions(), feedback: await store.listFeedback() });
    expect(everything).not.toContain('203.0.113.77');
    expect(everything).not.toContain('"countryCode"');
  });
});
