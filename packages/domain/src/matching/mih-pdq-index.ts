import { InvalidInputError } from '../errors';
import { PDQ_WORDS, PdqHashInput, formatPdqWords, popcount32, toPdqWords } from './hash-words';
import { MihLayout, chooseMihLayout, mihLayoutFromWidths, mihRadii } from './mih-layout';
import { PdqHit, PdqIndex, assertRadius, growUint32, sortHits } from './pdq-index';

/** Options of {@link MihPdqIndex}. */
export interface MihPdqIndexOptions {
  /**
   * Fixed substring layout. Default: chosen from the live size at each compaction with
   * {@link chooseMihLayout} (re-chosen when the size has changed 4-fold, or at an explicit
   * {@link MihPdqIndex.compact}, if the cost model then picks other widths).
   */
  readonly layout?: MihLayout;
  /** Radius the automatic layout is tuned for. Default 31. Searches at any radius stay exact. */
  readonly designRadius?: number;
  /** Widest automatic substring, bits. Default 24 (see {@link chooseMihLayout}). */
  readonly maxWidth?: number;
  /**
   * Entries added since the last compaction are scanned linearly by every search. Above this
   * many, compaction is due. Default 4096: scanning 4096 hashes costs ~15 µs, small next to a
   * search of a 10M bank (~0.5 ms), while compactions stay rare.
   */
  readonly deltaLimit?: number;
  /**
   * Removed entries still referenced by tables cost a wasted candidate check each. Above
   * `max(deltaLimit, size * tombstoneRatio)` of them, compaction is due. Default 0.1.
   */
  readonly tombstoneRatio?: number;
  /**
   * When true (default), each add/remove does a slice of compaction once the delta exceeds
   * `max(deltaLimit, autoCompactRatio * size)`, sized so the job finishes before the delta
   * doubles: merging is incremental, never a stop-the-world rebuild. Set false to drive it
   * yourself with {@link MihPdqIndex.compactStep} (e.g. from idle ticks).
   */
  readonly autoCompact?: boolean;
  /**
   * Automatic compaction waits for the delta to reach this fraction of the index. Default 1/8:
   * a bulk load of n entries then costs O(n * tables) in total instead of O(n^2 / deltaLimit)
   * (each job rebuilds every table). Explicit {@link MihPdqIndex.compactStep} calls (idle ticks)
   * still fold any delta above `deltaLimit`, so call them after a burst of updates.
   */
  readonly autoCompactRatio?: number;
}

/** Memory and state figures of a {@link MihPdqIndex}. */
export interface MihPdqIndexStats {
  /** Live entries. */
  readonly size: number;
  /** Entries scanned linearly (added since the compaction that covers them). */
  readonly deltaSize: number;
  /** Removed ids still referenced by tables or the delta. */
  readonly tombstones: number;
  /** Current substring widths (empty before the first compaction). */
  readonly widths: readonly number[];
  /** Bytes of the tables (bucket starts and ids). */
  readonly tableBytes: number;
  /** Bytes of hash words, liveness flags and dedupe stamps (per id slot). */
  readonly entryBytes: number;
  /** True while a compaction job is in progress. */
  readonly compacting: boolean;
}

/**
 * One table: the ids of every entry in the snapshot it was built from, grouped by the value of
 * the table's substring (bucket), buckets in key order. Bucket `k` starts in `ids` at
 * `start(k) = base[k >>> shift] + cum[k]` and ends at `start(k + 1)`.
 *
 * Why two arrays instead of one `Uint32Array` of offsets: 2^24 offsets take 64 MiB, most of a
 * large index (448 MiB of 868 at 10M entries). Absolute starts are kept for blocks of 64 buckets
 * only; within a block, `cum[k]` counts the entries of the block before bucket `k`, which fits a
 * byte as long as no block holds more than 255 entries (about 38 at 10M uniform hashes). A table
 * with a denser block (e.g. many equal hashes) uses 16 or 32 bits for `cum` instead.
 */
interface Table {
  readonly width: number;
  /** `min(width, 6)`: buckets per block are `2^shift`. */
  readonly shift: number;
  /** Start in `ids` of each block; length `2^(width - shift) + 1` (the last is the id count). */
  readonly base: Uint32Array;
  /** Entries of the block before each bucket; length `2^width + 1`. */
  readonly cum: Uint8Array | Uint16Array | Uint32Array;
  readonly ids: Uint32Array;
}

