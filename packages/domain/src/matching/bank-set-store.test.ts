import { BankEntryState, BankSet } from './bank-set';
import { BankEntryUpsert, HashAlgorithm } from './bank-types';
import { formatPdqWords, hammingDistanceWords, parsePdqHex } from './hash-words';
import { flipBits, mulberry32, randomHash } from './testing/random-hashes';

/**
 * The compact entry store behind BankSet against a plain model (entry key -> state): random
 * adds, re-hashes (also across algorithms), relabels, new list versions, disables, quarantines
 * and deletes, with and without a bulk load, must leave exactly the model's entries, stats and
 * matches.
 */

const BANKS = [
  { bank: 'ncmec', kind: 'block', source: 'ncmec', pdqThreshold: 31 },
  { bank: 'industry', kind: 'review', source: 'platform', pdqThreshold: 20 },
] as const;
const LABEL_SETS = [[], ['a1'], ['a1', 'sextortion'], ['b1']];
const hexOf = (rand: () => number, digits: number): string => Array.from({ length: digits }, () => (rand() % 16).toString(16)).join('');

function run(seed: number, bulk: boolean): void {
  const rand = mulberry32(seed);
  const set = new BankSet({ flood: false });
  if (bulk) set.beginBulkLoad();
  const model = new Map<string, BankEntryUpsert>();
  const centers = Array.from({ length: 8 }, () => randomHash(rand));
  let t = 1000;
  for (let step = 0; step < 4000; step++) {
    const b = BANKS[rand() % BANKS.length];
    const entryId = rand() % 5 === 0 ? `ü-${rand() % 600}` : `e-${rand() % 600}`;
    const key = `${b.bank}/${entryId}`;
    const old = model.get(key);
    const op = rand() % 10;
    if (op === 0 && old) {
      expect(set.apply({ deleted: true, bank: b.bank, entryId })).toBe('deleted');
      model.delete(key);
      continue;
    }
    const algorithm: HashAlgorithm = old && op !== 1 ? old.algorithm : rand() % 6 === 0 ? 'md5' : 'pdq';
    const rehash = !old || op <= 2;
    const hashHex =
      !rehash && old ? old.hashHex : algorithm === 'pdq' ? formatPdqWords(flipBits(centers[rand() % centers.length], rand() % 40, rand)) : hexOf(rand, 32);
    const u: BankEntryUpsert = {
      deleted: false,
      ...b,
      entryId,
      algorithm,
      hashHex,
      labels: op === 3 || !old ? LABEL_SETS[rand() % LABEL_SETS.length] : old.labels,
      listVersion: op === 4 || !old ? `v${rand() % 5}` : old.listVersion,
      disabled: op === 5 ? !old?.disabled : (old?.disabled ?? false),
      quarantined: op === 6 ? !old?.quarantined : (old?.quarantined ?? false),
      updatedAtMs: ++t,
    };
    set.apply(u);
    model.set(key, u);
    if (step % 500 === 0) {
      expect(set.apply({ ...u, updatedAtMs: u.updatedAtMs - 1, disabled: !u.disabled })).toBe('stale');
      expect(set.apply(u)).toBe('unchanged');
    }
  }
  if (bulk) {
    expect(set.isBulkLoading).toBe(true);
    set.compactAll();
    expect(set.isBulkLoading).toBe(false);
  }

  const state = (u: BankEntryUpsert): BankEntryState => ({
    entryId: u.entryId,
    algorithm: u.algorithm,
    hashHex: u.hashHex,
    labels: u.labels,
    listVersion: u.listVersion,
    disabled: u.disabled,
    quarantined: u.quarantined ?? false,
    updatedAtMs: u.updatedAtMs,
  });
  for (const b of BANKS) {
    const want = [...model.values()].filter((u) => u.bank === b.bank).map(state);
    const byId = (x: BankEntryState, y: BankEntryState): number => (x.entryId < y.entryId ? -1 : x.entryId > y.entryId ? 1 : 0);
    expect([...set.entries(b.bank)].sort(byId)).toEqual(want.sort(byId));
    for (const w of want.slice(0, 50)) expect(set.getEntry(b.bank, w.entryId)).toEqual(w);
    const stats = set.stats().find((s) => s.bank === b.bank);
    expect(stats).toEqual({
      ...b,
      entries: { pdq: want.filter((w) => w.algorithm === 'pdq').length, md5: want.filter((w) => w.algorithm === 'md5').length, sha1: 0, sha256: 0 },
      disabled: want.filter((w) => w.disabled).length,
      quarantined: want.filter((w) => w.quarantined).length,
    });
  }
  for (const c of centers) {
    const q = formatPdqWords(flipBits(c, rand() % 12, rand));
    const r = set.match([{ algorithm: 'pdq', value: q }]);
    const qw = parsePdqHex(q);
    const want = [...model.values()]
      .filter((u) => u.algorithm === 'pdq' && !u.disabled)
      .map((u) => ({ u, d: hammingDistanceWords(parsePdqHex(u.hashHex), 0, qw, 0) }))
      .filter(({ u, d }) => d <= (BANKS.find((b) => b.bank === u.bank) as { pdqThreshold: number }).pdqThreshold);
    const got = [...r.matches, ...r.suppressed].map((m) => `${m.bank}/${m.entryId}:${m.distance}:${m.entryHash}:${m.labels.join()}:${m.listVersion}`).sort();
    expect(got).toEqual(want.map(({ u, d }) => `${u.bank}/${u.entryId}:${d}:${u.hashHex}:${u.labels.join()}:${u.listVersion}`).sort());
    expect(r.suppressed.every((m) => model.get(`${m.bank}/${m.entryId}`)?.quarantined)).toBe(true);
    expect(got.length).toBeGreaterThan(0);
  }
  const md5 = [...model.values()].find((u) => u.algorithm === 'md5' && !u.disabled) as BankEntryUpsert;
  const r = set.match([{ algorithm: 'md5', value: md5.hashHex.toUpperCase() }]);
  expect([...r.matches, ...r.suppressed].map((m) => [m.entryId, m.entryHash])).toContainEqual([md5.entryId, md5.hashHex]);
}

