import { computeListVersion, diffBank, parseBankFile, prepareBankImport, bankFileFormatOf, BankFileEntry } from './bank-file';
import { checkBankFileSignature, generateBankSigningKeyPair, signBankFile, verifyBankFileSignature } from './bank-signature';
import { BankSet } from './bank-set';
import { BankEntryUpsert } from './bank-types';

const P1 = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
const P2 = '0'.repeat(63) + '1';
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('parseBankFile', () => {
  it('parses tsv, csv (header, quotes, CRLF, comments) and jsonl to the same entries', () => {
    const tsv = `e1\tpdq\t${P1}\tcsam_a1;known\n\n# comment\ne2\tmd5\t${MD5.toUpperCase()}\ne3\tsha1\t${SHA1}\t\ne4\tsha256\t${SHA256}\n`;
    const csv = `\ufeffentry_id,algorithm,hash,labels\r\ne1,pdq,${P1},"csam_a1|known"\r\n"e2",md5,${MD5},\r\ne3,sha1,${SHA1}\r\ne4,sha256,${SHA256},\r\n`;
    const jsonl = [
      { entryId: 'e1', algorithm: 'pdq', hash: P1, labels: ['csam_a1', 'known'] },
      { entryId: 'e2', algorithm: 'md5', hashHex: MD5 },
      { entryId: 'e3', algorithm: 'sha1', hash: SHA1, labels: [] },
      { entryId: 'e4', algorithm: 'sha256', hash: SHA256 },
    ].map((o) => JSON.stringify(o)).join('\n');
    const strip = (r: ReturnType<typeof parseBankFile>): unknown => (r.ok ? r.entries.map(({ line: _l, ...e }) => e) : r.errors);
    const t = parseBankFile(tsv, 'tsv');
    expect(t.ok).toBe(true);
    expect(strip(t)).toEqual([
      { entryId: 'e1', algorithm: 'pdq', hashHex: P1, labels: ['csam_a1', 'known'] },
      { entryId: 'e2', algorithm: 'md5', hashHex: MD5, labels: [] },
      { entryId: 'e3', algorithm: 'sha1', hashHex: SHA1, labels: [] },
      { entryId: 'e4', algorithm: 'sha256', hashHex: SHA256, labels: [] },
    ]);
    expect(strip(parseBankFile(csv, 'csv'))).toEqual(strip(t));
    expect(strip(parseBankFile(jsonl, 'jsonl'))).toEqual(strip(t));
    expect(t.ok && t.entries.map((e) => e.line)).toEqual([1, 4, 5, 6]);
    expect(bankFileFormatOf('x/list.NDJSON')).toBe('jsonl');
    expect(bankFileFormatOf('list.tab')).toBe('tsv');
    expect(bankFileFormatOf('list.txt')).toBeUndefined();
  });

  it('reports EVERY bad line with its line number and code, and returns no entries', () => {
    const lines = [
      `ok1\tpdq\t${P1}`,
      `bad-algo\tpdqx\t${P1}`,
      `short\tpdq\t${P1.slice(1)}`,
      `charset\tmd5\t${'g'.repeat(32)}`,
      `ok1\tmd5\t${MD5}`,
      `has space\tmd5\t${MD5}`,
      `labels\tmd5\t${MD5}\tBad Label`,
      `dup-label\tmd5\t${MD5}\ta;a`,
      `fields\tmd5`,
      `ok2\tsha256\t${SHA256}`,
    ];
    const r = parseBankFile(lines.join('\n'), 'tsv');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'algorithm_invalid'],
      [3, 'hash_length_invalid'],
      [4, 'hash_charset_invalid'],
      [5, 'entry_id_duplicate'],
      [6, 'entry_id_invalid'],
      [7, 'label_invalid'],
      [8, 'label_duplicate'],
      [9, 'field_count_invalid'],
    ]);
    expect(!r.ok && r.errors[3].message).toContain('line 1');
    expect('entries' in r).toBe(false);
  });

  it('rejects bad jsonl, csv quoting, headers, encoding and empty files', () => {
    const j = parseBankFile(`{"entryId":"a","algorithm":"md5","hash":"${MD5}","lables":["x"]}\nnot json\n[1]\n{"entryId":"b","algorithm":"md5","hash":"${MD5}","labels":"x"}`, 'jsonl');
    expect(!j.ok && j.errors.map((e) => [e.line, e.code])).toEqual([[1, 'field_unknown'], [2, 'json_invalid'], [3, 'json_invalid'], [4, 'label_invalid']]);
    const c = parseBankFile(`a,md5,"${MD5}\nb,md5,x"y`, 'csv');
    expect(!c.ok && c.errors.map((e) => [e.line, e.code])).toEqual([[1, 'csv_quoting_invalid'], [2, 'csv_quoting_invalid']]);
    const h = parseBankFile(`entry_id,hash,hash\na,${MD5},${MD5}`, 'csv');
    expect(!h.ok && h.errors[0]).toMatchObject({ line: 1, code: 'header_invalid' });
    const e = parseBankFile(new Uint8Array([0x61, 0xff, 0x0a]), 'tsv');
    expect(!e.ok && e.errors[0]).toMatchObject({ line: 0, code: 'encoding_invalid' });
    expect(parseBankFile('# nothing\n', 'tsv')).toMatchObject({ ok: false, errors: [{ code: 'file_empty' }] });
    expect(parseBankFile('', 'tsv', { allowEmpty: true }).ok).toBe(true);
  });
});

