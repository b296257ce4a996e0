import { ChunkedInt32Array, EntryStore, Interner, ROW_DISABLED, ROW_LIVE, entryMetaKey } from './entry-store';
import { mulberry32 } from './testing/random-hashes';

describe('EntryStore', () => {
  it('maps ids to rows and back through inserts, deletes and row reuse, like a Map (> 2^16 rows, non-ASCII ids)', () => {
    const store = new EntryStore();
    const model = new Map<string, number>();
    const rand = mulberry32(3);
    const idOf = (k: number): string => (k % 7 === 0 ? `é-${k}-∑` : k % 5 === 0 ? `${'x'.repeat(200)}${k}` : `e${k}`);
    let wrongFinds = 0;
    for (let step = 0; step < 250_000; step++) {
      const k = rand() % 100_000;
      const id = idOf(k);
      const row = store.find(id);
      if (row !== (model.get(id) ?? -1)) wrongFinds++;
      if (row >= 0 && rand() % 3 === 0) {
        store.delete(row);
        model.delete(id);
      } else if (row < 0) {
        const r = store.insert(id);
        store.setUpdatedAtMs(r, k);
        model.set(id, r);
      }
    }
    expect(wrongFinds).toBe(0);
    expect(store.size).toBe(model.size);
    expect(model.size).toBeGreaterThan(65_536);
    const rows = new Set<number>();
    const wrong: string[] = [];
    for (const [id, row] of model) {
      if (store.entryId(row) !== id || store.find(id) !== row || (store.flags(row) & ROW_LIVE) === 0 || idOf(store.updatedAtMs(row)) !== id) wrong.push(id);
      rows.add(row);
    }
    expect(wrong).toEqual([]);
    expect(rows.size).toBe(model.size);
    // Deleted rows were reused: fewer rows than ids ever inserted.
    expect(store.rowLimit).toBeLessThan(100_000);
    let live = 0;
    for (let r = 0; r < store.rowLimit; r++) if (store.flags(r) & ROW_LIVE) live++;
    expect(live).toBe(model.size);
  });

  it('keeps columns per row and clears a row on delete', () => {
    const store = new EntryStore();
    const a = store.insert('a');
    const b = store.insert('b');
    store.setFlags(a, ROW_DISABLED);
    store.setMeta(a, 7);
    store.setIndexId(a, 42);
    store.setUpdatedAtMs(a, 1.5);
    expect([store.flags(a), store.meta(a), store.indexId(a), store.updatedAtMs(a)]).toEqual([ROW_LIVE | ROW_DISABLED, 7, 42, 1.5]);
    expect([store.flags(b), store.meta(b), store.indexId(b), store.updatedAtMs(b)]).toEqual([ROW_LIVE, 0, -1, 0]);
    store.delete(a);
    expect(store.find('a')).toBe(-1);
    expect(store.flags(a)).toBe(0);
    expect(store.insert('c')).toBe(a);
    expect(store.indexId(a)).toBe(-1);
    expect(store.entryId(b)).toBe('b');
    expect(store.entryId(a)).toBe('c');
  });

  it('reclaims id bytes of deleted rows (group heap compaction) without losing ids', () => {
    const store = new EntryStore();
    const keep = Array.from({ length: 2000 }, (_, i) => `keep-${i}`);
    for (const id of keep) store.insert(id);
    const start = store.byteLength;
    for (let round = 0; round < 50; round++) {
      const rows = Array.from({ length: 1000 }, (_, i) => store.insert(`churn-${round}-${i}-${'y'.repeat(40)}`));
      for (const r of rows) store.delete(r);
    }
    for (const id of keep) expect(store.entryId(store.find(id))).toBe(id);
    expect(store.find(`churn-3-5-${'y'.repeat(40)}`)).toBe(-1);
    // 50,000 deleted 50-byte ids (2.5 MB) did not accumulate.
    expect(store.byteLength - start).toBeLessThan(400_000);
  });
});

describe('ChunkedInt32Array', () => {
  it('reads the fill value until written, across chunks', () => {
    const a = new ChunkedInt32Array();
    expect(a.get(5)).toBe(-1);
    a.set(3, 9);
    a.set(200_000, 4);
    a.set(70_000, 5);
    expect([a.get(3), a.get(200_000), a.get(70_000), a.get(199_999), a.get(4)]).toEqual([9, 4, 5, -1, -1]);
    expect(new ChunkedInt32Array(0).get(1)).toBe(0);
  });
});

describe('Interner', () => {
  it('shares one id per key while referenced and forgets it with the last reference', () => {
    const i = new Interner<{ v: string }>();
    let made = 0;
    const make = (v: string) => () => {
      made++;
      return { v };
    };
    const a = i.acquire('a', make('a'));
    expect(i.acquire('a', make('a'))).toBe(a);
    const b = i.acquire('b', make('b'));
    expect(made).toBe(2);
    expect(i.get(a).v).toBe('a');
    i.release(a);
    expect(i.get(a).v).toBe('a');
    i.release(a);
    expect(i.size).toBe(1);
    const c = i.acquire('c', make('c'));
    expect(c).toBe(a);
    expect(i.get(b).v).toBe('b');
    expect(made).toBe(3);
  });

  it('keys (labels, list version) pairs unambiguously', () => {
    expect(entryMetaKey(['a', 'b'], 'v')).not.toBe(entryMetaKey(['a'], 'v|b'));
    expect(entryMetaKey([], 'v|a')).not.toBe(entryMetaKey(['a'], 'v'));
    expect(entryMetaKey(['a'], '')).not.toBe(entryMetaKey([], '0:|a'));
    expect(entryMetaKey(['a', 'b'], 'v')).toBe(entryMetaKey(['a', 'b'], 'v'));
  });
});