/** log2 of the buckets per block of a table's `base` array. */
const BLOCK_BITS = 6;

interface Job {
  readonly layout: MihLayout;
  readonly replaceAll: boolean;
  readonly startClock: number;
  readonly high: number;
  readonly snap: Uint8Array;
  readonly liveCount: number;
  readonly built: Table[];
  table: number;
  build: TableBuild | null;
}

/** Extracts `width` bits at `bitOffset` from the 8 words at `h[base..]` (width <= 26). */
function substring(h: Uint32Array, base: number, bitOffset: number, width: number): number {
  const a = bitOffset >>> 5;
  const sh = bitOffset & 31;
  let key = h[base + a] >>> sh;
  if (sh + width > 32) key |= h[base + a + 1] << (32 - sh);
  return (key & ((1 << width) - 1)) >>> 0;
}

/** Entries per hash storage chunk (2^16 × 32 bytes = 2 MiB): growth never copies the whole store. */
const CHUNK_BITS = 16;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
const CHUNK_WORDS = (1 << CHUNK_BITS) * PDQ_WORDS;

/**
 * Candidates verified per block. Verifying a candidate at random in a large store costs a TLB
 * and a cache miss; in a loop that also computes 8 popcounts only 2-3 misses overlap (the
 * reorder window fills with arithmetic). So each block is first touched by a tight loop that
 * only loads each candidate's first word (dozens of misses in flight), then verified while its
 * lines are cached and its pages still in the TLB (256 pages). Measured at 10M uniform hashes,
 * interleaved in one process: 2.2x the queries per CPU-second of the plain loop.
 */
const VERIFY_BLOCK = 256;

/**
 * Scratch buffers of a search. The search runs in phases with independent memory loads in
 * tight loops, so the CPU overlaps many cache misses: (1) bucket bounds for every probe key,
 * (2) ids of non-empty buckets into a candidate list, (3) popcount verification in blocks
 * (see {@link VERIFY_BLOCK}).
 */
class Scratch {
  lo = new Uint32Array(1024);
  hi = new Uint32Array(1024);
  cand = new Uint32Array(4096);
  nCand = 0;
  touched = new Uint32Array(VERIFY_BLOCK);
}

/**
 * Appends to `out` every live id of `ids[0..count)` within `radius` of `q` that is not stamped
 * `gen` yet (a candidate found in several tables is reported once), stamping it.
 */
function verify(
  ids: Uint32Array,
  count: number,
  chunks: Uint32Array[],
  live: Uint8Array,
  stamps: Uint32Array,
  gen: number,
  q: Uint32Array,
  radius: number,
  out: PdqHit[],
  touched: Uint32Array,
): void {
  const q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
  for (let from = 0; from < count; from += VERIFY_BLOCK) {
    const to = Math.min(count, from + VERIFY_BLOCK);
    for (let i = from; i < to; i++) {
      const id = ids[i];
      touched[i - from] = chunks[id >>> CHUNK_BITS][(id & CHUNK_MASK) << 3];
    }
    for (let i = from; i < to; i++) {
      const id = ids[i];
      const h = chunks[id >>> CHUNK_BITS];
      const b = (id & CHUNK_MASK) << 3;
      // The distance only grows word by word: most candidates are rejected after 4 words
      // (128 bits: about 64 apart for unrelated hashes), exactly.
      let d = popcount32(h[b] ^ q0) + popcount32(h[b + 1] ^ q1) + popcount32(h[b + 2] ^ q2) + popcount32(h[b + 3] ^ q3);
      if (d > radius) continue;
      d += popcount32(h[b + 4] ^ q4) + popcount32(h[b + 5] ^ q5) + popcount32(h[b + 6] ^ q6) + popcount32(h[b + 7] ^ q7);
      if (d <= radius && live[id] === 1 && stamps[id] !== gen) {
        stamps[id] = gen;
        out.push({ id, distance: d });
      }
    }
  }
}

