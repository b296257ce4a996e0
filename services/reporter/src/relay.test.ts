import { generateKeyPairSync } from 'node:crypto';
import { fromAuditEventRecord, keyIdOf, MemoryReportingStore, parsePolicyConfig, parseProviderProfile, ReportingEngine, verifyAuditEventRecords } from '@safeguard/reporting';
import type { AuditRecord as AuditEvent, IndicatorFeedback, ReportEmitted, ReviewDecision } from '@safeguard/schemas';
import { detail, pdqMatch, POLICY, PROVIDER } from '../test/helpers';
import { matchEventsOf } from './mapping';
import { AuditRelay, type RelayObserver, type RelayPublisher } from './relay';

/** A publisher over arrays, with one-shot failures and a log of what went where, in order. */
class FakeTopics implements RelayPublisher {
  audited: AuditEvent[] = [];
  decided: ReviewDecision[] = [];
  fed: IndicatorFeedback[] = [];
  reported: ReportEmitted[] = [];
  log: string[] = [];
  scans = 0;
  /** Fail the next audit send after writing this many of its records (a send whose outcome is unknown). */
  failAuditAfter: number | undefined;
  failDecisions = false;

  async decisions(events: ReviewDecision[]): Promise<void> {
    if (this.failDecisions) {
      this.failDecisions = false;
      throw new Error('broker down');
    }
    this.decided.push(...events);
    this.log.push(`decisions:${events.length}`);
  }
  async feedback(events: IndicatorFeedback[]): Promise<void> {
    this.fed.push(...events);
    this.log.push(`feedback:${events.length}`);
  }
  async reports(events: ReportEmitted[]): Promise<void> {
    this.reported.push(...events);
    this.log.push(`reports:${events.length}`);
  }
  async audit(events: AuditEvent[]): Promise<void> {
    if (this.failAuditAfter !== undefined) {
      this.audited.push(...events.slice(0, this.failAuditAfter));
      this.failAuditAfter = undefined;
      throw new Error('timed out (outcome unknown)');
    }
    this.audited.push(...events);
    this.log.push(`audit:${events.length}`);
  }
  async scanAudit(visit: (e: AuditEvent) => void): Promise<void> {
    this.scans++;
    this.audited.forEach(visit);
  }
}

function setup() {
  const store = new MemoryReportingStore();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const engine = new ReportingEngine({ store, policy: parsePolicyConfig(POLICY), provider: parseProviderProfile(PROVIDER), signingKey: { privateKey, publicKey, keyId: keyIdOf(publicKey) }, clock: Date.now });
  const topics = new FakeTopics();
  const relay = new AuditRelay({ store, publisher: topics, chainId: 'chain-t', batchSize: 4 });
  return { store, engine, topics, relay };
}

async function reviewedCase(engine: ReportingEngine, outcome: 'confirm' | 'false_positive' | 'propose_allow', m = pdqMatch()): Promise<string> {
  const r = await engine.ingestMatches(matchEventsOf(m, new Set()));
  const actor = { id: 'adm-1', role: 'admin' as const };
  await engine.review(r.caseId, { type: 'claim', actor });
  await engine.review(
    r.caseId,
    outcome === 'confirm' ? { type: 'confirm', actor } : { type: 'false_positive', actor, reasonCode: 'benign_collision', action: outcome === 'propose_allow' ? 'propose_allow' : 'disable_entry' },
  );
  return r.caseId;
}

