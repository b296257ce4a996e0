import { createMetricsRegistry } from '@safeguard/observability';
import type { IndicatorUpdated, MatchFound } from '@safeguard/schemas';
import { feedback, hashedEvent, indicator, PDQ_BRIDGE, PDQ_BRIDGE_SHARPENED, PDQ_C, pdqHash } from '../test/fixtures';
import { MatchHandler } from './handler';
import { IndicatorIndex } from './indicator-index';
import { bankEntryUpdateOf, indicatorUpdatedOf } from './indicator-mapping';
import { matchIdOf, prepareQueries } from './match-found';
import { createMatcherMetrics } from './metrics';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function setup(flood = { enabled: false, windowMs: 60_000, minCount: 3, ratio: 1, warmupMs: 0 }) {
  const metrics = createMatcherMetrics(createMetricsRegistry({ service: 'matcher' }));
  const index = new IndicatorIndex({ minPdqQuality: 50, flood, metrics, now: () => 10_000 });
  const published: MatchFound[] = [];
  const indicators: Array<[string, IndicatorUpdated]> = [];
  let failIndicator = false;
  const handler = new MatchHandler({
    index,
    metrics,
    logger: silent,
    now: () => 10_000,
    publishMatch: async (e) => void published.push(e),
    publishIndicator: async (key, u) => {
      if (failIndicator) throw new Error('broker down');
      indicators.push([key, u]);
    },
  });
  let offset = 0;
  const put = (u: IndicatorUpdated | null, key?: string) =>
    index.apply({ key: key ?? `${u!.bank.name}/${u!.entryId}`, value: u, partition: 0, offset: String(offset++), timestampMs: 9_000 });
  return { metrics, index, handler, published, indicators, put, setFail: (v: boolean) => (failIndicator = v) };
}

describe('MatchHandler', () => {
  it('publishes nothing when only allow-list entries match (decision allow)', async () => {
    const t = setup();
    t.put(indicator({ entryId: 'ok', bankName: 'benign', kind: 'ALLOW' }));
    expect(await t.handler.handleHashed(hashedEvent('c', [pdqHash(PDQ_BRIDGE)]))).toBeNull();
    expect(t.handler.matchHashes([pdqHash(PDQ_BRIDGE)], 'check').result.decision).toBe('allow');
    expect(t.published).toEqual([]);
  });

  it('reports one detail per entry (its closest hash), with video frame timestamps', async () => {
    const t = setup();
    t.put(indicator({ entryId: 'e1', kind: 'BLOCK' }));
    const frames = [PDQ_BRIDGE_SHARPENED, PDQ_BRIDGE, PDQ_BRIDGE].map((value, i) => ({ algorithm: 'vpdq', value, quality: 80, variant: null, frameTimestampMs: i * 1000 }));
    const out = await t.handler.handleHashed(hashedEvent('video', [...frames, { algorithm: 'tmk', value: 'ab', quality: null, variant: null, frameTimestampMs: null }]));
    expect(out!.matches).toEqual([expect.objectContaining({ entryId: 'e1', algorithm: 'vpdq', distance: 0, frameTimestampMs: 1000, queryQuality: 80 })]);
    expect(await t.metrics.skippedQueries.get()).toMatchObject({ values: [expect.objectContaining({ labels: { reason: 'algorithm_unsupported' }, value: 1 })] });
  });

  it('keeps a quarantine whose publication failed and publishes it before the retried event goes out', async () => {
    const t = setup({ enabled: true, windowMs: 60_000, minCount: 3, ratio: 1, warmupMs: 0 });
    t.put(indicator({ entryId: 'hot', kind: 'BLOCK' }));
    const event = (i: number) => hashedEvent(`c${i}`, [pdqHash(PDQ_BRIDGE)]);
    await t.handler.handleHashed(event(1));
    await t.handler.handleHashed(event(2));
    t.setFail(true);
    await expect(t.handler.handleHashed(event(3))).rejects.toMatchObject({ code: 'indicator_publish_failed', retriable: true });
    expect(t.handler.pendingUpdates).toBe(1);
    t.setFail(false);
    // The retry matches nothing (the entry is quarantined locally) but still publishes the quarantine.
    expect(await t.handler.handleHashed(event(3))).toBeNull();
    expect(t.indicators.map(([k, u]) => [k, u.status, u.reason])).toEqual([['plat/hot', 'QUARANTINED', 'flood_quarantine']]);
    expect(t.handler.pendingUpdates).toBe(0);
    expect(t.published.map((p) => p.contentId)).toEqual(['c1', 'c2']);
  });

  it('disables from feedback only when the entry exists, is active and still has the voted hash', async () => {
    const t = setup();
    t.put(indicator({ entryId: 'e1' }));
    expect(await t.handler.handleFeedback(feedback({ entryId: 'missing' }))).toBe('entry_not_found');
    expect(await t.handler.handleFeedback(feedback({ entryId: 'e1', hashValue: PDQ_C }))).toBe('entry_changed');
    expect(await t.handler.handleFeedback(feedback({ entryId: 'e1', hashValue: '' }))).toBe('disabled');
    expect(t.indicators[0]![1]).toMatchObject({ status: 'DISABLED', reason: 'false_positive', entryId: 'e1' });
    // Not applied locally: the replica applies it when it reads it back from the topic.
    expect(t.index.banks.getEntry('plat', 'e1')?.disabled).toBe(false);
    t.put(t.indicators[0]![1]);
    expect(await t.handler.handleFeedback(feedback({ entryId: 'e1' }))).toBe('already_disabled');
    expect(await t.handler.handleFeedback(feedback({ entryId: 'e1', action: 'something_new' }))).toBe('recorded');
  });
});

