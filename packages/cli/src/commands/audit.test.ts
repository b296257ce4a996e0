import { createTransport } from '@safeguard/kafka';
import { chainRecord, toAuditEventRecord, type AuditEventRecord, type AuditRecord } from '@safeguard/reporting';
import { renameTopic, topics } from '@safeguard/schemas';
import { verifyAuditTopic } from './audit';

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const prev = out[out.length - 1];
    out.push(chainRecord({ atMs: 1_000 + i, type: 'review_decision', actor: { kind: 'reviewer', id: 'r1' }, caseId: `case_${i % 3}`, data: { i } }, prev && { seq: prev.seq, hash: prev.hash }));
  }
  return out;
}

describe('verifyAuditTopic (in-process transport)', () => {
  const records = chain(8);
  const events = records.map((r) => toAuditEventRecord(r, 'chain-1'));

  async function topicWith(name: string, values: AuditEventRecord[], partitions = 1) {
    const transport = createTransport({ kind: 'in-process' });
    await transport.admin().ensureTopics([{ topic: name, partitions }]);
    await transport.producer().send(renameTopic(topics.auditRecorded, name), values.map((value) => ({ value, partition: 0 })));
    return transport;
  }

  it('accepts the intact chain, with the expected head too', async () => {
    const transport = await topicWith('t.audit', events);
    const head = { seq: 7, hash: records[7]!.hash };
    expect(await verifyAuditTopic({ transport, topic: 't.audit', expectedHead: head })).toEqual({ ok: true, count: 8, head, topic: 't.audit' });
    await transport.close();
  });

  it('names the offset of an altered, dropped or reordered record', async () => {
    const altered = events.map((e, i) => (i === 5 ? { ...e, detailsJson: '{"i":50}' } : e));
    let transport = await topicWith('t.altered', altered);
    expect(await verifyAuditTopic({ transport, topic: 't.altered' })).toMatchObject({ ok: false, offset: '5', seq: 5, reason: 'hash_mismatch' });
    await transport.close();
    transport = await topicWith('t.dropped', events.filter((_, i) => i !== 2));
    expect(await verifyAuditTopic({ transport, topic: 't.dropped' })).toMatchObject({ ok: false, offset: '2', reason: 'sequence_gap' });
    await transport.close();
    const swapped = [...events];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    transport = await topicWith('t.swapped', swapped);
    expect(await verifyAuditTopic({ transport, topic: 't.swapped' })).toMatchObject({ ok: false, offset: '3', reason: 'sequence_gap' });
    await transport.close();
    transport = await topicWith('t.last', events.slice(0, 7));
    expect(await verifyAuditTopic({ transport, topic: 't.last', expectedHead: { seq: 7, hash: records[7]!.hash } })).toMatchObject({ ok: false, index: 7, reason: 'head_mismatch' });
    // A head signed earlier is found inside a longer chain; a wrong one is not.
    expect(await verifyAuditTopic({ transport, topic: 't.last', expectedHead: { seq: 4, hash: records[4]!.hash } })).toMatchObject({ ok: true, count: 7 });
    expect(await verifyAuditTopic({ transport, topic: 't.last', expectedHead: { seq: 4, hash: records[3]!.hash } })).toMatchObject({ ok: false, offset: '4', reason: 'head_mismatch' });
    expect(await verifyAuditTopic({ transport, topic: 't.last', chainId: 'another' })).toMatchObject({ ok: false, offset: '0', reason: 'chain_mismatch' });
    await transport.close();
  });

  it('refuses a topic with more than one partition', async () => {
    const transport = await topicWith('t.wide', events, 3);
    expect(await verifyAuditTopic({ transport, topic: 't.wide' })).toMatchObject({ ok: false, reason: 'malformed_record', message: expect.stringContaining('one partition') });
    await transport.close();
  });
});
