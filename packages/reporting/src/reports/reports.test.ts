import { alert, BRIDGE_SHA256, match, provider, signingKey, T0 } from '../__fixtures__/fixtures';
import { canonicalJson } from '../canonical';
import { mergeEvent, openCase, type Case, type MatchItem } from '../case';
import { FILE_DETAILS_SPEC, parseXmlDocument, REPORT_SPEC, validateElement } from '../sim/xml-schema';
import {
  buildEuReport,
  EU_REPORT_ART13_FIELDS,
  missingArt13Fields,
  serializeEuReport,
  signEuReport,
  verifyEuReportBytes,
} from './eu-report';
import { buildNcmecFileDetailsXml, buildNcmecReportXml, NCMEC_FILE_DETAILS_ORDER, NCMEC_REPORT_ORDER } from './ncmec-report';
import { el, escapeXmlAttr, escapeXmlText, renderXml } from './xml';

function confirmedMatchCase(): Case {
  let c = openCase({ type: 'match', event: match({ contentId: 'content-1', mediaUri: 's3://b/1' }) }, T0);
  c = mergeEvent(c, { type: 'match', event: match({ contentId: 'content-1', algorithm: 'sha256', distance: 0, queryHash: BRIDGE_SHA256 }) }, T0).case;
  return { ...c, version: 1, state: 'confirmed', category: 'known_material', decidedAtMs: T0 + 1000, industryClassification: 'B1' };
}

function confirmedGroomingCase(): Case {
  const c = openCase({ type: 'grooming', event: alert({ participantIds: ['acct-adult', 'acct-minor', 'acct-minor-2'] }) }, T0);
  return { ...c, version: 1, state: 'confirmed', category: 'solicitation', urgent: true, decidedAtMs: T0 + 5 };
}

const enrichment = {
  ipEvents: [
    { accountId: 'acct-u1', ipAddress: '192.0.2.10', eventName: 'Upload' as const, atMs: T0 - 1000 },
    { accountId: 'acct-u1', ipAddress: '198.51.100.7', eventName: 'Login' as const, atMs: T0 - 5000, possibleProxy: false },
    { accountId: 'someone-else', ipAddress: '203.0.113.99', eventName: 'Login' as const, atMs: T0 },
  ],
  countryCodes: ['NL'],
  files: { 'content-1': { fileName: 'holiday.jpg', uploadedAtMs: T0 - 1000, publiclyAvailable: false } },
  removal: { removed: true, atMs: T0 + 2000 },
};

describe('xml builder', () => {
  it('escapes text and attributes and refuses characters XML 1.0 forbids', () => {
    expect(escapeXmlText('a<b>&"c\'')).toBe('a&lt;b&gt;&amp;"c\'');
    expect(escapeXmlAttr('a"b\n<&')).toBe('a&quot;b&#xA;&lt;&amp;');
    expect(renderXml(el('r', [el('x', 'a & b', { t: 'q"' }), undefined, false, el('e', [])]))).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<r><x t="q&quot;">a &amp; b</x><e/></r>');
    expect(() => escapeXmlText('bell\u0007')).toThrow(/XML 1.0/);
    expect(() => escapeXmlText('lone \ud800 surrogate')).toThrow(/XML 1.0/);
    expect(() => renderXml(el('bad name'))).toThrow(/invalid element name/);
    // Round trip through a real parser.
    const doc = parseXmlDocument(renderXml(el('r', [el('x', '<tag> & "quotes" ü 🙂')])));
    expect(doc.children[0]!.text).toBe('<tag> & "quotes" ü 🙂');
  });
});