describe('indicator mapping', () => {
  it('round-trips an upsert and maps tombstones to deletions', () => {
    const u = bankEntryUpdateOf('plat/e1', indicator({ entryId: 'e1', status: 'QUARANTINED', kind: 'BLOCK' }));
    expect(u).toMatchObject({ deleted: false, bank: 'plat', kind: 'block', quarantined: true, disabled: false, hashHex: PDQ_BRIDGE });
    expect(indicatorUpdatedOf(u as never, 'flood_quarantine', 'matcher')).toMatchObject({ status: 'QUARANTINED', bank: { kind: 'BLOCK' }, reason: 'flood_quarantine' });
    expect(bankEntryUpdateOf('plat/e1', null)).toEqual({ deleted: true, bank: 'plat', entryId: 'e1' });
  });

  it('refuses records whose key is missing, malformed or names another entry', () => {
    expect(() => bankEntryUpdateOf(null, indicator({ entryId: 'e1' }))).toThrow(expect.objectContaining({ code: 'entry_key_missing' }));
    expect(() => bankEntryUpdateOf('nokey', null)).toThrow(expect.objectContaining({ code: 'entry_key_invalid' }));
    expect(() => bankEntryUpdateOf('plat/e2', indicator({ entryId: 'e1' }))).toThrow(expect.objectContaining({ code: 'entry_key_mismatch' }));
  });

  it('counts invalid records and reports lag per partition', () => {
    const t = setup();
    expect(() => t.put(indicator({ entryId: 'e1', algorithm: 'tmk' }))).toThrow(expect.objectContaining({ code: 'algorithm_invalid' }));
    t.put(indicator({ entryId: 'e2' }));
    expect(t.index.lag([{ partition: 0, low: '0', high: '5' }, { partition: 1, low: '3', high: '4' }])).toBe(3 + 1);
  });
});

describe('match ids and queries', () => {
  it('derives the match id from the content, the event and the set of entries', () => {
    const d = (entryId: string) => ({ bank: { name: 'b' }, entryId }) as never;
    const a = matchIdOf('p', 'c', 'e', [d('x'), d('y')]);
    expect(matchIdOf('p', 'c', 'e', [d('y'), d('x')])).toBe(a);
    expect(matchIdOf('p', 'c', 'e2', [d('x'), d('y')])).not.toBe(a);
    expect(matchIdOf('p', 'c', 'e', [d('x')])).not.toBe(a);
  });

  it('looks up pdq and vpdq as PDQ and skips unknown algorithms', () => {
    const q = prepareQueries([pdqHash(PDQ_BRIDGE, 70), { algorithm: 'vpdq', value: PDQ_C, quality: null, variant: null, frameTimestampMs: 5 }, { algorithm: 'x', value: '', quality: null, variant: null, frameTimestampMs: null }]);
    expect(q.queries).toEqual([{ algorithm: 'pdq', value: PDQ_BRIDGE, quality: 70 }, { algorithm: 'pdq', value: PDQ_C }]);
    expect(q.unsupported).toBe(1);
  });
});