/** Phase 1 for one table: bounds of every bucket within `s` bits of `key`. Returns the probe count. */
function probeBounds(sc: Scratch, table: Table, key: number, s: number): number {
  const width = table.width;
  let need = 1;
  for (let k = 1, c = 1; k <= s && k <= width; k++) {
    c = (c * (width - k + 1)) / k;
    need += c;
  }
  if (sc.lo.length < need) {
    sc.lo = new Uint32Array(need);
    sc.hi = new Uint32Array(need);
  }
  const lo = sc.lo;
  const hi = sc.hi;
  const { base, cum, shift } = table;
  let n = 0;
  lo[n] = base[key >>> shift] + cum[key];
  hi[n++] = base[(key + 1) >>> shift] + cum[key + 1];
  if (s === 0) return n;
  if (s > 3) return probeRest(sc, table, key, 0, s, n);
  for (let a = 0; a < width; a++) {
    const ka = key ^ (1 << a);
    lo[n] = base[ka >>> shift] + cum[ka];
    hi[n++] = base[(ka + 1) >>> shift] + cum[ka + 1];
    if (s === 1) continue;
    for (let b = a + 1; b < width; b++) {
      const kb = ka ^ (1 << b);
      lo[n] = base[kb >>> shift] + cum[kb];
      hi[n++] = base[(kb + 1) >>> shift] + cum[kb + 1];
      if (s === 2) continue;
      for (let d = b + 1; d < width; d++) {
        const kd = kb ^ (1 << d);
        lo[n] = base[kd >>> shift] + cum[kd];
        hi[n++] = base[(kd + 1) >>> shift] + cum[kd + 1];
      }
    }
  }
  return n;
}

/** Bounds of every key reached from `key` by flipping 1..left bits at positions >= from. */
function probeRest(sc: Scratch, table: Table, key: number, from: number, left: number, n: number): number {
  const { base, cum, shift } = table;
  for (let bit = from; bit < table.width; bit++) {
    const k = key ^ (1 << bit);
    sc.lo[n] = base[k >>> shift] + cum[k];
    sc.hi[n++] = base[(k + 1) >>> shift] + cum[k + 1];
    if (left > 1) n = probeRest(sc, table, k, bit + 1, left - 1, n);
  }
  return n;
}

/** Phase 2 for one table: appends the ids of the `n` probed buckets to the candidate list. */
function gatherIds(sc: Scratch, ids: Uint32Array, n: number): void {
  const lo = sc.lo;
  const hi = sc.hi;
  let total = sc.nCand;
  for (let i = 0; i < n; i++) total += hi[i] - lo[i];
  if (sc.cand.length < total) {
    const next = new Uint32Array(Math.max(total, sc.cand.length * 2));
    next.set(sc.cand.subarray(0, sc.nCand));
    sc.cand = next;
  }
  const cand = sc.cand;
  let c = sc.nCand;
  for (let i = 0; i < n; i++) {
    for (let j = lo[i], e = hi[i]; j < e; j++) cand[c++] = ids[j];
  }
  sc.nCand = c;
}

/**
 * Buckets per partition of a table build: 2^16 bucket starts and their counters stay in the L2
 * cache while a partition is sorted.
 */
const BUILD_LOW_BITS = 16;

/**
 * One table built from a snapshot of live ids, in resumable slices of about `budget` ids
 * (buckets in key order, ids ascending within a bucket; see {@link Table}).
 *
 * Why partitioned: counting straight into `2^width` bucket counters scatters one random write
 * per id over up to 64 MiB, a TLB and cache miss each (most of a 10M build). Here ids are first
 * split by the key's high bits into at most `2^(width - 16)` partitions (few write streams),
 * then each partition is counting-sorted inside its window of 2^16 buckets. Both passes are
 * stable, so the result is the same as a direct counting sort. Temporary memory: 6 bytes per
 * live id.
 *
 * Phases: 0 block histogram over ids (gives `base`, the partitions and the width of `cum`),
 * 1 scatter (low key bits, id) by partition, 2 count the partition's buckets, 3 place its ids
 * (2 and 3 repeat per partition).
 */
class TableBuild {
  /** The finished table, once the last phase is done. */
  table: Table | null = null;
  private phase = 0;
  private cursor = 0;
  private part = 0;
  private readonly lowBits: number;
  private readonly parts: number;
  private readonly shift: number;
  /** Phase 0: entries per block at `[block + 1]`; then the block starts. */
  private readonly base: Uint32Array;
  private readonly partStart: Uint32Array;
  private fill: Uint32Array | null = null;
  private lowKeys: Uint16Array | null = null;
  private partIds: Uint32Array | null = null;
  private count: Uint32Array | null = null;
  private cum: Uint8Array | Uint16Array | Uint32Array | null = null;
  private ids: Uint32Array | null = null;

