import { BruteForcePdqIndex } from './brute-force-pdq-index';
import { ExactHashIndex } from './exact-hash-index';
import { formatPdqWords, hammingDistanceWords } from './hash-words';
import { mihLayoutForWidth, mihLayoutFromWidths } from './mih-layout';
import { MihPdqIndex } from './mih-pdq-index';
import { PdqIndex } from './pdq-index';
import { flipBits, mulberry32, randomHash } from './testing/random-hashes';

/**
 * Conformance: every PdqIndex implementation returns exactly what a brute-force scan over the
 * model (entry key -> hash) returns, for uniform and clustered data, at radius edges, with
 * interleaved adds and removes and duplicate hashes under different entry keys.
 */

interface Impl {
  name: string;
  make: () => PdqIndex;
  /** Called at points where a real owner might compact (no-op for brute force). */
  compact: (index: PdqIndex) => void;
}

const mih = (name: string, opts: ConstructorParameters<typeof MihPdqIndex>[0]): Impl => ({
  name,
  make: () => new MihPdqIndex(opts),
  compact: (i) => (i as MihPdqIndex).compact(),
});

const IMPLS: Impl[] = [
  { name: 'brute force', make: () => new BruteForcePdqIndex(), compact: () => undefined },
  mih('MIH auto layout', { deltaLimit: 64 }),
  mih('MIH 32 x 8 bits', { layout: mihLayoutForWidth(8), deltaLimit: 64 }),
  mih('MIH 22 x ~12 bits', { layout: mihLayoutForWidth(12), deltaLimit: 64 }),
  mih('MIH 16 x 16 bits (FAISS/HMA layout)', { layout: mihLayoutForWidth(16), deltaLimit: 64 }),
  mih('MIH 13 x ~20 bits', { layout: mihLayoutForWidth(20), deltaLimit: 512 }),
  mih('MIH uneven widths 1,3,12,20x12', { layout: mihLayoutFromWidths([1, 3, 12, ...new Array(12).fill(20)]), deltaLimit: 512 }),
  mih('MIH no auto-compaction (delta only until compact)', { layout: mihLayoutForWidth(16), deltaLimit: 64, autoCompact: false }),
];

/** The model: entry key -> hash, plus each index's id <-> key mapping. */
class Harness {
  readonly model = new Map<string, Uint32Array>();
  private readonly keyById: Map<number, string>[];
  private readonly idByKey: Map<string, number>[];
  readonly indexes: PdqIndex[];

  constructor(readonly impls: Impl[]) {
    this.indexes = impls.map((i) => i.make());
    this.keyById = impls.map(() => new Map());
    this.idByKey = impls.map(() => new Map());
  }

  add(key: string, hash: Uint32Array): void {
    this.model.set(key, hash);
    this.indexes.forEach((index, i) => {
      const id = index.add(i % 2 === 0 ? hash : formatPdqWords(hash));
      expect(this.keyById[i].has(id)).toBe(false);
      this.keyById[i].set(id, key);
      this.idByKey[i].set(key, id);
    });
  }

  remove(key: string): void {
    this.model.delete(key);
    this.indexes.forEach((index, i) => {
      const id = this.idByKey[i].get(key) as number;
      expect(index.remove(id)).toBe(true);
      expect(index.remove(id)).toBe(false);
      expect(index.has(id)).toBe(false);
      this.keyById[i].delete(id);
      this.idByKey[i].delete(key);
    });
  }

  compactAll(): void {
    this.indexes.forEach((index, i) => this.impls[i].compact(index));
  }

  expected(query: Uint32Array, radius: number): string[] {
    const out: string[] = [];
    for (const [key, hash] of this.model) {
      const d = hammingDistanceWords(hash, 0, query, 0);
      if (d <= radius) out.push(`${key}@${d}`);
    }
    return out.sort();
  }

  check(query: Uint32Array, radius: number): number {
    const expected = this.expected(query, radius);
    this.indexes.forEach((index, i) => {
      const hits = index.search(query, radius);
      for (let j = 1; j < hits.length; j++) {
        expect(hits[j - 1].distance < hits[j].distance || (hits[j - 1].distance === hits[j].distance && hits[j - 1].id < hits[j].id)).toBe(true);
      }
      const got = hits.map((h) => `${this.keyById[i].get(h.id)}@${h.distance}`).sort();
      if (got.join() !== expected.join()) {
        throw new Error(`${this.impls[i].name}: radius ${radius}: expected ${expected.length} hits [${expected.slice(0, 5)}], got ${got.length} [${got.slice(0, 5)}]`);
      }
      expect(index.size).toBe(this.model.size);
    });
    return expected.length;
  }
}

