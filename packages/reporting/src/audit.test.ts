import { signingKey } from './__fixtures__/fixtures';
import {
  AuditLog,
  auditRecordHash,
  chainRecord,
  GENESIS_HASH,
  MemoryAuditSink,
  parseAuditJsonLines,
  signAuditHead,
  verifyAuditChain,
  verifySignedAuditHead,
  type AuditEntry,
  type AuditRecord,
} from './audit';

const TYPES: AuditEntry['type'][] = ['match_received', 'case_opened', 'policy_outcome', 'case_claimed', 'review_decision', 'report_sent', 'entry_disabled', 'data_purged', 'complaint_filed'];

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const prev = out[out.length - 1];
    out.push(
      chainRecord(
        { atMs: 1_000 + i, type: TYPES[i % TYPES.length]!, actor: { kind: i % 3 ? 'system' : 'reviewer', id: `r${i % 4}` }, caseId: `case_${i % 5}`, data: { i, rule: `rule-${i % 3}`, nested: { ok: i % 2 === 0 } } },
        prev && { seq: prev.seq, hash: prev.hash },
      ),
    );
  }
  return out;
}

describe('audit chain', () => {
  const records = chain(40);
  const head = { seq: records[39]!.seq, hash: records[39]!.hash };

  it('links records by sequence and previous hash', () => {
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    expect(records[0]!.seq).toBe(0);
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.seq).toBe(i);
      expect(records[i]!.prevHash).toBe(records[i - 1]!.hash);
      expect(records[i]!.hash).toBe(auditRecordHash(records[i]!));
    }
    expect(verifyAuditChain(records)).toEqual({ ok: true, count: 40, head });
    expect(verifyAuditChain(records, { expectedHead: head })).toMatchObject({ ok: true });
  });

  it('detects 100% of single-record alterations, with the position', () => {
    let detected = 0;
    for (let i = 0; i < records.length; i++) {
      const tampered = structuredClone(records);
      (tampered[i]!.data as { i: number }).i += 1000;
      const v = verifyAuditChain(tampered);
      expect(v).toMatchObject({ ok: false, index: i, reason: 'hash_mismatch' });
      if (!v.ok) detected++;
    }
    expect(detected).toBe(records.length);
  });

  it('detects alterations even when the attacker re-hashes the altered record (next link breaks; the last needs the head)', () => {
    for (let i = 0; i < records.length; i++) {
      const tampered = structuredClone(records);
      tampered[i]!.actor.id = 'someone-else';
      tampered[i]!.hash = auditRecordHash(tampered[i]!);
      const v = verifyAuditChain(tampered, { expectedHead: head });
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.index).toBe(i === records.length - 1 ? records.length : i + 1);
    }
  });

  it('detects 100% of dropped records (dropping the newest needs the signed head)', () => {
    for (let i = 0; i < records.length; i++) {
      const tampered = records.filter((_, j) => j !== i);
      const v = verifyAuditChain(tampered, { expectedHead: head });
      expect(v.ok).toBe(false);
      if (!v.ok) {
        const expected = i === 0 ? { index: 0, reason: 'bad_genesis' } : i === records.length - 1 ? { reason: 'head_mismatch' } : { index: i, reason: 'sequence_gap' };
        expect(v).toMatchObject(expected);
      }
    }
    // Without a head every drop but the newest is still detected.
    for (let i = 0; i < records.length - 1; i++) expect(verifyAuditChain(records.filter((_, j) => j !== i)).ok).toBe(false);
  });

  it('detects 100% of swapped adjacent pairs', () => {
    for (let i = 0; i + 1 < records.length; i++) {
      const tampered = [...records];
      [tampered[i], tampered[i + 1]] = [tampered[i + 1]!, tampered[i]!];
      const v = verifyAuditChain(tampered);
      expect(v).toMatchObject({ ok: false, index: i });
    }
  });

  it('detects inserted records and malformed lines', () => {
    const forged = chainRecord({ atMs: 1, type: 'report_sent', actor: { kind: 'system', id: 'x' }, data: {} }, { seq: records[9]!.seq, hash: records[9]!.hash });
    const inserted = [...records.slice(0, 10), forged, ...records.slice(10)];
    expect(verifyAuditChain(inserted)).toMatchObject({ ok: false, index: 11, reason: 'sequence_gap' });
    expect(verifyAuditChain([...records.slice(0, 3), { nope: true }])).toMatchObject({ ok: false, index: 3, reason: 'malformed_record' });
  });

  it('verifies a segment after a trusted record', () => {
    expect(verifyAuditChain(records.slice(20), { after: { seq: records[19]!.seq, hash: records[19]!.hash }, expectedHead: head })).toMatchObject({ ok: true, count: 20 });
  });

  it('signs and verifies the chain head', () => {
    const key = signingKey();
    const signed = signAuditHead(head, key, 5);
    expect(verifySignedAuditHead(signed, key.publicKey)).toEqual(head);
    expect(() => verifySignedAuditHead({ ...signed, seq: signed.seq - 1 }, key.publicKey)).toThrow(/does not verify/);
    expect(() => verifySignedAuditHead(signed, signingKey().publicKey)).toThrow(/does not verify/);
  });

  it('AuditLog appends chained records in order, also under concurrent calls', async () => {
    const sink = new MemoryAuditSink();
    const log = new AuditLog(sink);
    await Promise.all(Array.from({ length: 25 }, (_, i) => log.record({ atMs: i, type: 'match_received', actor: { kind: 'system', id: 's' }, data: { i } })));
    const stored = await sink.list();
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(verifyAuditChain(stored)).toMatchObject({ ok: true, count: 25 });
  });

  it('two AuditLogs over one sink (engine and delivery runner) still form one chain', async () => {
    const sink = new MemoryAuditSink();
    const a = new AuditLog(sink);
    const b = new AuditLog(sink);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).record({ atMs: i, type: 'report_sent', actor: { kind: 'system', id: 's' }, data: { i } })));
    const stored = await sink.list();
    expect(stored).toHaveLength(20);
    expect(verifyAuditChain(stored)).toMatchObject({ ok: true, count: 20 });
  });

  it('parses JSON lines with line numbers and names a bad line', () => {
    const text = `${JSON.stringify(records[0])}\n\n${JSON.stringify(records[1])}\n`;
    expect(parseAuditJsonLines(text).lineNumbers).toEqual([1, 3]);
    expect(() => parseAuditJsonLines(`${JSON.stringify(records[0])}\n{oops\n`)).toThrow(/line 2/);
  });
});