describe('AuditRelay', () => {
  it('publishes the chain in order, each batch after the events it stands for', async () => {
    const { engine, store, topics, relay } = setup();
    await reviewedCase(engine, 'false_positive');
    await relay.drain();
    const chain = await store.audit.list();
    expect(topics.audited.map((e) => fromAuditEventRecord(e))).toEqual(chain);
    expect(verifyAuditEventRecords(topics.audited, { chainId: 'chain-t' })).toMatchObject({ ok: true, count: chain.length });
    expect(topics.decided).toHaveLength(1);
    expect(topics.fed).toEqual([expect.objectContaining({ vote: 'DOWN', action: 'disable_entry' })]);
    // The batch holding the decision published the decision and feedback before its audit records.
    const i = topics.log.findIndex((l) => l.startsWith('decisions'));
    expect(topics.log.slice(i, i + 3)).toEqual(['decisions:1', 'feedback:1', expect.stringMatching(/^audit:/)]);
    // Nothing new: nothing more is sent.
    const sent = topics.log.length;
    await relay.drain();
    expect(topics.log.length).toBe(sent);
  });

  it('after a send with an unknown outcome, re-reads the topic and publishes each record exactly once', async () => {
    const { engine, store, topics, relay } = setup();
    await reviewedCase(engine, 'confirm');
    topics.failAuditAfter = 2; // two records of the first batch landed, then the answer was lost
    await expect(relay.drain()).rejects.toThrow('timed out');
    expect(relay.synced).toBe(false);
    await relay.drain();
    const chain = await store.audit.list();
    expect(topics.audited.map((e) => e.sequence)).toEqual(chain.map((r) => r.seq));
    expect(topics.scans).toBe(2);
  });

  it('re-publishes derived events (not audit records) when it failed between them', async () => {
    const { engine, topics, relay } = setup();
    await reviewedCase(engine, 'confirm');
    topics.failDecisions = true;
    await expect(relay.drain()).rejects.toThrow('broker down');
    await relay.drain();
    expect(topics.decided).toHaveLength(1);
    expect(new Set(topics.audited.map((e) => e.sequence)).size).toBe(topics.audited.length);
    // A fresh relay (restart) finds the topic complete and sends nothing.
    const { store } = { store: (relay as unknown as { opts: { store: MemoryReportingStore } }).opts.store };
    const again = new AuditRelay({ store, publisher: topics, chainId: 'chain-t' });
    const before = topics.log.length;
    await again.drain();
    expect(topics.log.length).toBe(before);
  });

  it('leaves plain votes on an entry whose hash is unknown off the feedback topic, publishes actions without it, and counts both', async () => {
    const { engine, store, topics } = setup();
    const seen: Array<Parameters<NonNullable<RelayObserver['feedback']>>[0]> = [];
    const relay = new AuditRelay({ store, publisher: topics, chainId: 'chain-t', observer: { feedback: (f) => seen.push(f) } });
    // A near match from a matcher that did not send the entry's hash.
    const unknownEntry = () => pdqMatch({ matches: [detail({ bank: { name: 'platform-review', kind: 'REVIEW', source: 'platform', listVersion: '2026-01' }, entryId: 'p-9', algorithm: 'pdq', distance: 12, threshold: 31, queryHash: pdqMatch().matches[0]!.queryHash, queryQuality: 100, entryHash: null })] });
    await reviewedCase(engine, 'confirm', unknownEntry());
    await reviewedCase(engine, 'false_positive', unknownEntry());
    await reviewedCase(engine, 'propose_allow', unknownEntry());
    await reviewedCase(engine, 'confirm');
    await relay.drain();
    expect(await store.listFeedback()).toHaveLength(4);
    expect(topics.fed.map((f) => [f.vote, f.action, f.entryId, f.hashValue === '' ? 'no-entry-hash' : 'entry-hash', f.queryHash === null ? null : 'query-hash'])).toEqual([
      ['DOWN', 'disable_entry', 'p-9', 'no-entry-hash', null],
      ['DOWN', 'propose_allow_list', 'p-9', 'no-entry-hash', 'query-hash'],
      ['UP', null, 'p-7', 'entry-hash', null],
    ]);
    expect(seen).toEqual([
      { action: 'none', outcome: 'skipped_entry_hash_unknown' },
      { action: 'disable_entry', outcome: 'published_without_entry_hash' },
      { action: 'propose_allow_list', outcome: 'published_without_entry_hash' },
      { action: 'none', outcome: 'published' },
    ]);
    // The skipped vote is still audited (and so on the audit topic).
    expect(topics.audited.filter((e) => e.kind === 'feedback_recorded')).toHaveLength(2);
  });

  it('refuses to publish when the topic disagrees with the store', async () => {
    const { engine, topics, relay, store } = setup();
    await reviewedCase(engine, 'confirm');
    await relay.drain();
    const other = new AuditRelay({ store, publisher: topics, chainId: 'another-chain' });
    await expect(other.drain()).rejects.toMatchObject({ code: 'audit_chain_diverged' });
    const altered = new FakeTopics();
    altered.audited = topics.audited.map((e, i) => (i === topics.audited.length - 1 ? { ...e, hash: '0'.repeat(64) } : e));
    await expect(new AuditRelay({ store, publisher: altered, chainId: 'chain-t' }).drain()).rejects.toMatchObject({ code: 'audit_chain_diverged' });
    const ahead = new FakeTopics();
    ahead.audited = topics.audited;
    await expect(new AuditRelay({ store: new MemoryReportingStore(), publisher: ahead, chainId: 'chain-t' }).drain()).rejects.toMatchObject({ code: 'audit_chain_diverged' });
  });
});
