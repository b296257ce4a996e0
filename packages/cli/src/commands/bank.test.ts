import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { generateBankSigningKeyPair, signBankFile } from '@safeguard/domain/matching';
import { createTransport, type InProcessTransport } from '@safeguard/kafka';
import { topics, type IndicatorFeedback, type IndicatorUpdated } from '@safeguard/schemas';
import type { CliIo } from '../program';
import { jsonLines, runCli } from '../testing/run-cli';
import { exportLines, registerBankCommands, statusChange, statsOf, type BankRunner, type IndicatorState } from './bank';

const A = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
const B = 'e4cc89d91c623842f8d1f1d9a398e78c9f199a3bf87925f2b7e11e0bf061b064';
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

let dir: string;
let transport: InProcessTransport;
let clock: number;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'safeguard-cli-bank-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  transport = createTransport({ kind: 'in-process', clientId: 'cli-test' });
  clock = Date.UTC(2026, 10, 28, 6, 30, 0);
});
afterEach(() => transport.close());

const runner: BankRunner = async (opts, work) =>
  work({
    transport,
    indicatorTopic: `${opts.topicPrefix}${topics.indicatorUpdated.topic}`,
    feedbackTopic: `${opts.topicPrefix}${topics.indicatorFeedback.topic}`,
    timeoutMs: 5_000,
    now: () => clock,
  });

/** The bank commands alone, on the in-process transport through {@link runner}. */
function bankProgram(io: CliIo, exit: { code: number }): Command {
  const program = new Command('safeguard').exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerBankCommands(program, io, exit, runner);
  return program;
}

/** Runs `safeguard <args>`; `lines` holds the output's JSON lines (none when it is not JSON, e.g. an export). */
async function run(...args: string[]): Promise<{ lines: Record<string, unknown>[]; out: string; err: string; code: number }> {
  const r = await runCli(args, { program: bankProgram });
  return { ...r, lines: r.out.trim().startsWith('{') ? jsonLines(r.out) : [] };
}

const conn = ['--brokers', 'unused:1', '--registry', 'http://unused'];
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

async function topicRecords(): Promise<Array<{ key: string | null; value: IndicatorUpdated | null }>> {
  const out: Array<{ key: string | null; value: IndicatorUpdated | null }> = [];
  const reader = await transport.reader({ binding: topics.indicatorUpdated, handle: (m) => void out.push({ key: m.key, value: m.value }) });
  await reader.caughtUp();
  await reader.stop();
  return out;
}

