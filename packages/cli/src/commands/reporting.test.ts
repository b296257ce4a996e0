import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  chainRecord,
  loadSigningKey,
  ReportingEngine,
  parsePolicyConfig,
  signAuditHead,
  SqliteReportingStore,
  type AuditRecord,
} from '@safeguard/reporting';
import { runCli as run } from '../testing/run-cli';

const EXAMPLES = resolve(__dirname, '../../../../examples');
const CASE = join(EXAMPLES, 'case.json');
const KEY = join(EXAMPLES, 'keys/demo-ed25519.pem');
const PUB = join(EXAMPLES, 'keys/demo-ed25519.pub.pem');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-cli-reporting-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safeguard report', () => {
  it('renders a signed EU report of the example case that verifies; any altered byte fails', async () => {
    const r = await run(['report', 'render', '--format', 'eu', '--key', KEY, '--now', '2026-01-15T11:00:00Z', CASE]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ schema: 'safeguard.eu-centre-report.v1', category: 'known_material', createdAt: '2026-01-15T11:00:00.000Z', signature: { alg: 'Ed25519' } });
    const file = join(dir, 'report.json');
    writeFileSync(file, r.out);
    const ok = await run(['report', 'verify', file, '--public-key', PUB]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, reportId: report.reportId });

    // A spread of byte positions through the CLI (the library test alters every byte).
    const bytes = readFileSync(file);
    const positions = Array.from({ length: 40 }, (_, i) => Math.floor((i * bytes.length) / 40));
    for (const p of positions) {
      const altered = Buffer.from(bytes);
      altered[p] = altered[p]! ^ 0x01;
      const f = join(dir, `altered-${p}.json`);
      writeFileSync(f, altered);
      const v = await run(['report', 'verify', f, '--public-key', PUB]);
      expect({ p, code: v.code }).toEqual({ p, code: 1 });
    }
  });

  it('renders the NCMEC <report> XML', async () => {
    const r = await run(['report', 'render', '--format', 'ncmec', CASE]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<report><incidentSummary>/);
    expect(r.out).toContain('<espIdentifier>acct-7f3a9c</espIdentifier>');
  });

  it('reports bad input clearly with exit 2', async () => {
    const noKey = await run(['report', 'render', '--format', 'eu', CASE]);
    expect(noKey.code).toBe(2);
    expect(JSON.parse(noKey.err).error.code).toBe('key_required');
    const missing = await run(['report', 'render', '--format', 'ncmec', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.err).error.code).toBe('file_not_found');
    const bad = join(dir, 'bad-case.json');
    writeFileSync(bad, JSON.stringify({ provider: {}, case: {} }));
    const invalid = await run(['report', 'render', '--format', 'ncmec', bad]);
    expect(invalid.code).toBe(2);
    expect(JSON.parse(invalid.err).error).toMatchObject({ code: 'invalid_case', message: expect.stringContaining('provider.name') });
    const wrongKey = await run(['report', 'render', '--format', 'eu', '--key', PUB, CASE]);
    expect(JSON.parse(wrongKey.err).error.code).toBe('key_invalid');
    expect((await run(['report', 'render', '--format', 'pdf', CASE])).code).not.toBe(0);
  });
});

const key = loadSigningKey(readFileSync(KEY));

