import { BankEntryUpsert } from './bank-types';
import { BankSet } from './bank-set';
import { formatPdqWords, parsePdqHex } from './hash-words';
import { flipBits, mulberry32, randomHash } from './testing/random-hashes';

const rand = mulberry32(42);
const pdqA = formatPdqWords(randomHash(rand));
const pdqB = formatPdqWords(randomHash(rand));
const near = (hex: string, bits: number): string => formatPdqWords(flipBits(parsePdqHex(hex), bits, rand));
const md5 = 'd41d8cd98f00b204e9800998ecf8427e';

function up(over: Partial<BankEntryUpsert> & Pick<BankEntryUpsert, 'bank' | 'entryId'>): BankEntryUpsert {
  return {
    deleted: false,
    kind: 'block',
    source: 'eu_centre',
    pdqThreshold: 31,
    algorithm: 'pdq',
    hashHex: pdqA,
    labels: ['a1'],
    listVersion: 'v1',
    disabled: false,
    updatedAtMs: 1000,
    ...over,
  };
}

describe('BankSet', () => {
  it('matches with full provenance and decides block > review > allow > none', () => {
    const set = new BankSet({ flood: false });
    set.apply(up({ bank: 'eu', entryId: 'e1' }));
    set.apply(up({ bank: 'plat', entryId: 'p1', kind: 'review', source: 'platform', hashHex: pdqB, listVersion: 'v9' }));
    set.apply(up({ bank: 'plat', entryId: 'm1', kind: 'review', source: 'platform', algorithm: 'md5', hashHex: md5.toUpperCase() }));
    const q = near(pdqA, 31);
    const r = set.match([{ algorithm: 'pdq', value: q, quality: 90 }]);
    expect(r.decision).toBe('block');
    expect(r.matches).toEqual([
      { bank: 'eu', kind: 'block', source: 'eu_centre', entryId: 'e1', labels: ['a1'], listVersion: 'v1', algorithm: 'pdq', distance: 31, threshold: 31, queryIndex: 0, queryHash: q, queryQuality: 90, entryHash: pdqA },
    ]);
    expect(set.match([{ algorithm: 'pdq', value: near(pdqA, 32) }]).decision).toBe('none');
    const r2 = set.match([{ algorithm: 'md5', value: md5 }, { algorithm: 'pdq', value: pdqB }]);
    expect(r2.decision).toBe('review');
    expect(r2.matches.map((m) => [m.entryId, m.algorithm, m.distance, m.queryIndex])).toEqual([['m1', 'md5', 0, 0], ['p1', 'pdq', 0, 1]]);
    expect(set.match([]).decision).toBe('none');
  });

  it('applies per-bank thresholds and bank metadata changes (newest wins)', () => {
    const set = new BankSet({ flood: false });
    set.apply(up({ bank: 'b', entryId: 'e1', pdqThreshold: 10 }));
    const q = near(pdqA, 20);
    expect(set.match([{ algorithm: 'pdq', value: q }]).matches).toHaveLength(0);
    set.apply(up({ bank: 'b', entryId: 'e2', hashHex: pdqB, pdqThreshold: 25, kind: 'review', updatedAtMs: 2000 }));
    const r = set.match([{ algorithm: 'pdq', value: q }]);
    expect(r.matches.map((m) => [m.entryId, m.kind, m.threshold])).toEqual([['e1', 'review', 25]]);
    // An older update does not roll bank settings back.
    set.apply(up({ bank: 'b', entryId: 'e3', hashHex: pdqB, pdqThreshold: 5, updatedAtMs: 1500 }));
    expect(set.stats()[0]).toMatchObject({ pdqThreshold: 25, kind: 'review', entries: { pdq: 3 } });
  });

  it('skips low-quality PDQ (configurable) and rejects malformed hashes with codes', () => {
    const set = new BankSet({ flood: false });
    set.apply(up({ bank: 'b', entryId: 'e1' }));
    const r = set.match([{ algorithm: 'pdq', value: pdqA, quality: 49 }]);
    expect(r.matches).toHaveLength(0);
    expect(r.skipped).toEqual([{ queryIndex: 0, algorithm: 'pdq', reason: 'low_quality' }]);
    expect(set.match([{ algorithm: 'pdq', value: pdqA, quality: 50 }]).matches).toHaveLength(1);
    expect(new BankSet({ minPdqQuality: 0 }).match([{ algorithm: 'pdq', value: pdqA, quality: 1 }]).skipped).toHaveLength(0);
    expect(() => set.match([{ algorithm: 'pdq', value: 'abc' }])).toThrow(expect.objectContaining({ code: 'hash_length_invalid' }));
    expect(() => set.match([{ algorithm: 'xx' as 'pdq', value: pdqA }])).toThrow(expect.objectContaining({ code: 'algorithm_invalid' }));
    expect(() => set.apply(up({ bank: 'Bad/Name', entryId: 'e' }))).toThrow(expect.objectContaining({ code: 'bank_name_invalid' }));
    expect(() => set.apply(up({ bank: 'b', entryId: 'e', labels: ['Nope'] }))).toThrow(expect.objectContaining({ code: 'label_invalid' }));
  });

  it('disable / enable / delete / re-hash take effect on the next match; stale updates are ignored', () => {
    const set = new BankSet({ flood: false, clock: () => 5000 });
    set.apply(up({ bank: 'b', entryId: 'e1' }));
    const q = [{ algorithm: 'pdq' as const, value: pdqA }];
    const off = set.setDisabled('b', 'e1', true) as BankEntryUpsert;
    expect(off).toMatchObject({ disabled: true, updatedAtMs: 5000 });
    expect(set.apply(off)).toBe('updated');
    expect(set.match(q).matches).toHaveLength(0);
    expect(set.apply(set.setDisabled('b', 'e1', false) as BankEntryUpsert)).toBe('updated');
    expect(set.match(q).matches).toHaveLength(1);
    expect(set.apply({ ...off, disabled: false, updatedAtMs: 6000 })).toBe('unchanged');
    expect(set.apply(up({ bank: 'b', entryId: 'e1', disabled: true, updatedAtMs: 10 }))).toBe('stale');
    expect(set.match(q).matches).toHaveLength(1);
    expect(set.apply(up({ bank: 'b', entryId: 'e1', hashHex: pdqB, updatedAtMs: 7000 }))).toBe('updated');
    expect(set.match(q).matches).toHaveLength(0);
    expect(set.match([{ algorithm: 'pdq', value: pdqB }]).matches).toHaveLength(1);
    expect(set.apply({ deleted: true, bank: 'b', entryId: 'e1' })).toBe('deleted');
    expect(set.apply({ deleted: true, bank: 'b', entryId: 'e1' })).toBe('not_found');
    expect(set.match([{ algorithm: 'pdq', value: pdqB }]).matches).toHaveLength(0);
    expect(set.getEntry('b', 'e1')).toBeUndefined();
  });

  it('allow-list suppresses block/review matches of the same query hash, visibly', () => {
    const set = new BankSet({ flood: false });
    set.apply(up({ bank: 'eu', entryId: 'e1' }));
    set.apply(up({ bank: 'benign', entryId: 'meme', kind: 'allow', source: 'platform', hashHex: near(pdqA, 4), pdqThreshold: 8 }));
    const r = set.match([{ algorithm: 'pdq', value: pdqA }, { algorithm: 'md5', value: md5 }]);
    expect(r.decision).toBe('allow');
    expect(r.matches.map((m) => [m.bank, m.entryId])).toEqual([['benign', 'meme']]);
    expect(r.suppressed).toHaveLength(1);
    expect(r.suppressed[0]).toMatchObject({ bank: 'eu', entryId: 'e1', reason: 'allow_list', suppressedBy: { bank: 'benign', entryId: 'meme' } });
    // Outside the allow bank's own threshold, no suppression.
    const far = near(pdqA, 20);
    const r2 = set.match([{ algorithm: 'pdq', value: far }]);
    expect(r2.decision).toBe('block');
    expect(r2.suppressed).toHaveLength(0);
  });

  it('quarantines a flooding entry with an alert, suppresses it until a person clears it', () => {
    let now = 1_000_000;
    const set = new BankSet({ clock: () => now, flood: { minCount: 10, ratio: 5, warmupMs: 0 } });
    set.apply(up({ bank: 'tp', entryId: 'x', kind: 'review', source: 'industry' }));
    set.apply(up({ bank: 'tp', entryId: 'y', kind: 'review', source: 'industry', hashHex: pdqB }));
    const q = [{ algorithm: 'pdq' as const, value: pdqA }];
    const alerts = [];
    for (let i = 0; i < 9; i++) {
      now += 1000;
      const r = set.match(q);
      expect(r.decision).toBe('review');
      alerts.push(...r.alerts);
    }
    expect(alerts).toHaveLength(0);
    now += 1000;
    const r = set.match(q);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]).toMatchObject({ bank: 'tp', entryId: 'x', windowCount: 10, update: { quarantined: true, entryId: 'x', bank: 'tp' } });
    expect(r.decision).toBe('none');
    expect(r.suppressed[0]).toMatchObject({ entryId: 'x', reason: 'quarantined' });
    expect(set.getEntry('tp', 'x')?.quarantined).toBe(true);
    // Other entries unaffected; the quarantine persists until cleared.
    expect(set.match([{ algorithm: 'pdq', value: pdqB }]).decision).toBe('review');
    now += 3_600_000;
    expect(set.match(q).decision).toBe('none');
    expect(set.apply(set.clearQuarantine('tp', 'x') as BankEntryUpsert)).toBe('updated');
    const after = set.match(q);
    expect(after.decision).toBe('review');
    expect(after.alerts).toHaveLength(0);
  });

  it('stays exact through many incremental updates (PDQ index compaction underneath)', () => {
    const set = new BankSet({ flood: false, pdqIndex: { deltaLimit: 32 } });
    const r = mulberry32(7);
    const model = new Map<string, string>();
    for (let i = 0; i < 600; i++) {
      const id = `e${r() % 300}`;
      if (r() % 4 === 0) {
        set.apply({ deleted: true, bank: 'b', entryId: id });
        model.delete(id);
      } else {
        const hex = formatPdqWords(r() % 2 ? randomHash(r) : flipBits(parsePdqHex(pdqA), r() % 40, r));
        set.apply(up({ bank: 'b', entryId: id, hashHex: hex, updatedAtMs: 1000 + i }));
        model.set(id, hex);
      }
      if (i % 50 === 0) set.maintain(1000);
    }
    const got = set.match([{ algorithm: 'pdq', value: pdqA }]).matches.map((m) => m.entryId).sort();
    const want = [...model].filter(([, h]) => {
      const a = parsePdqHex(h);
      const b = parsePdqHex(pdqA);
      let d = 0;
      for (let k = 0; k < 8; k++) d += ((a[k] ^ b[k]) >>> 0).toString(2).replace(/0/g, '').length;
      return d <= 31;
    }).map(([id]) => id).sort();
    expect(want.length).toBeGreaterThan(10);
    expect(got).toEqual(want);
  });
});