describe('safeguard bank import', () => {
  it('publishes a new bank, nothing for the same file again, and the diff (changes, tombstones) for a new version', async () => {
    const v1 = file('v1.tsv', `e1\tpdq\t${A}\tclass_a\ne2\tmd5\t${MD5}\n`);
    const first = await run('bank', 'import', '--bank', 'eu-known', '--kind', 'block', '--source', 'eu_centre', ...conn, v1);
    expect(first.code).toBe(0);
    expect(first.lines[0]).toMatchObject({ ok: true, bank: 'eu-known', signature: 'unsigned', entries: 2, added: 2, changed: 0, removed: 0, published: 2, listVersion: expect.stringMatching(/^20261128T063000Z-[0-9a-f]{16}$/) });
    const recs = await topicRecords();
    expect(recs.map((r) => r.key)).toEqual(expect.arrayContaining(['eu-known/e1', 'eu-known/e2']));
    expect(recs.find((r) => r.key === 'eu-known/e1')!.value).toMatchObject({
      bank: { name: 'eu-known', kind: 'BLOCK', source: 'eu_centre' },
      pdqThreshold: 31,
      algorithm: 'pdq',
      hashValue: A,
      labels: ['class_a'],
      status: 'ACTIVE',
      reason: 'imported',
      updatedBy: 'safeguard-cli',
      updatedAtMs: clock,
    });

    const again = await run('bank', 'import', '--bank', 'eu-known', '--kind', 'block', '--source', 'eu_centre', ...conn, v1);
    expect(again.lines[0]).toMatchObject({ added: 0, changed: 0, removed: 0, unchanged: 2, published: 0 });

    // An operator disables e1; the next list changes e1's labels, drops e2 and adds e3.
    expect((await run('bank', 'disable', '--bank', 'eu-known', 'e1', ...conn)).lines[0]).toEqual({ bank: 'eu-known', entryId: 'e1', status: 'DISABLED', changed: true });
    clock -= 60_000; // this host's clock is behind the last change: the import must still be newer
    const v2 = file('v2.csv', `entry_id,algorithm,hash,labels\ne1,pdq,${A},class_b\ne3,pdq,${B},\n`);
    const third = await run('bank', 'import', '--bank', 'eu-known', '--kind', 'block', '--source', 'eu_centre', ...conn, v2);
    expect(third.lines[0]).toMatchObject({ added: 1, changed: 1, removed: 1, unchanged: 0, published: 3 });
    const after = await topicRecords();
    const last = new Map(after.map((r) => [r.key, r.value]));
    expect(last.get('eu-known/e2')).toBeNull();
    expect(last.get('eu-known/e1')).toMatchObject({ labels: ['class_b'], status: 'DISABLED', reason: 'disabled_by_operator' });
    expect(last.get('eu-known/e1')!.updatedAtMs).toBeGreaterThan(clock + 60_000 - 1);
    expect(last.get('eu-known/e3')).toMatchObject({ status: 'ACTIVE', hashValue: B });
  });

  it('refuses a file with bad lines, reporting every one with its line number, and publishes nothing', async () => {
    const bad = file('bad.tsv', `e1\tpdq\t${A}\ne1\tpdq\t${B}\ne2\tpdq\tabc\ne3\tsha3\tff\n`);
    const r = await run('bank', 'import', '--bank', 'b', '--kind', 'review', '--source', 'platform', ...conn, bad);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual([
      `${bad}:2: entry_id_duplicate: entry id already used on line 1`,
      `${bad}:3: hash_length_invalid: hash must be pdq hex`,
      `${bad}:4: algorithm_invalid: algorithm must be one of pdq, md5, sha1, sha256`,
    ]);
    expect(r.lines).toEqual([]);
    expect(await transport.admin().listTopics()).not.toContain(topics.indicatorUpdated.topic);
  });

  it('checks signatures: refuses unsigned and tampered files when required, accepts a valid one', async () => {
    const keys = generateBankSigningKeyPair();
    const pub = file('pub.pem', keys.publicKeyPem);
    const content = `e1\tpdq\t${A}\n`;
    const list = file('signed.tsv', content);
    const sig = file('signed.tsv.sig', signBankFile(Buffer.from(content), keys.privateKeyPem));
    const base = ['bank', 'import', '--bank', 'sig', '--kind', 'block', '--source', 'eu_centre', ...conn];

    const unsigned = await run(...base, '--require-signature', '--public-key', pub, list);
    expect([unsigned.code, unsigned.err.trim()]).toEqual([2, `${list}: signature_missing: this bank requires a signed list`]);
    const tampered = file('tampered.tsv', `e1\tpdq\t${B}\n`);
    const bad = await run(...base, '--require-signature', '--public-key', pub, '--signature', sig, tampered);
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('signature_invalid')]);
    const noKey = await run(...base, '--require-signature', list);
    expect([noKey.code, JSON.parse(noKey.err).error.code]).toEqual([1, 'public_key_required']);

    const ok = await run(...base, '--require-signature', '--public-key', pub, '--signature', sig, list);
    expect(ok.lines[0]).toMatchObject({ ok: true, signature: 'verified', published: 1 });
  });

  it('refuses to change a bank\'s kind, source or threshold unless asked to', async () => {
    const list = file('kind.tsv', `e1\tpdq\t${A}\ne2\tpdq\t${B}\n`);
    await run('bank', 'import', '--bank', 'k', '--kind', 'review', '--source', 'platform', ...conn, list);
    const r = await run('bank', 'import', '--bank', 'k', '--kind', 'allow', '--source', 'platform', ...conn, list);
    expect([r.code, r.err]).toEqual([2, expect.stringContaining('bank_settings_changed')]);
    const dry = await run('bank', 'import', '--bank', 'k', '--kind', 'review', '--source', 'platform', '--threshold', '20', '--change-settings', '--dry-run', ...conn, list);
    expect(dry.lines[0]).toMatchObject({ changed: 2, published: 0, dryRun: true });
    const changed = await run('bank', 'import', '--bank', 'k', '--kind', 'review', '--source', 'platform', '--threshold', '20', '--change-settings', ...conn, list);
    expect(changed.lines[0]).toMatchObject({ changed: 2, published: 2 });
    expect((await run('bank', 'stats', '--bank', 'k', ...conn)).lines[0]).toMatchObject({ bank: 'k', pdqThreshold: 20, entries: 2 });
  });
});