describe('BankSet entry store', () => {
  it('matches a plain model through random updates', () => run(1, false));
  it('matches a plain model through random updates applied as a bulk load', () => run(2, true));

  it('hands out frozen labels shared by entries, so callers cannot change stored entries', () => {
    const set = new BankSet({ flood: false });
    const h = formatPdqWords(randomHash(mulberry32(9)));
    const labels = ['a1'];
    const base = { deleted: false as const, bank: 'b', kind: 'block' as const, source: 's', pdqThreshold: 31, algorithm: 'pdq' as const, hashHex: h, listVersion: 'v1', disabled: false, updatedAtMs: 1 };
    set.apply({ ...base, entryId: 'x', labels });
    set.apply({ ...base, entryId: 'y', labels: ['a1'] });
    labels.push('changed');
    const x = set.getEntry('b', 'x') as BankEntryState;
    expect(x.labels).toEqual(['a1']);
    expect(Object.isFrozen(x.labels)).toBe(true);
    expect(() => (x.labels as string[]).push('z')).toThrow(TypeError);
    expect(set.match([{ algorithm: 'pdq', value: h }]).matches.map((m) => m.labels)).toEqual([['a1'], ['a1']]);
  });

  it('a bank created during a bulk load starts in it; maintain does nothing until compactAll', () => {
    const set = new BankSet({ flood: false, pdqIndex: { deltaLimit: 16 } });
    set.beginBulkLoad();
    const rand = mulberry32(4);
    const hashes = Array.from({ length: 300 }, () => formatPdqWords(randomHash(rand)));
    hashes.forEach((hashHex, i) =>
      set.apply({ deleted: false, bank: 'late', kind: 'block', source: 's', pdqThreshold: 31, entryId: `e${i}`, algorithm: 'pdq', hashHex, labels: [], listVersion: 'v', disabled: false, updatedAtMs: 1 }),
    );
    expect(set.maintain()).toBe(true);
    expect(set.match([{ algorithm: 'pdq', value: hashes[123] }]).matches.map((m) => m.entryId)).toEqual(['e123']);
    set.compactAll();
    expect(set.isBulkLoading).toBe(false);
    const q = formatPdqWords(flipBits(parsePdqHex(hashes[7]), 30, rand));
    expect(set.match([{ algorithm: 'pdq', value: q }]).matches.map((m) => [m.entryId, m.distance])).toEqual([['e7', 30]]);
  });
});