  constructor(
    private readonly chunks: Uint32Array[],
    private readonly snap: Uint8Array,
    private readonly high: number,
    private readonly liveCount: number,
    readonly width: number,
    private readonly bitOffset: number,
  ) {
    const highBits = Math.max(0, width - BUILD_LOW_BITS);
    this.lowBits = width - highBits;
    this.parts = 1 << highBits;
    this.shift = Math.min(width, BLOCK_BITS);
    this.base = new Uint32Array((1 << (width - this.shift)) + 1);
    this.partStart = new Uint32Array(this.parts + 1);
  }

  /** Does up to about `budget` units (ids visited); returns the units spent (at least 1). */
  step(budget: number): number {
    const { chunks, snap, width, bitOffset, lowBits, shift } = this;
    const lowMask = (1 << lowBits) - 1;
    if (this.phase <= 1) {
      const end = Math.min(this.high, this.cursor + budget);
      const spent = Math.max(1, end - this.cursor);
      if (this.phase === 0) {
        const base = this.base;
        for (let id = this.cursor; id < end; id++) {
          if (snap[id] === 1) base[(substring(chunks[id >>> CHUNK_BITS], (id & CHUNK_MASK) << 3, bitOffset, width) >>> shift) + 1]++;
        }
      } else {
        const fill = this.fill as Uint32Array;
        const lowKeys = this.lowKeys as Uint16Array;
        const partIds = this.partIds as Uint32Array;
        for (let id = this.cursor; id < end; id++) {
          if (snap[id] !== 1) continue;
          const key = substring(chunks[id >>> CHUNK_BITS], (id & CHUNK_MASK) << 3, bitOffset, width);
          const j = fill[key >>> lowBits]++;
          lowKeys[j] = key & lowMask;
          partIds[j] = id;
        }
      }
      this.cursor = end;
      if (end < this.high) return spent;
      this.cursor = 0;
      if (this.phase === 0) {
        const base = this.base;
        let densest = 0;
        for (let k = 1; k < base.length; k++) {
          densest = Math.max(densest, base[k]);
          base[k] += base[k - 1];
        }
        const partShift = lowBits - shift;
        for (let p = 0; p <= this.parts; p++) this.partStart[p] = base[p << partShift];
        this.fill = this.partStart.slice(0, this.parts);
        this.lowKeys = new Uint16Array(this.liveCount);
        this.partIds = new Uint32Array(this.liveCount);
        const size = (1 << width) + 1;
        this.cum = densest <= 0xff ? new Uint8Array(size) : densest <= 0xffff ? new Uint16Array(size) : new Uint32Array(size);
        this.phase = 1;
        return spent + (base.length >>> 4);
      }
      this.fill = null;
      this.ids = new Uint32Array(this.liveCount);
      this.count = new Uint32Array(1 << lowBits);
      this.phase = 2;
      this.part = 0;
      return spent + ((1 << width) >>> 4);
    }
    const lowKeys = this.lowKeys as Uint16Array;
    const count = this.count as Uint32Array;
    const s = this.partStart[this.part];
    const e = this.partStart[this.part + 1];
    const from = Math.max(s, this.cursor);
    const end = Math.min(e, from + budget);
    let spent = Math.max(1, end - from);
    if (this.phase === 2) {
      for (let j = from; j < end; j++) count[lowKeys[j]]++;
      this.cursor = end;
      if (end < e) return spent;
      // Bucket starts of this partition, into `cum` (relative to their block) and, as placement
      // cursors, into the counters.
      const cum = this.cum as Uint8Array | Uint16Array | Uint32Array;
      const base = this.base;
      const first = this.part << lowBits;
      let at = s;
      for (let k = 0; k < count.length; k++) {
        const bucket = first + k;
        cum[bucket] = at - base[bucket >>> shift];
        const c = count[k];
        count[k] = at;
        at += c;
      }
      this.phase = 3;
      this.cursor = s;
      return spent + (count.length >>> 4);
    }
    const ids = this.ids as Uint32Array;
    const partIds = this.partIds as Uint32Array;
    for (let j = from; j < end; j++) ids[count[lowKeys[j]]++] = partIds[j];
    this.cursor = end;
    if (end < e) return spent;
    count.fill(0);
    spent += count.length >>> 4;
    this.part++;
    this.phase = 2;
    this.cursor = this.partStart[this.part];
    if (this.part < this.parts) return spent;
    // cum[2^width] stays 0: bucket 2^width "starts" at base[last] = the id count.
    this.table = { width, shift, base: this.base, cum: this.cum as Uint8Array | Uint16Array | Uint32Array, ids };
    this.lowKeys = null;
    this.partIds = null;
    this.count = null;
    this.cum = null;
    this.ids = null;
    return spent;
  }
}