describe('NCMEC report', () => {
  it('emits <report> children in XSD order and validates against the schema model', () => {
    const xml = buildNcmecReportXml(confirmedGroomingCase(), { provider: provider(), enrichment });
    const doc = parseXmlDocument(xml);
    const order = doc.children.map((c) => c.name);
    const positions = order.map((n) => NCMEC_REPORT_ORDER.indexOf(n as (typeof NCMEC_REPORT_ORDER)[number]));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(order).toEqual(['incidentSummary', 'internetDetails', 'reporter', 'personOrUserReported', 'intendedRecipient', 'intendedRecipient', 'additionalInfo']);
    expect(validateElement(doc, REPORT_SPEC)).toBeUndefined();
    expect(xml).toContain('<incidentType>Online Enticement of Children for Sexual Acts</incidentType>');
    expect(xml).toContain('<escalateToHighPriority>');
    expect(xml).toContain('<espIdentifier>acct-adult</espIdentifier>');
    expect(xml).not.toContain('msg-3');
  });

  it('describes match cases as material with the uploader and IP events', () => {
    const xml = buildNcmecReportXml(confirmedMatchCase(), { provider: provider(), enrichment });
    const doc = parseXmlDocument(xml);
    expect(validateElement(doc, REPORT_SPEC)).toBeUndefined();
    expect(xml).toContain('Child Pornography (possession, manufacture, and distribution)');
    expect(xml).toContain('<ipAddress>192.0.2.10</ipAddress>');
    expect(xml).not.toContain('203.0.113.99');
    expect(xml).not.toContain('escalateToHighPriority');
    expect(() => buildNcmecReportXml(confirmedMatchCase(), { provider: { ...provider(), ncmec: undefined } })).toThrow(/ncmec reporter section/);
  });

  it('emits <fileDetails> in exactly the XSD order', () => {
    expect(NCMEC_FILE_DETAILS_ORDER).toEqual([
      'reportId', 'fileId', 'fileName', 'originalFileName', 'uploadedToEspTimestamp', 'locationOfFile', 'fileViewedByEsp', 'exifViewedByEsp',
      'publiclyAvailable', 'fileRelevance', 'fileAnnotations', 'industryClassification', 'originalFileHash', 'ipCaptureEvent', 'deviceId', 'details', 'additionalInfo',
    ]);
    const c = confirmedMatchCase();
    const xml = buildNcmecFileDetailsXml({
      reportId: '100001',
      fileId: 'abc',
      item: c.items[0] as MatchItem,
      fileName: 'content-1.bin',
      fileViewedByEsp: true,
      industryClassification: 'B1',
      uploaderAccountId: 'acct-u1',
      enrichment,
    });
    const doc = parseXmlDocument(xml);
    const names = doc.children.map((n) => n.name);
    const pos = names.map((n) => NCMEC_FILE_DETAILS_ORDER.indexOf(n as (typeof NCMEC_FILE_DETAILS_ORDER)[number]));
    expect([...pos].sort((a, b) => a - b)).toEqual(pos);
    expect(names).toEqual(['reportId', 'fileId', 'fileName', 'originalFileName', 'uploadedToEspTimestamp', 'fileViewedByEsp', 'exifViewedByEsp', 'publiclyAvailable', 'fileRelevance', 'industryClassification', 'originalFileHash', 'originalFileHash', 'ipCaptureEvent', 'details']);
    expect(validateElement(doc, FILE_DETAILS_SPEC)).toBeUndefined();
    const hashes = doc.children.filter((n) => n.name === 'originalFileHash').map((n) => `${n.attrs.hashType}:${n.text}`);
    expect(hashes).toEqual([`PDQ:${(c.items[0] as MatchItem).matches[0]!.queryHash}`, `SHA256:${BRIDGE_SHA256}`]);
    // Only the Upload IP event of the uploader goes into fileDetails.
    expect(xml).toContain('192.0.2.10');
    expect(xml).not.toContain('198.51.100.7');
  });
});