describe('safeguard audit verify', () => {
  function writeChain(records: AuditRecord[], name: string): string {
    const f = join(dir, name);
    writeFileSync(f, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return f;
  }
  const records: AuditRecord[] = [];
  for (let i = 0; i < 6; i++) {
    const prev = records[records.length - 1];
    records.push(chainRecord({ atMs: i, type: 'review_decision', actor: { kind: 'reviewer', id: 'r1' }, caseId: 'case_x', data: { i } }, prev && { seq: prev.seq, hash: prev.hash }));
  }

  it('accepts an intact chain and names the line of a tampered record', async () => {
    const ok = await run(['audit', 'verify', writeChain(records, 'ok.jsonl')]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, count: 6, head: { seq: 5 } });
    const tampered = structuredClone(records);
    (tampered[3]!.data as { i: number }).i = 99;
    const bad = await run(['audit', 'verify', writeChain(tampered, 'bad.jsonl')]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, line: 4, seq: 3, reason: 'hash_mismatch' });
  });

  it('with a signed head, catches a dropped last record', async () => {
    const head = signAuditHead({ seq: 5, hash: records[5]!.hash }, key, 10);
    const headFile = join(dir, 'head.json');
    writeFileSync(headFile, JSON.stringify(head));
    const ok = await run(['audit', 'verify', writeChain(records, 'h-ok.jsonl'), '--head', headFile, '--public-key', PUB]);
    expect(ok.code).toBe(0);
    const dropped = await run(['audit', 'verify', writeChain(records.slice(0, 5), 'h-drop.jsonl'), '--head', headFile, '--public-key', PUB]);
    expect(dropped.code).toBe(1);
    expect(JSON.parse(dropped.out)).toMatchObject({ ok: false, line: 'end', reason: 'head_mismatch' });
    const badJson = join(dir, 'garbage.jsonl');
    writeFileSync(badJson, '{"seq":0}\nnot json\n');
    const g = await run(['audit', 'verify', badJson]);
    expect(g.code).toBe(1);
    expect(JSON.parse(g.err).error.message).toMatch(/line 2/);
  });
});

describe('safeguard transparency', () => {
  it('reads the durable store and prints figures for the period', async () => {
    const path = join(dir, 'store.db');
    const store = new SqliteReportingStore(path);
    let now = Date.UTC(2026, 0, 15, 10);
    const file = JSON.parse(readFileSync(CASE, 'utf8'));
    const engine = new ReportingEngine({
      store,
      policy: parsePolicyConfig({ version: 1, defaultDestinations: ['eu_centre'] }),
      provider: file.provider,
      signingKey: key,
      clock: () => now,
    });
    const bank = { name: 'demo-indicators', kind: 'block', source: 'eu_centre', entryId: 'entry-42', listVersion: '1' };
    const m = (i: number, account: string) => ({
      matchId: `m${i}`, contentId: `c${i}`, platformId: 'p', uploaderAccountId: account, algorithm: 'pdq', distance: 5,
      queryHash: 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22', quality: 100, bank, matchedAtMs: now,
    });
    const reviewer = { id: 'rev', role: 'reviewer' as const };
    const a = await engine.ingestMatch(m(1, 'u1'));
    const b = await engine.ingestMatch(m(2, 'u2'));
    await engine.review(a.caseId, { type: 'claim', actor: reviewer });
    await engine.review(b.caseId, { type: 'claim', actor: reviewer });
    now += 60_000;
    await engine.review(a.caseId, { type: 'confirm', actor: reviewer });
    await engine.review(b.caseId, { type: 'false_positive', actor: reviewer, reasonCode: 'benign_collision' });
    await store.close();

    const r = await run(['transparency', '--from', '2026-01-01', '--to', '2026-01-31', '--store', path]);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(t.reviewOutcomes).toEqual({ confirm: 1, false_positive: 1, escalate: 0 });
    expect(t.errorRates).toEqual([expect.objectContaining({ detector: 'bank:demo-indicators', algorithm: 'pdq', reviewed: 2, falsePositives: 1, falsePositiveRate: 0.5 })]);
    expect(t.medianTimeToDecisionMs).toBe(60_000);
    expect(t.cases.opened).toBe(2);
    expect(t.from).toBe('2026-01-01T00:00:00.000Z');
    expect(t.to).toBe('2026-02-01T00:00:00.000Z');

    const none = await run(['transparency', '--from', '2025-01-01', '--to', '2025-01-31', '--store', path]);
    expect(JSON.parse(none.out).cases.opened).toBe(0);
    const missing = await run(['transparency', '--from', '2026-01-01', '--to', '2026-01-31', '--store', join(dir, 'absent.db')]);
    expect(missing.code).toBe(2);
    expect((await run(['transparency', '--from', 'last week', '--to', '2026-01-31', '--store', path])).code).not.toBe(0);
  });
});
