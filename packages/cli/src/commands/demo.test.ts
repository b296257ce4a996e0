import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../testing/run-cli';

jest.setTimeout(120_000);

interface Summary {
  uploads: Array<{ contentId: string; ingest: string }>;
  deadLetters: Array<{ reason: string; key: string }>;
  matches: Array<{ contentId: string; decision: string; matches: Array<{ bank: string; entryId: string; algorithm: string; variant: string | null }> }>;
  alerts: Array<{ conversationId: string }>;
  decisions: Array<{ outcome: string }>;
  cases: Array<{ kind: string; state: string }>;
  reports: { euVerified: number; euTotal: number; ncmecFinished: number };
}

describe('safeguard demo (the README first command)', () => {
  let out: string;
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('runs the whole pipeline in process and finds what the sample data holds', async () => {
    out = mkdtempSync(join(tmpdir(), 'sg-demo-'));
    const run = await runCli(['demo', '--out', out, '--metrics-port', '0', '--no-progress']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Reports: NCMEC');

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    const ingest = Object.fromEntries(summary.uploads.map((u) => [`${u.contentId}:${u.ingest}`, true]));
    expect(ingest['up-020:uri_scheme_not_allowed']).toBe(true);
    expect(ingest['up-001:duplicate']).toBe(true);
    expect(summary.deadLetters).toEqual([{ key: 'demo-platform/up-019', reason: 'media_unsupported_type' }]);

    const matched = new Map(summary.matches.map((m) => [m.contentId, m]));
    // Edited, re-encoded, rotated and mirrored copies of the listed bridge photo all match it.
    for (const id of ['up-001', 'up-002', 'up-003', 'up-004', 'up-005', 'up-006', 'up-007', 'up-008']) {
      expect(matched.get(id)?.matches.some((d) => d.bank === 'demo-known' && d.entryId === 'K-0001')).toBe(true);
    }
    expect(matched.get('up-007')!.matches[0]!.variant).not.toBeNull();
    expect(matched.get('up-009')!.matches.map((d) => d.algorithm)).toContain('sha256');
    expect(matched.get('up-011')!.decision).toBe('REVIEW');
    // Allow-listed and unrelated uploads produce no match event.
    for (const id of ['up-012', 'up-013', 'up-014', 'up-015', 'up-016', 'up-017', 'up-018']) expect(matched.has(id)).toBe(false);

    // Three grooming conversations alert; the five ordinary ones do not.
    expect(new Set(summary.alerts.map((a) => a.conversationId))).toEqual(new Set(['demo-en-001', 'demo-de-003', 'demo-es-006']));
    expect(summary.decisions.filter((d) => d.outcome === 'false_positive')).toHaveLength(1);
    expect(summary.cases.filter((c) => c.kind === 'grooming').every((c) => c.state === 'reported')).toBe(true);
    expect(summary.reports.euVerified).toBe(summary.reports.euTotal);
    expect(summary.reports.ncmecFinished).toBe(summary.cases.filter((c) => c.state === 'reported').length);
    expect(readdirSync(join(out, 'reports')).some((f) => f.endsWith('.xml'))).toBe(true);
  });
});