describe('safeguard bank export, status changes, stats and proposals', () => {
  it('exports a bank in every format; an export re-imports as unchanged', async () => {
    const list = file('exp.jsonl', `{"entryId":"z,1","algorithm":"pdq","hash":"${A}","labels":["x"]}\n{"entryId":"a","algorithm":"md5","hash":"${MD5}"}\n`);
    await run('bank', 'import', '--bank', 'exp', '--kind', 'review', '--source', 'platform', ...conn, list);
    const tsv = await run('bank', 'export', '--bank', 'exp', ...conn);
    expect(tsv.out).toBe(`a\tmd5\t${MD5}\t\nz,1\tpdq\t${A}\tx\n`);
    const csv = await run('bank', 'export', '--bank', 'exp', '--format', 'csv', ...conn);
    expect(csv.out).toBe(`entry_id,algorithm,hash,labels\na,md5,${MD5},\n"z,1",pdq,${A},x\n`);
    const jsonl = await run('bank', 'export', '--bank', 'exp', '--format', 'jsonl', '--with-state', ...conn);
    expect(jsonl.lines[1]).toMatchObject({ entryId: 'z,1', status: 'ACTIVE', reason: 'imported', labels: ['x'] });
    for (const [name, text] of [['re.tsv', tsv.out], ['re.csv', csv.out]]) {
      const r = await run('bank', 'import', '--bank', 'exp', '--kind', 'review', '--source', 'platform', ...conn, file(name, text));
      expect(r.lines[0]).toMatchObject({ unchanged: 2, published: 0 });
    }
    expect((await run('bank', 'export', '--bank', 'nope', ...conn)).code).toBe(1);
  });

  it('disables, enables and clears quarantines, refusing the wrong command for the state', async () => {
    await run('bank', 'import', '--bank', 'st', '--kind', 'block', '--source', 'ncmec', ...conn, file('st.tsv', `e1\tpdq\t${A}\n`));
    const cmd = (c: string, ...extra: string[]) => run('bank', c, '--bank', 'st', 'e1', ...extra, ...conn);
    expect((await cmd('enable')).lines[0]).toMatchObject({ status: 'ACTIVE', changed: false });
    expect((await cmd('disable', '--reason', 'false_positive')).lines[0]).toMatchObject({ status: 'DISABLED', changed: true });
    expect((await cmd('disable')).lines[0]).toMatchObject({ changed: false });
    expect(JSON.parse((await cmd('clear-quarantine')).err).error.code).toBe('entry_disabled');
    expect((await cmd('enable')).lines[0]).toMatchObject({ status: 'ACTIVE', changed: true });
    const missing = await run('bank', 'disable', '--bank', 'st', 'nope', ...conn);
    expect([missing.code, JSON.parse(missing.err).error.code]).toEqual([1, 'entry_not_found']);
    const recs = (await topicRecords()).filter((r) => r.key === 'st/e1').map((r) => [r.value!.status, r.value!.reason]);
    expect(recs).toEqual([
      ['ACTIVE', 'imported'],
      ['DISABLED', 'false_positive'],
      ['ACTIVE', 'enabled'],
    ]);
  });

  it('lists allow-list proposals from the feedback topic', async () => {
    const f = (id: string, action: string | null, vote: 'UP' | 'DOWN' = 'DOWN'): IndicatorFeedback => ({
      feedbackId: id,
      bank: { name: 'eu', kind: 'BLOCK', source: 'eu_centre', listVersion: 'v1' },
      entryId: `entry-${id}`,
      algorithm: 'pdq',
      hashValue: A,
      vote,
      action,
      caseId: 'case-9',
      createdAtMs: 1_000 + Number(id),
      queryHash: action === 'propose_allow_list' ? B : null,
    });
    await transport.admin().ensureTopics([{ topic: topics.indicatorFeedback.topic, partitions: 2 }]);
    await transport.producer().send(topics.indicatorFeedback, [{ value: f('1', 'propose_allow_list') }, { value: f('2', 'disable_entry') }, { value: f('3', null, 'UP') }, { value: f('4', 'propose_allow_list') }]);
    const r = await run('bank', 'proposals', ...conn);
    expect(r.lines.map((l) => l.feedbackId)).toEqual(['1', '4']);
    expect(r.lines[0]).toEqual({ feedbackId: '1', bank: 'eu', entryId: 'entry-1', algorithm: 'pdq', hashValue: A, queryHash: B, caseId: 'case-9', createdAtMs: 1001 });
    expect((await run('bank', 'proposals', '--since-ms', '1002', ...conn)).lines.map((l) => l.feedbackId)).toEqual(['4']);
  });

  it('validates options before connecting', async () => {
    const list = file('v.tsv', `e1\tpdq\t${A}\n`);
    expect((await run('bank', 'import', '--bank', 'Bad/Name', '--kind', 'block', '--source', 's', ...conn, list)).code).toBe(1);
    expect((await run('bank', 'import', '--bank', 'b', '--kind', 'deny', '--source', 's', ...conn, list)).code).toBe(1);
    expect(JSON.parse((await run('bank', 'import', '--bank', 'b', '--kind', 'block', '--source', 'S P', ...conn, list)).err).error.code).toBe('source_invalid');
    expect(JSON.parse((await run('bank', 'import', '--bank', 'b', '--kind', 'block', '--source', 's', ...conn, file('noext', 'x'))).err).error.code).toBe('format_required');
    expect(JSON.parse((await run('bank', 'import', '--bank', 'b', '--kind', 'block', '--source', 's', ...conn, join(dir, 'missing.tsv'))).err).error.code).toBe('file_not_readable');
  });
});