const EDGE_RADII = [0, 1, 10, 30, 31, 32];

function queriesAround(h: Harness, rand: () => number, count: number): Uint32Array[] {
  const keys = [...h.model.keys()];
  const out: Uint32Array[] = [];
  for (let i = 0; i < count; i++) {
    const base = h.model.get(keys[rand() % keys.length]) as Uint32Array;
    // Exact distances around the edges, plus random ones.
    const d = [0, 1, 29, 30, 31, 32, 33, rand() % 48][i % 8];
    out.push(flipBits(base, d, rand));
  }
  for (let i = 0; i < count / 4; i++) out.push(randomHash(rand));
  return out;
}

describe('PdqIndex conformance (every implementation equals brute force)', () => {
  it('uniform random hashes, radius edges 30/31/32', () => {
    const rand = mulberry32(1);
    const h = new Harness(IMPLS);
    for (let i = 0; i < 3000; i++) h.add(`u${i}`, randomHash(rand));
    h.compactAll();
    let hits = 0;
    for (const q of queriesAround(h, rand, 120)) for (const r of EDGE_RADII) hits += h.check(q, r);
    expect(hits).toBeGreaterThan(200);
  });

  it('clustered near-duplicate families (bit flips), radius edges', () => {
    const rand = mulberry32(2);
    const h = new Harness(IMPLS);
    let n = 0;
    const centers: Uint32Array[] = [];
    for (let f = 0; f < 60; f++) {
      const center = randomHash(rand);
      centers.push(center);
      // Families of 1..60 members, 0..40 bits from the center: many pairs straddle 30/31/32.
      const members = 1 + (rand() % 60);
      for (let j = 0; j < members; j++) h.add(`c${n++}`, flipBits(center, rand() % 41, rand));
    }
    // Clustered also in the substrings: a family sharing most bits skews buckets.
    h.compactAll();
    let hits = 0;
    for (const c of centers) for (const r of EDGE_RADII) hits += h.check(c, r);
    for (const q of queriesAround(h, rand, 80)) for (const r of [30, 31, 32]) hits += h.check(q, r);
    expect(hits).toBeGreaterThan(1000);
  });

  it('duplicates of the same hash under different entry ids are all returned', () => {
    const rand = mulberry32(3);
    const h = new Harness(IMPLS);
    const dup = randomHash(rand);
    for (let i = 0; i < 200; i++) h.add(`r${i}`, randomHash(rand));
    for (let i = 0; i < 5; i++) h.add(`dup${i}`, dup);
    h.compactAll();
    expect(h.check(dup, 0)).toBe(5);
    h.add('dup-late', dup);
    expect(h.check(dup, 31)).toBe(6);
    h.remove('dup2');
    expect(h.check(dup, 0)).toBe(5);
  });

  it('adds and removes interleaved with queries (delta, tombstones, id reuse, incremental compaction)', () => {
    const rand = mulberry32(4);
    const h = new Harness(IMPLS);
    const centers = Array.from({ length: 20 }, () => randomHash(rand));
    let next = 0;
    for (let round = 0; round < 40; round++) {
      const adds = 10 + (rand() % 60);
      for (let i = 0; i < adds; i++) {
        const c = centers[rand() % centers.length];
        h.add(`k${next++}`, rand() % 3 === 0 ? randomHash(rand) : flipBits(c, rand() % 36, rand));
      }
      const keys = [...h.model.keys()];
      const removes = rand() % 40;
      for (let i = 0; i < removes && keys.length > 0; i++) {
        const j = rand() % keys.length;
        h.remove(keys[j]);
        keys.splice(j, 1);
      }
      if (round % 13 === 12) h.compactAll();
      for (const c of centers.slice(0, 4)) for (const r of [30, 31, 32]) h.check(flipBits(c, rand() % 8, rand), r);
      // A removed entry is gone for the very next query; a re-added hash is found at once.
      if (keys.length > 0) {
        const victim = keys[rand() % keys.length];
        const hash = h.model.get(victim) as Uint32Array;
        h.remove(victim);
        h.check(hash, 0);
        h.add(`${victim}-again`, hash);
        expect(h.check(hash, 0)).toBeGreaterThanOrEqual(1);
      }
    }
    // Compaction also ran incrementally along the way (autoCompact): tables exist.
    const auto = h.indexes[1] as MihPdqIndex;
    expect(auto.stats().widths.length).toBeGreaterThan(0);
  });

  it('large radii stay exact (radius 64 and 100)', () => {
    const rand = mulberry32(5);
    const impls = IMPLS.filter((i) => !i.name.includes('20 bits') && !i.name.includes('uneven'));
    const h = new Harness(impls);
    const center = randomHash(rand);
    for (let i = 0; i < 1500; i++) h.add(`w${i}`, flipBits(center, rand() % 120, rand));
    h.compactAll();
    expect(h.check(center, 64)).toBeGreaterThan(100);
    h.check(flipBits(center, 20, rand), 100);
  });

  it('bulk build from pieces across storage chunks (2^16 entries each), then grows', () => {
    const rand = mulberry32(8);
    const n = 140_000;
    const words = new Uint32Array(n * 8);
    for (let i = 0; i < words.length; i++) words[i] = rand();
    // Pieces of odd sizes that do not line up with chunk boundaries.
    const pieces: Uint32Array[] = [];
    for (let at = 0; at < words.length; ) {
      const len = Math.min(words.length - at, 8 * (1 + (rand() % 50_000)));
      pieces.push(words.subarray(at, at + len));
      at += len;
    }
    const mihIndex = MihPdqIndex.fromWords(pieces, n, { deltaLimit: 64 });
    const brute = new BruteForcePdqIndex();
    for (let i = 0; i < n; i++) expect(brute.add(words.subarray(i * 8, i * 8 + 8))).toBe(i);
    for (let i = 0; i < 300; i++) {
      const h = randomHash(rand);
      expect(mihIndex.add(h)).toBe(brute.add(h));
    }
    expect(mihIndex.size).toBe(n + 300);
    for (let i = 0; i < 60; i++) {
      const base = (i * 2311) % (n + 300);
      const q = flipBits(i < n ? words.subarray(base * 8, base * 8 + 8) : randomHash(rand), i % 34, rand);
      expect(mihIndex.search(q, 31)).toEqual(brute.search(q, 31));
    }
    expect(() => MihPdqIndex.fromWords(words.subarray(0, 80), 11)).toThrow(expect.objectContaining({ code: 'pdq_hex_invalid' }));
  });

  it('rejects bad radii and bad hashes with codes', () => {
    for (const impl of IMPLS) {
      const index = impl.make();
      expect(() => index.search('0'.repeat(64), 257)).toThrow(expect.objectContaining({ code: 'radius_invalid' }));
      expect(() => index.search('0'.repeat(64), 1.5)).toThrow(expect.objectContaining({ code: 'radius_invalid' }));
      expect(() => index.add('xyz')).toThrow(expect.objectContaining({ code: 'pdq_hex_invalid' }));
      expect(() => index.search('g'.repeat(64), 3)).toThrow(expect.objectContaining({ code: 'pdq_hex_invalid' }));
    }
  });
});