/**
 * Exact Hamming-radius search over 256-bit PDQ hashes by multi-index hashing (Norouzi, Punjani
 * and Fleet, "Fast Exact Search in Hamming Space with Multi-Index Hashing").
 *
 * Why this shape: HMA's matcher rebuilds a FAISS index on every list change (memory spikes, a
 * thundering herd at ~10M hashes) and its 16 × 16-bit tables verify ~40k candidates per query
 * at 10M. Here:
 * - The 256 bits are cut into m substrings of about log2(n) bits ({@link chooseMihLayout}); a
 *   query probes each table with every key within `s_t` bits of its substring, with radii from
 *   {@link mihRadii} so that no hash within the radius can be missed. Candidates are verified
 *   by popcount over 8 words, so results are exact for every radius 0..256.
 * - Storage is typed arrays only: 8 `Uint32` words per id (in 2 MiB chunks, so growth copies
 *   nothing big), a liveness byte, a dedupe stamp
 *   (generation-stamped `Uint32Array`, no `Set`), and per table the ids grouped by substring
 *   value with each bucket's start indexed directly by that value (one byte per bucket plus a
 *   4-byte start per 64 buckets, see {@link Table}).
 * - Changes never rebuild the world: adds go to a delta scanned linearly, removes clear the
 *   liveness byte (visible to the next search). Compaction rebuilds ONE table at a time from a
 *   snapshot, in bounded slices, and swaps it in; peak extra memory is one table plus 6 bytes
 *   per live id (a cache-friendly two-level counting sort). Only a change of layout (bank size
 *   changed 4-fold) builds a full new table set before swapping. Removed ids are reused only
 *   once no table references them.
 * - A bulk load ({@link MihPdqIndex.beginBulkLoad}, then {@link MihPdqIndex.compact}) skips the
 *   automatic slices while the index grows and builds every table once at the end.
 *
 * Searches are synchronous and not re-entrant (one shared stamp array).
 */
export class MihPdqIndex implements PdqIndex {
  /** Hash words in chunks of 2^16 entries (the first chunk grows until full). */
  private chunks: Uint32Array[] = [];
  private live: Uint8Array = new Uint8Array(0);
  private stamps: Uint32Array = new Uint32Array(0);
  private generation = 0;
  private high = 0;
  private liveCount = 0;
  private clock = 0;
  /** Ids reusable now (referenced by no table and not in the delta). */
  private readonly freeIds: number[] = [];
  /** Removed ids (and removal clocks) awaiting a compaction that started after their removal. */
  private pendingIds: Uint32Array = new Uint32Array(0);
  private pendingClocks: number[] = [];
  private pendingCount = 0;
  /** Ids added since the covering compaction started, with their add clocks, in clock order. */
  private deltaIds: Uint32Array = new Uint32Array(0);
  private deltaClocks: number[] = [];
  private deltaCount = 0;
  private layout: MihLayout | null = null;
  private tables: Table[] = [];
  private sizeAtLayout = 0;
  private staleCheckedAt = -1;
  private staleAnswer = false;
  private radiiCache = new Map<number, number[]>();
  private job: Job | null = null;
  private bulkLoading = false;
  private readonly scratch = new Scratch();
  private readonly options: MihPdqIndexOptions;

  /** Creates an empty index. @throws InvalidInputError `mih_layout_invalid` for a bad fixed layout. */
  constructor(options: MihPdqIndexOptions = {}) {
    this.options = options;
    if (options.layout) mihLayoutFromWidths(options.layout.widths);
  }

