import { InvalidInputError } from '@safeguard/domain';
import { formatPdqWords } from '@safeguard/domain/matching';
import { flipBits, mulberry32, randomHash } from '@safeguard/domain/testing';
import { createMetricsRegistry } from '@safeguard/observability';
import type { IndicatorUpdated } from '@safeguard/schemas';
import { indicator } from '../test/fixtures';
import { IndicatorIndex, type IndicatorRecord } from './indicator-index';
import { createMatcherMetrics, type MatcherMetrics } from './metrics';

const NO_FLOOD = { enabled: false, windowMs: 60_000, minCount: 3, ratio: 1, warmupMs: 0 };

/** Two banks with different thresholds (the threshold is the bank's, so it stays fixed per bank). */
const BANKS = [
  { name: 'alpha', kind: 'REVIEW' as const, threshold: 31 },
  { name: 'beta', kind: 'BLOCK' as const, threshold: 12 },
];

/** What the brute-force model keeps of an entry. */
interface ModelEntry {
  bank: string;
  entryId: string;
  hex: string;
  threshold: number;
  disabled: boolean;
}

/** Hamming distance of two 64-digit hex strings, digit by digit (independent of the library's word code). */
function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = parseInt(a[i]!, 16) ^ parseInt(b[i]!, 16);
    while (x) {
      d += x & 1;
      x >>= 1;
    }
  }
  return d;
}

