import { BruteForcePdqIndex } from './brute-force-pdq-index';
import { formatPdqWords } from './hash-words';
import { mihLayoutForWidth } from './mih-layout';
import { MihPdqIndex } from './mih-pdq-index';
import { flipBits, mulberry32, randomHash } from './testing/random-hashes';

const key = (hits: { id: number; distance: number }[]): string => hits.map((h) => `${h.id}:${h.distance}`).join(',');

describe('MihPdqIndex bulk load', () => {
  it('accumulates without compacting, stays exact meanwhile, builds once at compact(), then compacts incrementally again', () => {
    const rand = mulberry32(11);
    const centers = Array.from({ length: 40 }, () => randomHash(rand));
    const mih = new MihPdqIndex({ deltaLimit: 64 });
    const ref = new BruteForcePdqIndex();
    /** MIH id -> reference id (the two hand out ids differently). */
    const toRef = new Map<number, number>();
    const mapped = (hits: { id: number; distance: number }[]): string =>
      key(hits.map((h) => ({ id: toRef.get(h.id) as number, distance: h.distance })).sort((a, b) => a.distance - b.distance || a.id - b.id));
    const add = (h: Uint32Array): void => {
      const a = mih.add(h);
      expect(toRef.has(a)).toBe(false);
      toRef.set(a, ref.add(h));
    };
    const check = (): void => {
      for (let q = 0; q < 20; q++) {
        const query = flipBits(centers[q], rand() % 20, rand);
        for (const radius of [0, 10, 31, 40]) expect(mapped(mih.search(query, radius))).toBe(key(ref.search(query, radius)));
      }
    };
    mih.beginBulkLoad();
    expect(mih.isBulkLoading).toBe(true);
    for (let i = 0; i < 6000; i++) {
      add(rand() % 3 === 0 ? randomHash(rand) : flipBits(centers[rand() % centers.length], rand() % 30, rand));
      if (i % 5 === 4) {
        const live = [...toRef.keys()];
        const victim = live[rand() % live.length];
        expect(mih.remove(victim)).toBe(true);
        expect(ref.remove(toRef.get(victim) as number)).toBe(true);
        toRef.delete(victim);
      }
      if (i === 3000) check();
    }
    // Nothing was compacted: every add is still in the delta, and idle maintenance does nothing.
    expect(mih.stats()).toMatchObject({ deltaSize: 6000, widths: [], compacting: false });
    expect(mih.needsCompaction).toBe(false);
    expect(mih.compactStep()).toBe(true);
    expect(mih.stats().deltaSize).toBe(6000);
    check();
    mih.compact();
    expect(mih.isBulkLoading).toBe(false);
    expect(mih.stats()).toMatchObject({ deltaSize: 0, tombstones: 0, size: ref.size });
    expect(mih.stats().widths.length).toBeGreaterThan(0);
    check();
    // Back to normal: automatic compaction folds a growing delta.
    for (let i = 0; i < 3000; i++) add(randomHash(rand));
    expect(mih.stats().deltaSize).toBeLessThan(3000);
    check();
  });

  it('builds tables wider than one build partition (2^16 buckets) exactly', () => {
    const rand = mulberry32(5);
    const n = 20_000;
    const words = new Uint32Array(n * 8);
    for (let i = 0; i < words.length; i++) words[i] = rand();
    // 11 tables of 23-24 bits: 128-256 partitions each.
    const mih = MihPdqIndex.fromWords(words, n, { layout: mihLayoutForWidth(24) });
    const ref = new BruteForcePdqIndex();
    for (let i = 0; i < n; i++) ref.add(words.subarray(i * 8, i * 8 + 8));
    for (let q = 0; q < 50; q++) {
      const src = rand() % n;
      const query = flipBits(words.slice(src * 8, src * 8 + 8), rand() % 32, rand);
      expect(key(mih.search(query, 31))).toBe(key(ref.search(query, 31)));
      expect(key(mih.search(query, 64))).toBe(key(ref.search(query, 64)));
    }
  });

  it('stays exact when one bucket block holds more than 255 or 65,535 entries (equal hashes widen the bucket starts)', () => {
    const rand = mulberry32(8);
    const dup = randomHash(rand);
    for (const copies of [300, 70_000]) {
      const n = copies + 5000;
      const words = new Uint32Array(n * 8);
      // Every other entry is the duplicate until `copies` of them are placed.
      let placed = 0;
      for (let i = 0; i < n; i++) {
        const isDup = placed < copies && (i % 2 === 0 || n - i <= copies - placed);
        if (isDup) placed++;
        words.set(isDup ? dup : randomHash(rand), i * 8);
      }
      const mih = MihPdqIndex.fromWords(words, n, { layout: mihLayoutForWidth(16) });
      const ref = new BruteForcePdqIndex();
      for (let i = 0; i < n; i++) ref.add(words.subarray(i * 8, i * 8 + 8));
      const q = flipBits(dup, 5, rand);
      const hits = mih.search(q, 31);
      expect(hits.length).toBe(ref.search(q, 31).length);
      expect(key(hits)).toBe(key(ref.search(q, 31)));
      expect(placed).toBe(copies);
      expect(hits.filter((h) => h.distance === 5).length).toBe(copies);
      const other = words.slice(8, 16);
      expect(key(mih.search(flipBits(other, 20, rand), 31))).toBe(key(ref.search(flipBits(other, 20, rand), 31)));
      // 16 tables of 2^16 one-byte bucket starts would take 16 x 65,537 bytes; wider here.
      expect(mih.stats().tableBytes - 16 * 4 * n).toBeGreaterThan(16 * 65_537 * (copies > 65_535 ? 3 : 1.5));
    }
  });

  it('returns the hash of a live id as lowercase hex', () => {
    const mih = new MihPdqIndex();
    const h = randomHash(mulberry32(1));
    const id = mih.add(h);
    expect(mih.hashHex(id)).toBe(formatPdqWords(h));
    mih.remove(id);
    expect(mih.hashHex(id)).toBeUndefined();
    expect(mih.hashHex(99)).toBeUndefined();
  });
});