  /**
   * Builds an index from `count` hashes, 8 words each (ids `0..count-1` in order), and compacts
   * it synchronously. `source` is one array, or pieces in order (e.g. slices read from a file
   * one at a time, so the whole input never sits in memory next to the index).
   * @throws InvalidInputError `pdq_hex_invalid` when the source holds fewer than `count` hashes.
   */
  static fromWords(source: Uint32Array | Iterable<Uint32Array>, count: number, options: MihPdqIndexOptions = {}): MihPdqIndex {
    const index = new MihPdqIndex(options);
    index.reserve(count);
    if (count > 0) index.ensureChunk(count - 1);
    let id = 0;
    for (const piece of source instanceof Uint32Array ? [source] : source) {
      for (let w = 0; w + PDQ_WORDS <= piece.length && id < count; ) {
        const ci = id >>> CHUNK_BITS;
        const at = (id & CHUNK_MASK) * PDQ_WORDS;
        const n = Math.min(count - id, (CHUNK_WORDS - at) / PDQ_WORDS, (piece.length - w) / PDQ_WORDS) | 0;
        index.chunks[ci].set(piece.subarray(w, w + n * PDQ_WORDS), at);
        w += n * PDQ_WORDS;
        id += n;
      }
      if (id >= count) break;
    }
    if (id < count) throw new InvalidInputError('pdq_hex_invalid', 'source holds fewer than count hashes');
    index.live.fill(1, 0, count);
    index.high = count;
    index.liveCount = count;
    index.clock = 1;
    index.compact();
    return index;
  }

  /** @inheritDoc */
  get size(): number {
    return this.liveCount;
  }

  /**
   * Pre-allocates the per-id arrays for ids `0..capacity-1` (liveness byte and dedupe stamp,
   * 5 bytes per id). Hash words live in 2 MiB chunks allocated as ids reach them, so growing
   * never copies them.
   */
  reserve(capacity: number): void {
    if (this.live.length >= capacity) return;
    const l = new Uint8Array(capacity);
    l.set(this.live);
    this.live = l;
    this.stamps = new Uint32Array(capacity);
    this.generation = 0;
  }

  /** Makes sure the chunk holding `id` exists and is large enough (the first chunk grows by doubling). */
  private ensureChunk(id: number): void {
    const ci = id >>> CHUNK_BITS;
    const chunks = this.chunks;
    if (chunks.length === 0) chunks.push(new Uint32Array(0));
    const need0 = ci > 0 ? CHUNK_WORDS : Math.min(CHUNK_WORDS, Math.max((id + 1) * PDQ_WORDS, chunks[0].length * 2, 16 * PDQ_WORDS));
    if (chunks[0].length < (ci > 0 ? CHUNK_WORDS : (id + 1) * PDQ_WORDS)) {
      const c = new Uint32Array(need0);
      c.set(chunks[0]);
      chunks[0] = c;
    }
    while (chunks.length <= ci) chunks.push(new Uint32Array(CHUNK_WORDS));
  }

  /** @inheritDoc */
  add(hash: PdqHashInput): number {
    const w = toPdqWords(hash);
    let id: number;
    if (this.freeIds.length > 0) {
      id = this.freeIds.pop() as number;
    } else {
      id = this.high++;
      if (id >= this.live.length) this.reserve(Math.max(16, Math.ceil(this.live.length * 1.25)));
    }
    this.ensureChunk(id);
    this.chunks[id >>> CHUNK_BITS].set(w, (id & CHUNK_MASK) * PDQ_WORDS);
    this.live[id] = 1;
    this.liveCount++;
    const clock = ++this.clock;
    this.deltaIds = growUint32(this.deltaIds, this.deltaCount + 1);
    this.deltaIds[this.deltaCount] = id;
    this.deltaClocks[this.deltaCount] = clock;
    this.deltaCount++;
    this.autoStep();
    return id;
  }

  /** @inheritDoc */
  remove(id: number): boolean {
    if (!this.has(id)) return false;
    this.live[id] = 0;
    this.liveCount--;
    this.pendingIds = growUint32(this.pendingIds, this.pendingCount + 1);
    this.pendingIds[this.pendingCount] = id;
    this.pendingClocks[this.pendingCount] = ++this.clock;
    this.pendingCount++;
    this.autoStep();
    return true;
  }