describe('ExactHashIndex conformance (equals a brute-force string scan)', () => {
  it.each(['md5', 'sha1', 'sha256'] as const)('%s: adds, removes, duplicates, case', (algorithm) => {
    const rand = mulberry32(6);
    const len = { md5: 32, sha1: 40, sha256: 64 }[algorithm];
    const hex = (): string => Array.from({ length: len }, () => '0123456789abcdef'[rand() & 15]).join('');
    const index = new ExactHashIndex(algorithm);
    const model = new Map<number, string>();
    const pool = Array.from({ length: 50 }, hex);
    for (let step = 0; step < 2000; step++) {
      const op = rand() % 4;
      if (op < 2) {
        const v = pool[rand() % pool.length];
        model.set(index.add(rand() % 2 ? v.toUpperCase() : v), v);
      } else if (op === 2 && model.size > 0) {
        const ids = [...model.keys()];
        const id = ids[rand() % ids.length];
        expect(index.remove(id)).toBe(true);
        expect(index.remove(id)).toBe(false);
        model.delete(id);
      } else {
        const q = rand() % 5 === 0 ? hex() : pool[rand() % pool.length];
        const expected = [...model].filter(([, v]) => v === q).map(([id]) => id).sort((a, b) => a - b);
        expect(index.lookup(q)).toEqual(expected);
        expect(index.lookup(q.toUpperCase())).toEqual(expected);
      }
      expect(index.size).toBe(model.size);
    }
    expect(() => index.lookup('abc')).toThrow(expect.objectContaining({ code: 'hash_hex_invalid' }));
    expect(() => index.add('z'.repeat(len))).toThrow(expect.objectContaining({ code: 'hash_hex_invalid' }));
  });
});