describe('list version and diff', () => {
  it('computes a sortable version from time and content digest', () => {
    const r = parseBankFile(`a\tmd5\t${MD5}`, 'tsv');
    expect(computeListVersion(r.contentSha256, Date.UTC(2026, 10, 28, 6, 30, 0, 123))).toBe(`20261128T063000Z-${r.contentSha256.slice(0, 16)}`);
  });

  it('diffs adds, changes, removals; keeps operator flags; a re-import publishes nothing', () => {
    const meta = { bank: 'eu', kind: 'block' as const, source: 'eu_centre', pdqThreshold: 31 };
    const entry = (entryId: string, hashHex: string, labels: string[] = []): BankFileEntry => ({ line: 1, entryId, algorithm: hashHex.length === 32 ? 'md5' : 'pdq', hashHex, labels });
    const current = [
      { entryId: 'keep', algorithm: 'pdq' as const, hashHex: P1.toUpperCase(), labels: [] },
      { entryId: 'relabel', algorithm: 'md5' as const, hashHex: MD5, labels: ['a'], disabled: true },
      { entryId: 'gone', algorithm: 'pdq' as const, hashHex: P2, labels: [] },
    ];
    const next = [entry('keep', P1), entry('relabel', MD5, ['b']), entry('new', P2)];
    const d = diffBank(current, next, { ...meta, listVersion: 'v2', nowMs: 5 }, meta);
    expect(d.adds.map((u) => u.entryId)).toEqual(['new']);
    expect(d.changes.map((u) => [u.entryId, u.labels, u.disabled, u.listVersion])).toEqual([['relabel', ['b'], true, 'v2']]);
    expect(d.removals).toEqual([{ deleted: true, bank: 'eu', entryId: 'gone', updatedAtMs: 5 }]);
    expect(d.unchanged).toBe(1);
    expect(d.updates.map((u) => u.entryId)).toEqual(['gone', 'relabel', 'new']);
    // Applying the diff to a BankSet holding the old state yields the new state.
    const set = new BankSet({ flood: false });
    for (const c of current) set.apply({ deleted: false, ...meta, ...c, disabled: c.disabled ?? false, listVersion: 'v1', updatedAtMs: 1 });
    set.applyAll(d.updates);
    expect([...set.entries('eu')].map((e) => [e.entryId, e.labels.join(), e.listVersion]).sort()).toEqual([['keep', '', 'v1'], ['new', '', 'v2'], ['relabel', 'b', 'v2']]);
    const again = diffBank(set.entries('eu'), next, { ...meta, listVersion: 'v3', nowMs: 6 }, meta);
    expect(again.updates).toHaveLength(0);
    expect(again.unchanged).toBe(3);
    // Bank settings changed: every kept entry is re-published with them.
    const moved = diffBank(set.entries('eu'), next, { ...meta, pdqThreshold: 20, listVersion: 'v4', nowMs: 7 }, meta);
    expect(moved.metadataChanged).toBe(true);
    expect(moved.changes.map((u) => [u.entryId, u.pdqThreshold]).sort()).toEqual([['keep', 20], ['new', 20], ['relabel', 20]]);
  });
});