  /** @inheritDoc */
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.high && this.live[id] === 1;
  }

  /**
   * True when a compaction job is running or due: delta or tombstones above their limits, or the
   * layout stale. A small index (delta within its limit) is never compacted automatically: a
   * linear scan is as fast as tables there.
   */
  get needsCompaction(): boolean {
    if (this.bulkLoading) return false;
    if (this.job) return true;
    if (this.deltaCount > (this.options.deltaLimit ?? 4096)) return true;
    if (this.layout === null) return false;
    const tombLimit = Math.max(this.options.deltaLimit ?? 4096, this.liveCount * (this.options.tombstoneRatio ?? 0.1));
    if (this.pendingCount > tombLimit) return true;
    return this.layoutStale();
  }

  /**
   * Runs compaction to completion, starting a job even if none is due, and re-choosing the
   * automatic layout for the current size (call once after a bulk load; ends
   * {@link beginBulkLoad}'s mode).
   */
  compact(): void {
    this.bulkLoading = false;
    while (this.job) this.compactStep(1 << 24);
    if (this.deltaCount + this.pendingCount > 0 || this.layoutStale(1) || (this.layout === null && this.liveCount > 0)) this.startJob(1);
    while (this.job) this.compactStep(1 << 24);
  }

  /**
   * Starts a bulk load (e.g. a replica replaying the compacted topic at start-up): until the
   * next {@link compact}, adds and removes only append to the delta, with no automatic
   * compaction slices ({@link needsCompaction} is false, {@link compactStep} does nothing), so
   * the tables are built once, by `compact`, for the final size and layout. Searches stay exact
   * meanwhile but scan the whole delta linearly (about 3 ns per entry added since).
   */
  beginBulkLoad(): void {
    this.bulkLoading = true;
  }

  /** True between {@link beginBulkLoad} and the next {@link compact}. */
  get isBulkLoading(): boolean {
    return this.bulkLoading;
  }

  /** The hash of live entry `id`, 64 lowercase hex digits, or undefined when `id` is not live. */
  hashHex(id: number): string | undefined {
    if (!this.has(id)) return undefined;
    return formatPdqWords(this.chunks[id >>> CHUNK_BITS], (id & CHUNK_MASK) * PDQ_WORDS);
  }

  /**
   * Does at most about `budget` units of compaction work (one unit = one id visited for one
   * table), starting a job if one is due. Returns true when no job remains in progress.
   */
  compactStep(budget = 1 << 16): boolean {
    if (!this.job) {
      if (!this.needsCompaction) return true;
      this.startJob();
    }
    let work = budget;
    while (work > 0 && this.job) work -= this.stepJob(this.job, work);
    return this.job === null;
  }

  /** Memory and state figures. */
  stats(): MihPdqIndexStats {
    let tableBytes = 0;
    for (const t of this.tables) tableBytes += t.base.byteLength + t.cum.byteLength + t.ids.byteLength;
    return {
      size: this.liveCount,
      deltaSize: this.deltaCount,
      tombstones: this.pendingCount,
      widths: this.layout ? [...this.layout.widths] : [],
      tableBytes,
      entryBytes: this.chunks.reduce((a, c) => a + c.byteLength, 0) + this.live.byteLength + this.stamps.byteLength,
      compacting: this.job !== null,
    };
  }

  /** @inheritDoc */
  search(query: PdqHashInput, radius: number): PdqHit[] {
    assertRadius(radius);
    const q = toPdqWords(query);
    const chunks = this.chunks;
    const live = this.live;
    const stamps = this.stamps;
    if (this.generation >= 0xfffffffe) {
      stamps.fill(0);
      this.generation = 0;
    }
    const gen = ++this.generation;
    const out: PdqHit[] = [];

    const sc = this.scratch;
    sc.nCand = 0;
    if (this.layout) {
      const radii = this.radiiFor(radius);
      const { bitOffsets } = this.layout;
      for (let t = 0; t < this.tables.length; t++) {
        const s = radii[t];
        if (s < 0) continue;
        const table = this.tables[t];
        const n = probeBounds(sc, table, substring(q, 0, bitOffsets[t], table.width), s);
        gatherIds(sc, table.ids, n);
      }
    }
    // Phase 3: verify the candidates, then every id added since the last compaction.
    verify(sc.cand, sc.nCand, chunks, live, stamps, gen, q, radius, out, sc.touched);
    verify(this.deltaIds, this.deltaCount, chunks, live, stamps, gen, q, radius, out, sc.touched);
    return out.length > 1 ? sortHits(out) : out;
  }

  private radiiFor(radius: number): number[] {
    let r = this.radiiCache.get(radius);
    if (!r) {
      r = mihRadii(this.layout as MihLayout, radius);
      this.radiiCache.set(radius, r);
    }
    return r;
  }

  /**
   * True when the automatic layout should be re-chosen: the size changed `factor`-fold (4 for
   * automatic compaction, 1 for an explicit {@link compact}) and the cost model now picks other
   * widths.
   */
  private layoutStale(factor = 4): boolean {
    if (this.options.layout || this.layout === null) return false;
    const n = this.liveCount;
    const before = this.sizeAtLayout;
    if (n === before || !((n > factor * before && n > 1024) || (n * factor < before && before > 1024))) return false;
    // The cost model is evaluated at most once per 1/16 change in size (not on every add).
    if (this.staleCheckedAt >= 0 && Math.abs(n - this.staleCheckedAt) * 16 <= this.staleCheckedAt) return this.staleAnswer;
    const want = chooseMihLayout(n, { designRadius: this.options.designRadius, maxWidth: this.options.maxWidth });
    this.staleCheckedAt = n;
    this.staleAnswer = want.widths.join() !== (this.layout as MihLayout).widths.join();
    return this.staleAnswer;
  }

  private autoStep(): void {
    if (this.bulkLoading || this.options.autoCompact === false || !this.needsCompaction) return;
    const limit = Math.max(this.options.deltaLimit ?? 4096, Math.floor(this.liveCount * (this.options.autoCompactRatio ?? 1 / 8)));
    if (!this.job && this.deltaCount <= limit && this.pendingCount <= limit && !this.layoutStale()) return;
    const widths = this.options.layout?.widths ?? this.layout?.widths ?? new Array<number>(16).fill(16);
    // A job visits every id twice per table (plus prefix sums over 2^w offsets); spread it over
    // `deltaLimit / 2` mutations so it completes before the delta doubles.
    let jobWork = 0;
    for (const w of widths) jobWork += 2 * (this.high + 1) + 2 * this.liveCount + 3 * ((1 << w) >>> 4);
    this.compactStep(Math.ceil((2 * jobWork) / limit));
  }

  private startJob(staleFactor = 4): void {
    const relayout = this.layout === null || this.layoutStale(staleFactor);
    const layout = this.options.layout
      ? this.options.layout
      : relayout
        ? chooseMihLayout(this.liveCount, { designRadius: this.options.designRadius, maxWidth: this.options.maxWidth })
        : (this.layout as MihLayout);
    const replaceAll = this.layout === null || relayout || layout.widths.length !== this.tables.length;
    this.job = {
      layout,
      replaceAll,
      startClock: ++this.clock,
      high: this.high,
      snap: this.live.slice(0, this.high),
      liveCount: this.liveCount,
      built: [],
      table: 0,
      build: null,
    };
  }

  /** Performs up to `budget` units of `job`; returns the units spent (at least 1). */
  private stepJob(job: Job, budget: number): number {
    if (job.build === null) {
      job.build = new TableBuild(this.chunks, job.snap, job.high, job.liveCount, job.layout.widths[job.table], job.layout.bitOffsets[job.table]);
    }
    const spent = job.build.step(budget);
    const table = job.build.table;
    if (table === null) return spent;
    if (job.replaceAll) job.built.push(table);
    else this.tables[job.table] = table;
    job.build = null;
    job.table++;
    if (job.table === job.layout.widths.length) this.finishJob(job);
    return spent;
  }

  private finishJob(job: Job): void {
    if (job.replaceAll) {
      this.tables = job.built;
      this.layout = job.layout;
      this.radiiCache = new Map();
      this.sizeAtLayout = job.liveCount;
      this.staleCheckedAt = -1;
    }
    // Every table now holds every id live at job.startClock: drop those from the delta.
    let keep = 0;
    while (keep < this.deltaCount && this.deltaClocks[keep] < job.startClock) keep++;
    this.deltaCount -= keep;
    if (this.deltaCount === 0) {
      // After a bulk load the delta held every id: give its buffers back.
      if (this.deltaIds.length > 4096) this.deltaIds = new Uint32Array(0);
      this.deltaClocks = [];
    } else {
      this.deltaIds.copyWithin(0, keep, keep + this.deltaCount);
      this.deltaClocks.splice(0, keep);
    }
    // Ids removed before the job started are in no table and not in the delta: reusable.
    let retired = 0;
    while (retired < this.pendingCount && this.pendingClocks[retired] < job.startClock) {
      this.freeIds.push(this.pendingIds[retired]);
      retired++;
    }
    this.pendingIds.copyWithin(0, retired, this.pendingCount);
    this.pendingClocks.splice(0, retired);
    this.pendingCount -= retired;
    this.job = null;
  }
}
