import { chainRecord, type AuditEntry, type AuditRecord } from './audit';
import { auditRecordId, fromAuditEventRecord, toAuditEventRecord, verifyAuditEventRecords, type AuditEventRecord } from './audit-event';

const TYPES: AuditEntry['type'][] = ['match_received', 'case_opened', 'policy_outcome', 'case_claimed', 'review_decision', 'report_sent', 'api_request'];

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const prev = out[out.length - 1];
    const entry: AuditEntry = {
      atMs: 1_700_000_000_000 + i,
      type: TYPES[i % TYPES.length]!,
      actor: i % 7 === 5 ? { kind: 'platform', id: 'plat-1' } : { kind: i % 3 ? 'system' : 'reviewer', id: i % 3 ? 'reporter' : `rev:${i}` },
      data: { i, rule: `rule-${i % 3}`, nested: { ok: i % 2 === 0, list: [1, 'two', null] } },
      ...(i % 4 === 3 ? {} : { caseId: `case_${i % 5}` }),
    };
    out.push(chainRecord(entry, prev && { seq: prev.seq, hash: prev.hash }));
  }
  return out;
}

const CHAIN = 'reporter-eu1';
const records = chain(30);
const events = records.map((r) => toAuditEventRecord(r, CHAIN));
const head = { seq: records[29]!.seq, hash: records[29]!.hash };

describe('audit records as topic events', () => {
  it('round-trips every record exactly (including records without a case and actor ids with colons)', () => {
    expect(events.map((e) => fromAuditEventRecord(e))).toEqual(records);
    expect(events[0]).toMatchObject({ chainId: CHAIN, sequence: 0, recordId: auditRecordId(CHAIN, 0), actor: 'reviewer:rev:0', subjectId: 'case_0' });
    expect(events[3]!.subjectId).toBe('');
    expect(verifyAuditEventRecords(events, { expectedHead: head })).toEqual({ ok: true, count: 30, head });
  });

  const FIELDS: Array<[keyof AuditEventRecord, (e: AuditEventRecord) => AuditEventRecord]> = [
    ['chainId', (e) => ({ ...e, chainId: `${e.chainId}x` })],
    ['sequence', (e) => ({ ...e, sequence: e.sequence + 100 })],
    ['recordId', (e) => ({ ...e, recordId: `${e.recordId}x` })],
    ['kind', (e) => ({ ...e, kind: e.kind === 'case_opened' ? 'case_claimed' : 'case_opened' })],
    ['subjectId', (e) => ({ ...e, subjectId: `${e.subjectId}x` })],
    ['actor', (e) => ({ ...e, actor: e.actor.startsWith('admin') ? 'system:reporter' : `admin:${e.actor.split(':').slice(1).join(':')}` })],
    ['detailsJson', (e) => ({ ...e, detailsJson: e.detailsJson.replace('"rule":"rule-', '"rule":"rulE-') })],
    ['recordedAtMs', (e) => ({ ...e, recordedAtMs: e.recordedAtMs + 1 })],
    ['previousHash', (e) => ({ ...e, previousHash: e.previousHash.replace(/^./, (c) => (c === '0' ? '1' : '0')) })],
    ['hash', (e) => ({ ...e, hash: e.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) })],
  ];

  it('detects 100% of single-field alterations of every event, at that event', () => {
    let tried = 0;
    let detected = 0;
    for (const [field, alter] of FIELDS) {
      for (let i = 0; i < events.length; i++) {
        const tampered = events.map((e, j) => (j === i ? alter(e) : e));
        expect(tampered[i]![field]).not.toEqual(events[i]![field]);
        const v = verifyAuditEventRecords(tampered, { expectedHead: head, chainId: CHAIN });
        tried++;
        if (!v.ok) {
          detected++;
          expect({ field, i, index: v.index }).toEqual({ field, i, index: i });
        }
      }
    }
    expect(detected).toBe(tried);
    expect(tried).toBe(FIELDS.length * events.length);
  });

  it('detects every dropped event and every swap of neighbours', () => {
    for (let i = 0; i < events.length; i++) {
      const dropped = events.filter((_, j) => j !== i);
      expect(verifyAuditEventRecords(dropped, { expectedHead: head }).ok).toBe(false);
    }
    for (let i = 0; i + 1 < events.length; i++) {
      const swapped = [...events];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      const v = verifyAuditEventRecords(swapped, { expectedHead: head });
      expect(v).toMatchObject({ ok: false, index: i });
    }
    // A duplicated event (a record written twice) breaks the sequence too.
    const doubled = [...events.slice(0, 10), events[9]!, ...events.slice(10)];
    expect(verifyAuditEventRecords(doubled)).toMatchObject({ ok: false, index: 10, reason: 'sequence_gap' });
  });

  it('names malformed events and chain mismatches', () => {
    expect(verifyAuditEventRecords([{ nope: true }])).toMatchObject({ ok: false, index: 0, reason: 'malformed_record' });
    expect(verifyAuditEventRecords([{ ...events[0]!, detailsJson: '{' }])).toMatchObject({ ok: false, reason: 'malformed_record' });
    expect(verifyAuditEventRecords([{ ...events[0]!, actor: 'robot:x' }])).toMatchObject({ ok: false, reason: 'malformed_record' });
    expect(verifyAuditEventRecords(events, { chainId: 'other' })).toMatchObject({ ok: false, index: 0, reason: 'chain_mismatch' });
    expect(verifyAuditEventRecords([])).toEqual({ ok: true, count: 0 });
  });
});