describe('bank pure parts', () => {
  const rec = (entryId: string, over: Partial<IndicatorUpdated> = {}): IndicatorUpdated => ({
    bank: { name: 'b', kind: 'REVIEW', source: 'platform', listVersion: 'v1' },
    pdqThreshold: 31,
    entryId,
    algorithm: 'pdq',
    hashValue: A,
    labels: [],
    status: 'ACTIVE',
    reason: null,
    updatedBy: null,
    updatedAtMs: 5,
    ...over,
  });

  it('summarises banks by algorithm, state and list version', () => {
    const state: IndicatorState = new Map([
      ['b/1', rec('1')],
      ['b/2', rec('2', { status: 'DISABLED', bank: { name: 'b', kind: 'REVIEW', source: 'platform', listVersion: 'v2' }, updatedAtMs: 9 })],
      ['b/3', rec('3', { status: 'QUARANTINED', algorithm: 'md5', hashValue: MD5 })],
      ['c/1', rec('1', { bank: { name: 'c', kind: 'ALLOW', source: 'platform', listVersion: 'v1' } })],
    ]);
    expect(statsOf(state)).toEqual([
      {
        bank: 'b',
        kind: 'review',
        source: 'platform',
        pdqThreshold: 31,
        entries: 3,
        byAlgorithm: { pdq: 2, md5: 1 },
        active: 1,
        disabled: 1,
        quarantined: 1,
        listVersions: [
          { listVersion: 'v2', entries: 1 },
          { listVersion: 'v1', entries: 2 },
        ],
        lastUpdatedAtMs: 9,
      },
      expect.objectContaining({ bank: 'c', kind: 'allow', entries: 1 }),
    ]);
  });

  it('changes status only when it differs and never moves time backwards', () => {
    const cur = rec('1', { updatedAtMs: 100 });
    expect(statusChange(cur, 'disable', 'fp', 'me', 50)).toMatchObject({ status: 'DISABLED', reason: 'fp', updatedBy: 'me', updatedAtMs: 100 });
    expect(statusChange(cur, 'enable', 'x', 'me', 200)).toBeNull();
    expect(statusChange(rec('1', { status: 'QUARANTINED' }), 'clear_quarantine', 'cleared', 'me', 200)).toMatchObject({ status: 'ACTIVE', updatedAtMs: 200 });
    expect(() => statusChange(rec('1', { status: 'QUARANTINED' }), 'enable', 'x', 'me', 1)).toThrow(expect.objectContaining({ code: 'entry_quarantined' }));
  });

  it('quotes CSV fields that need it and keeps --with-state to jsonl', () => {
    expect(exportLines([rec('a"b')], 'csv')[1]).toBe(`"a""b",pdq,${A},`);
    expect(() => exportLines([rec('1')], 'tsv', true)).toThrow(expect.objectContaining({ code: 'invalid_arguments' }));
  });
});