describe('signed lists', () => {
  const keys = generateBankSigningKeyPair();
  const other = generateBankSigningKeyPair();
  const file = Buffer.from(`e1\tpdq\t${P1}\ne2\tmd5\t${MD5}\n`);
  const sig = signBankFile(file, keys.privateKeyPem);

  it('signs and verifies the exact bytes; detects tampering and the wrong key', () => {
    expect(verifyBankFileSignature(file, sig, keys.publicKeyPem)).toBe(true);
    expect(verifyBankFileSignature(file, Buffer.from(sig.trim(), 'base64'), keys.publicKeyPem)).toBe(true);
    const tampered = Buffer.from(file);
    tampered[3] ^= 1;
    expect(verifyBankFileSignature(tampered, sig, keys.publicKeyPem)).toBe(false);
    expect(verifyBankFileSignature(file, sig, other.publicKeyPem)).toBe(false);
    expect(verifyBankFileSignature(file, 'not base64!', keys.publicKeyPem)).toBe(false);
    expect(() => verifyBankFileSignature(file, sig, 'garbage')).toThrow(expect.objectContaining({ code: 'public_key_invalid' }));
  });

  it('enforces the bank policy: unsigned or tampered files are refused when signatures are required', () => {
    const policy = { requireSignature: true, publicKeyPem: keys.publicKeyPem };
    expect(checkBankFileSignature(file, sig, policy)).toBe('verified');
    expect(() => checkBankFileSignature(file, undefined, policy)).toThrow(expect.objectContaining({ code: 'signature_missing' }));
    expect(() => checkBankFileSignature(Buffer.concat([file, Buffer.from('x')]), sig, policy)).toThrow(expect.objectContaining({ code: 'signature_invalid' }));
    expect(checkBankFileSignature(file, undefined, { requireSignature: false })).toBe('unsigned');
    expect(() => checkBankFileSignature(file, sig, { requireSignature: false })).toThrow(expect.objectContaining({ code: 'signature_key_missing' }));
  });

  it('prepareBankImport: all-or-nothing, with signature check, version and diff', () => {
    const base = { format: 'tsv' as const, target: { bank: 'eu', kind: 'block' as const, source: 'eu_centre', pdqThreshold: 31 }, current: [], nowMs: Date.UTC(2026, 0, 1) };
    const policy = { requireSignature: true, publicKeyPem: keys.publicKeyPem };
    const ok = prepareBankImport({ ...base, content: file, signature: sig, policy });
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.signature).toBe('verified');
      expect(ok.listVersion).toMatch(/^20260101T000000Z-[0-9a-f]{16}$/);
      expect(ok.diff.adds.map((u: BankEntryUpsert) => [u.entryId, u.listVersion])).toEqual([['e1', ok.listVersion], ['e2', ok.listVersion]]);
    }
    expect(prepareBankImport({ ...base, content: file, policy })).toEqual({ ok: false, errors: [expect.objectContaining({ line: 0, code: 'signature_missing' })] });
    const bad = Buffer.from(`e1\tpdq\t${P1}\ne2\tmd5\tzz\n`);
    const r = prepareBankImport({ ...base, content: bad, signature: signBankFile(bad, keys.privateKeyPem), policy });
    expect(r).toEqual({ ok: false, errors: [expect.objectContaining({ line: 2, code: 'hash_length_invalid' })] });
  });
});