describe('EU Centre report', () => {
  const key = signingKey();

  it('carries every Art. 13 item (a)–(k)', () => {
    const r = buildEuReport(confirmedMatchCase(), { provider: provider(), enrichment, ncmec: { status: 'queued' }, nowMs: T0 + 3000 });
    const signed = signEuReport(r, key);
    expect(missingArt13Fields(signed)).toEqual([]);
    expect(Object.keys(EU_REPORT_ART13_FIELDS)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']);
    expect(signed.provider).toMatchObject({ name: provider().name, country: 'NL' });
    expect(signed.createdAt).toBe(new Date(T0 + 3000).toISOString());
    expect(signed.contentData.items[0]).toMatchObject({ type: 'media', contentId: 'content-1', hashes: [{ algorithm: 'pdq' }, { algorithm: 'sha256', value: BRIDGE_SHA256 }] });
    expect(signed.category).toBe('known_material');
    expect(signed.geographic).toMatchObject({ available: true, countryCodes: ['NL'] });
    expect(signed.geographic.ipCaptureEvents.map((e) => e.ipAddress)).toEqual(['192.0.2.10', '198.51.100.7']);
    expect(signed.usersInvolved).toEqual([{ role: 'uploader', accountId: 'acct-u1' }]);
    expect(signed.thirdCountryReporting).toEqual({ reported: true, authorities: [{ authority: 'NCMEC', country: 'US', status: 'queued' }] });
    expect(signed.removal).toEqual({ removedOrDisabled: true, at: new Date(T0 + 2000).toISOString() });
    expect(signed.urgency).toEqual({ urgent: false });
    expect(signed.legalBasis.article).toBe('Article 13');
    expect(signed.signature).toMatchObject({ alg: 'Ed25519', keyId: key.keyId, canonicalization: 'RFC8785' });
  });

  it('names grooming participants by role and marks urgency', () => {
    const r = buildEuReport(confirmedGroomingCase(), { provider: provider(), nowMs: T0 });
    expect(r.category).toBe('solicitation');
    expect(r.usersInvolved).toEqual([
      { role: 'suspected_offender', accountId: 'acct-adult' },
      { role: 'potential_victim', accountId: 'acct-minor' },
      { role: 'potential_victim', accountId: 'acct-minor-2' },
    ]);
    expect(r.urgency.urgent).toBe(true);
    expect(r.geographic.available).toBe(false);
    expect(r.contentData.items[0]).toMatchObject({ type: 'conversation', signals: [{ kind: 'age_probing', messageIds: ['msg-3', 'msg-5'] }, { kind: 'secrecy_request' }] });
  });

  it('serialises canonically and verifies; a different key or a re-ordered file fails', () => {
    const signed = signEuReport(buildEuReport(confirmedMatchCase(), { provider: provider(), nowMs: T0 }), key);
    const bytes = serializeEuReport(signed);
    expect(bytes.toString('utf8')).toBe(`${canonicalJson(signed)}\n`);
    expect(verifyEuReportBytes(bytes, key.publicKey)).toMatchObject({ ok: true, keyId: key.keyId });
    expect(verifyEuReportBytes(bytes, signingKey().publicKey)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyEuReportBytes(bytes, key.publicKey, 'other-key')).toMatchObject({ ok: false, reason: 'key_mismatch' });
    const pretty = Buffer.from(JSON.stringify(signed, null, 2));
    expect(verifyEuReportBytes(pretty, key.publicKey)).toMatchObject({ ok: false, reason: 'not_canonical' });
    const { signature: _s, ...unsigned } = signed;
    expect(verifyEuReportBytes(serializeEuReport(unsigned as typeof signed), key.publicKey)).toMatchObject({ ok: false, reason: 'no_signature' });
  });

  it('fails verification for every single altered byte of a signed report', () => {
    const signed = signEuReport(buildEuReport(confirmedGroomingCase(), { provider: provider(), nowMs: T0 }), key);
    const bytes = serializeEuReport(signed);
    let accepted = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const delta of [1, 0x20]) {
        const altered = Buffer.from(bytes);
        altered[i] = altered[i]! ^ delta;
        if (verifyEuReportBytes(altered, key.publicKey).ok) accepted++;
      }
    }
    expect(bytes.length).toBeGreaterThan(1000);
    expect(accepted).toBe(0);
  });
});