async function counterValue(metrics: MatcherMetrics, outcome: string): Promise<number> {
  const { values } = await metrics.indexUpdates.get();
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

async function gaugeValue(gauge: MatcherMetrics['indexReady']): Promise<number> {
  return (await gauge.get()).values[0]?.value ?? NaN;
}

function setup() {
  const metrics = createMatcherMetrics(createMetricsRegistry({ service: 'matcher', defaultMetrics: false }));
  let clock = 50_000;
  const index = new IndicatorIndex({ minPdqQuality: 50, flood: NO_FLOOD, metrics, now: () => clock });
  const model = new Map<string, ModelEntry>();
  const offsets = new Map<number, number>();
  const outcomes = new Map<string, number>();
  const rand = mulberry32(20261128);
  let updatedAtMs = 1_000;

  /** Applies a record on `partition` at its next offset and mirrors it in the model. */
  const apply = (key: string, value: IndicatorUpdated | null, partition = 0): string => {
    const offset = offsets.get(partition) ?? 0;
    offsets.set(partition, offset + 1);
    const record: IndicatorRecord = { key, value, partition, offset: String(offset), timestampMs: clock - 250 };
    const outcome = index.apply(record);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (value === null) model.delete(key);
    else {
      const bank = BANKS.find((b) => b.name === value.bank.name)!;
      model.set(key, { bank: bank.name, entryId: value.entryId, hex: value.hashValue, threshold: bank.threshold, disabled: value.status === 'DISABLED' });
    }
    return outcome;
  };

  const upsert = (bankIndex: number, entryId: string, hex: string, status: IndicatorUpdated['status'] = 'ACTIVE', partition = 0): string => {
    const bank = BANKS[bankIndex]!;
    updatedAtMs += 10;
    const value = indicator({ entryId, bankName: bank.name, kind: bank.kind, pdqThreshold: bank.threshold, hashValue: hex, status, updatedAtMs });
    return apply(`${bank.name}/${entryId}`, value, partition);
  };

  /** Random operations: upserts (new entries and re-hashes), disables, re-enables and tombstones. */
  const churn = (centers: Uint32Array[], steps: number): void => {
    for (let i = 0; i < steps; i++) {
      const keys = [...model.keys()];
      const op = rand() % 10;
      const partition = rand() % 3;
      if (keys.length === 0 || op < 4) {
        const bankIndex = rand() % BANKS.length;
        const center = centers[rand() % centers.length]!;
        upsert(bankIndex, `e${rand() % 1_000_000}`, formatPdqWords(flipBits(center, rand() % 40, rand)), 'ACTIVE', partition);
        continue;
      }
      const key = keys[rand() % keys.length]!;
      const e = model.get(key)!;
      const bankIndex = BANKS.findIndex((b) => b.name === e.bank);
      if (op < 6) upsert(bankIndex, e.entryId, formatPdqWords(flipBits(centers[rand() % centers.length]!, rand() % 40, rand)), e.disabled ? 'DISABLED' : 'ACTIVE', partition);
      else if (op < 8) upsert(bankIndex, e.entryId, e.hex, e.disabled ? 'ACTIVE' : 'DISABLED', partition);
      else apply(key, null, partition);
    }
  };

  /** Expected matches of a PDQ query: active entries within their bank's threshold. */
  const bruteForce = (hex: string): string[] =>
    [...model.values()]
      .filter((e) => !e.disabled)
      .map((e) => ({ e, d: hamming(hex, e.hex) }))
      .filter(({ e, d }) => d <= e.threshold)
      .map(({ e, d }) => `${e.bank}/${e.entryId}@${d}`)
      .sort();

  const search = (hex: string): string[] => {
    const result = index.banks.match([{ algorithm: 'pdq', value: hex, quality: 100 }]);
    expect(result.suppressed).toEqual([]);
    return result.matches.map((m) => `${m.bank}/${m.entryId}@${m.distance}`).sort();
  };

  /** Queries near every center and at every entry; returns how many matches were compared. */
  const checkAgainstModel = (centers: Uint32Array[]): number => {
    const queries = [
      ...centers.flatMap((c) => [0, 5, 12, 13, 20, 31, 32, 45].map((bits) => formatPdqWords(flipBits(c, bits, rand)))),
      ...[...model.values()].map((e) => e.hex),
    ];
    let compared = 0;
    for (const q of queries) {
      const expected = bruteForce(q);
      expect(search(q)).toEqual(expected);
      compared += expected.length;
    }
    return compared;
  };

  return {
    metrics,
    index,
    model,
    outcomes,
    rand,
    upsert,
    apply,
    churn,
    checkAgainstModel,
    search,
    bruteForce,
    setClock: (ms: number) => (clock = ms),
  };
}

describe('IndicatorIndex', () => {
  it('agrees with a brute-force model while loading and after, through upserts, disables and tombstones', async () => {
    const t = setup();
    const centers = Array.from({ length: 4 }, () => randomHash(t.rand));

    t.churn(centers, 300);
    expect(t.index.isLoaded).toBe(false);
    expect(t.index.banks.isBulkLoading).toBe(true);
    const whileLoading = t.checkAgainstModel(centers);
    // The model must hold enough to make the comparison mean something.
    expect([...t.model.values()].filter((e) => e.disabled).length).toBeGreaterThan(0);
    expect([...t.model.values()].filter((e) => !e.disabled).length).toBeGreaterThan(20);
    expect(whileLoading).toBeGreaterThan(100);

    t.index.markLoaded(1.5);
    expect(t.index.banks.isBulkLoading).toBe(false);
    expect(t.checkAgainstModel(centers)).toBeGreaterThan(100);

    t.churn(centers, 300);
    expect(t.checkAgainstModel(centers)).toBeGreaterThan(100);

    // Every applied record counted under its outcome.
    expect(t.outcomes.get('deleted')).toBeGreaterThan(0);
    expect(t.outcomes.get('updated')).toBeGreaterThan(0);
    for (const [outcome, n] of t.outcomes) expect(await counterValue(t.metrics, outcome)).toBe(n);
    // Apply latency is observed only for records applied after the initial load.
    const latency = (await t.metrics.updateApplySeconds.get()).values.find((v) => v.metricName?.endsWith('_count'));
    expect(latency?.value).toBe(300);
  });

  it('drops a disabled entry from searches and brings it back when re-enabled; a tombstone removes it', () => {
    const t = setup();
    const hash = randomHash(t.rand);
    const hex = formatPdqWords(hash);
    const near = formatPdqWords(flipBits(hash, 10, t.rand));
    expect(t.upsert(0, 'a', hex)).toBe('added');
    expect(t.upsert(1, 'b', near)).toBe('added');
    t.index.markLoaded(0);
    expect(t.search(hex)).toEqual(['alpha/a@0', 'beta/b@10']);

    expect(t.upsert(0, 'a', hex, 'DISABLED')).toBe('updated');
    expect(t.search(hex)).toEqual(['beta/b@10']);
    expect(t.upsert(0, 'a', hex, 'ACTIVE')).toBe('updated');
    expect(t.search(hex)).toEqual(['alpha/a@0', 'beta/b@10']);
    expect(t.apply('beta/b', null)).toBe('deleted');
    expect(t.search(hex)).toEqual(['alpha/a@0']);
    expect(t.apply('beta/b', null)).toBe('not_found');
    expect(t.search(near)).toEqual(t.bruteForce(near));
  });

  it('flips isLoaded and the index_ready gauge at markLoaded, and records the load time', async () => {
    const t = setup();
    expect(t.index.isLoaded).toBe(false);
    expect(await gaugeValue(t.metrics.indexReady)).toBe(0);
    t.upsert(0, 'a', formatPdqWords(randomHash(t.rand)));
    expect(t.index.isLoaded).toBe(false);
    expect(await gaugeValue(t.metrics.indexReady)).toBe(0);

    t.index.markLoaded(2.5);
    expect(t.index.isLoaded).toBe(true);
    expect(await gaugeValue(t.metrics.indexReady)).toBe(1);
    expect(await gaugeValue(t.metrics.indexLoadSeconds)).toBe(2.5);
  });

  it('computes lag from the next offset per partition, a partition never read counting from its low watermark', () => {
    const t = setup();
    const hex = formatPdqWords(randomHash(t.rand));
    // Partition 0: offsets 0..4 applied (next 5); partition 1: offsets 0..1 (next 2); partition 2: none.
    for (let i = 0; i < 5; i++) t.upsert(0, `p0-${i}`, hex, 'ACTIVE', 0);
    for (let i = 0; i < 2; i++) t.upsert(0, `p1-${i}`, hex, 'ACTIVE', 1);
    expect(
      t.index.lag([
        { partition: 0, low: '0', high: '5' },
        { partition: 1, low: '0', high: '9' },
        { partition: 2, low: '3', high: '10' },
      ]),
    ).toBe(0 + 7 + 7);
    // A position beyond the end (the end offsets were read before the latest records) counts as 0, not negative.
    expect(t.index.lag([{ partition: 0, low: '0', high: '3' }])).toBe(0);
    expect(t.index.lag([])).toBe(0);
  });

  it('throws InvalidInputError on an invalid record, counts it invalid, and still moves past it', async () => {
    const t = setup();
    const thrownBy = (record: IndicatorRecord): unknown => {
      try {
        t.index.apply(record);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const badHash = thrownBy({ key: 'plat/x', value: indicator({ entryId: 'x', hashValue: 'zz' }), partition: 0, offset: '7', timestampMs: 0 });
    expect(badHash).toBeInstanceOf(InvalidInputError);
    expect(badHash).toMatchObject({ code: 'hash_length_invalid' });
    const noKey = thrownBy({ key: null, value: indicator({ entryId: 'x' }), partition: 0, offset: '8', timestampMs: 0 });
    expect(noKey).toBeInstanceOf(InvalidInputError);
    expect(noKey).toMatchObject({ code: 'entry_key_missing' });
    const mismatch = thrownBy({ key: 'plat/other', value: indicator({ entryId: 'x' }), partition: 0, offset: '9', timestampMs: 0 });
    expect(mismatch).toBeInstanceOf(InvalidInputError);
    expect(mismatch).toMatchObject({ code: 'entry_key_mismatch' });
    expect(await counterValue(t.metrics, 'invalid')).toBe(3);
    expect(await counterValue(t.metrics, 'added')).toBe(0);
    expect(t.index.banks.getEntry('plat', 'x')).toBeUndefined();
    expect(t.index.lag([{ partition: 0, low: '0', high: '10' }])).toBe(0);
  });
});
