/**
 * Compact storage for bank entries: columns of typed arrays instead of one JS object per entry.
 *
 * Why: a matcher replica holds every entry of every bank. As objects (id string, labels array,
 * list version, hash hex, flags) an entry costs about 300-500 bytes of JS heap, more than the
 * PDQ index itself (about 130 bytes per hash at 10M). Here an entry is one row: its id's UTF-8
 * bytes in a per-group byte heap, a slot in an open-addressing hash table, and fixed-width
 * columns. Label sets and list versions repeat across thousands of entries, so they are
 * interned (reference-counted) and a row stores one number for both. Hashes are not stored
 * here at all: the indexes already hold them.
 *
 * Rows are allocated in groups of 2^16, so growth never copies a large array; a group's id heap
 * is compacted on its own when half of it is garbage (bounded work, no global pause).
 */

/** Rows per group (2^16). */
const GROUP_BITS = 16;
const GROUP_MASK = (1 << GROUP_BITS) - 1;
const GROUP_ROWS = 1 << GROUP_BITS;

/** Longest entry id accepted, in UTF-8 bytes (the bank rules allow 256 characters). */
export const MAX_ENTRY_ID_BYTES = 0xffff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Growable `Int32Array` in chunks of 2^16 (the first grows by doubling): never copies a large array. */
export class ChunkedInt32Array {
  private chunks: Int32Array[] = [];

  /** @param fill - value of never-written elements. */
  constructor(private readonly fill = -1) {}

  /** Element `i`, or the fill value when never written. */
  get(i: number): number {
    const c = this.chunks[i >>> GROUP_BITS];
    const j = i & GROUP_MASK;
    return c !== undefined && j < c.length ? c[j] : this.fill;
  }

  /** Sets element `i` (any non-negative integer index), allocating its chunk when needed. */
  set(i: number, value: number): void {
    const ci = i >>> GROUP_BITS;
    const j = i & GROUP_MASK;
    let c = this.chunks[ci];
    if (c === undefined || j >= c.length) c = this.grow(ci, j);
    c[j] = value;
  }

  /** Bytes allocated. */
  get byteLength(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== undefined) n += c.byteLength;
    return n;
  }

  /** Makes chunks before `ci` full and chunk `ci` hold index `j` (chunks grow by doubling). */
  private grow(ci: number, j: number): Int32Array {
    for (let k = 0; k <= ci; k++) {
      const old = this.chunks[k] as Int32Array | undefined;
      const want = k < ci ? GROUP_ROWS : Math.min(GROUP_ROWS, Math.max(16, (old?.length ?? 0) * 2, j + 1));
      if (old !== undefined && old.length >= want) continue;
      const next = new Int32Array(want);
      if (this.fill !== 0) next.fill(this.fill);
      if (old !== undefined) next.set(old);
      this.chunks[k] = next;
    }
    return this.chunks[ci];
  }
}

/**
 * Reference-counted interning: equal values (by key) share one small integer id and one
 * instance. Ids of released values are reused.
 */
export class Interner<T> {
  private readonly byKey = new Map<string, number>();
  private values: (T | undefined)[] = [];
  private keys: (string | undefined)[] = [];
  private refs = new Uint32Array(16);
  private readonly free: number[] = [];

  /** Distinct live values. */
  get size(): number {
    return this.byKey.size;
  }

  /** The id of the value with `key` (made by `make` when absent), with one more reference. */
  acquire(key: string, make: () => T): number {
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.free.length > 0 ? (this.free.pop() as number) : this.values.length;
      if (id >= this.refs.length) {
        const next = new Uint32Array(this.refs.length * 2);
        next.set(this.refs);
        this.refs = next;
      }
      this.values[id] = make();
      this.keys[id] = key;
      this.byKey.set(key, id);
    }
    this.refs[id]++;
    return id;
  }

  /** Drops one reference to `id`; the value is forgotten with its last reference. */
  release(id: number): void {
    if (--this.refs[id] > 0) return;
    this.byKey.delete(this.keys[id] as string);
    this.values[id] = undefined;
    this.keys[id] = undefined;
    this.free.push(id);
  }

  /** The value of a live id. */
  get(id: number): T {
    return this.values[id] as T;
  }
}

/** What rows of a bank share: the labels and the list version that last changed them. */
export interface EntryMeta {
  /** Frozen; shared by every entry with these labels and list version. */
  readonly labels: readonly string[];
  /** Version of the list that last added or changed the entry. */
  readonly listVersion: string;
}

/** Interning key of an {@link EntryMeta} (labels never contain a newline; the version is length-prefixed). */
export function entryMetaKey(labels: readonly string[], listVersion: string): string {
  return `${listVersion.length}:${listVersion}|${labels.join('\n')}`;
}

class RowGroup {
  capacity: number;
  idOffset: Uint32Array;
  idLength: Uint16Array;
  meta: Uint32Array;
  flags: Uint8Array;
  updatedAtMs: Float64Array;
  indexId: Int32Array;
  heap: Uint8Array;
  heapUsed = 0;
  heapGarbage = 0;
  /** Ids with bytes in the heap. */
  idCount = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.idOffset = new Uint32Array(capacity);
    this.idLength = new Uint16Array(capacity);
    this.meta = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.updatedAtMs = new Float64Array(capacity);
    this.indexId = new Int32Array(capacity);
    this.heap = new Uint8Array(Math.min(capacity * 16, 4096));
  }

  /** Grows the columns to `capacity` rows (only the last group grows, up to 2^16). */
  grow(capacity: number): void {
    const copy = <A extends Uint32Array | Uint16Array | Uint8Array | Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
      const b = make(capacity);
      b.set(a as never);
      return b;
    };
    this.idOffset = copy(this.idOffset, (n) => new Uint32Array(n));
    this.idLength = copy(this.idLength, (n) => new Uint16Array(n));
    this.meta = copy(this.meta, (n) => new Uint32Array(n));
    this.flags = copy(this.flags, (n) => new Uint8Array(n));
    this.updatedAtMs = copy(this.updatedAtMs, (n) => new Float64Array(n));
    this.indexId = copy(this.indexId, (n) => new Int32Array(n));
    this.capacity = capacity;
  }

  get byteLength(): number {
    return this.capacity * (4 + 2 + 4 + 1 + 8 + 4) + this.heap.byteLength;
  }
}

/** Row flag: the row holds an entry. */
export const ROW_LIVE = 1;
/** Row flag: disabled by a person. */
export const ROW_DISABLED = 2;
/** Row flag: quarantined after a flood. */
export const ROW_QUARANTINED = 4;
/** Rows keep a 2-bit algorithm code at this shift in their flags. */
export const ROW_ALGORITHM_SHIFT = 4;

/**
 * The entries of one bank as rows: entry id (string) ↔ row number, plus fixed-width columns
 * (meta id, flags, `updatedAtMs`, id in the algorithm's index). Row numbers of deleted entries
 * are reused. Not thread-safe; callers keep the columns' meaning (see {@link ROW_LIVE} etc.).
 */
export class EntryStore {
  private groups: RowGroup[] = [];
  private high = 0;
  private count = 0;
  private freeRows: number[] = [];
  /** Open addressing, linear probing: row + 1 per slot, 0 = empty. */
  private slots = new Int32Array(16);
  private scratch = new Uint8Array(1024);

  /** Live rows. */
  get size(): number {
    return this.count;
  }

  /** Rows ever allocated (live rows are below this). */
  get rowLimit(): number {
    return this.high;
  }

  /** The row of `entryId`, or -1. */
  find(entryId: string): number {
    const n = this.encode(entryId);
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hashBytes(this.scratch, 0, n) & mask; ; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === 0) return -1;
      if (this.equals(s - 1, n)) return s - 1;
    }
  }

  /**
   * Adds a row for `entryId` (which must not be present) with every column zero except
   * {@link ROW_LIVE}; returns its row number.
   * @throws RangeError when the id is longer than {@link MAX_ENTRY_ID_BYTES} (a programmer error: bank rules allow 256 characters).
   */
  insert(entryId: string): number {
    const n = this.encode(entryId);
    if (n > MAX_ENTRY_ID_BYTES) throw new RangeError('entry id too long');
    if ((this.count + 1) * 10 > this.slots.length * 7) this.rehash(this.slots.length * 2);
    const row = this.freeRows.length > 0 ? (this.freeRows.pop() as number) : this.high++;
    const g = this.group(row);
    const r = row & GROUP_MASK;
    this.writeId(g, r, n);
    g.meta[r] = 0;
    g.flags[r] = ROW_LIVE;
    g.updatedAtMs[r] = 0;
    g.indexId[r] = -1;
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hashBytes(this.scratch, 0, n) & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = row + 1;
    this.count++;
    return row;
  }

  /** Deletes a live row: frees its id bytes and its number. */
  delete(row: number): void {
    const g = this.groups[row >>> GROUP_BITS];
    const r = row & GROUP_MASK;
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.home(row) & mask;
    while (slots[i] !== row + 1) i = (i + 1) & mask;
    // Backward-shift deletion: no tombstones, probe chains stay short.
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const k = this.home(slots[j] - 1) & mask;
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      slots[i] = slots[j];
      i = j;
    }
    slots[i] = 0;
    g.heapGarbage += g.idLength[r];
    g.idLength[r] = 0;
    g.idCount--;
    g.flags[r] = 0;
    g.indexId[r] = -1;
    this.freeRows.push(row);
    this.count--;
    if (g.heapGarbage > 4096 && g.heapGarbage * 2 > g.heapUsed) this.compactHeap(g);
  }

  /** The entry id of a live row. */
  entryId(row: number): string {
    const g = this.groups[row >>> GROUP_BITS];
    const r = row & GROUP_MASK;
    const off = g.idOffset[r];
    const len = g.idLength[r];
    const heap = g.heap;
    for (let k = off; k < off + len; k++) {
      if (heap[k] >= 0x80) return decoder.decode(heap.subarray(off, off + len));
    }
    return String.fromCharCode.apply(null, heap.subarray(off, off + len) as unknown as number[]);
  }

  /** Flags of a row (0 when free). */
  flags(row: number): number {
    return this.groups[row >>> GROUP_BITS].flags[row & GROUP_MASK];
  }

  /** Sets the flags of a live row ({@link ROW_LIVE} is kept). */
  setFlags(row: number, flags: number): void {
    this.groups[row >>> GROUP_BITS].flags[row & GROUP_MASK] = flags | ROW_LIVE;
  }

  /** Meta id of a row. */
  meta(row: number): number {
    return this.groups[row >>> GROUP_BITS].meta[row & GROUP_MASK];
  }

  /** Sets the meta id of a row. */
  setMeta(row: number, meta: number): void {
    this.groups[row >>> GROUP_BITS].meta[row & GROUP_MASK] = meta;
  }

  /** `updatedAtMs` of a row. */
  updatedAtMs(row: number): number {
    return this.groups[row >>> GROUP_BITS].updatedAtMs[row & GROUP_MASK];
  }

  /** Sets `updatedAtMs` of a row. */
  setUpdatedAtMs(row: number, ms: number): void {
    this.groups[row >>> GROUP_BITS].updatedAtMs[row & GROUP_MASK] = ms;
  }

  /** Id of the row's hash in its algorithm's index, or -1 when not indexed. */
  indexId(row: number): number {
    return this.groups[row >>> GROUP_BITS].indexId[row & GROUP_MASK];
  }

  /** Sets the row's index id (-1 = not indexed). */
  setIndexId(row: number, id: number): void {
    this.groups[row >>> GROUP_BITS].indexId[row & GROUP_MASK] = id;
  }

  /** Bytes allocated by the rows, the id bytes and the hash table. */
  get byteLength(): number {
    let n = this.slots.byteLength;
    for (const g of this.groups) n += g.byteLength;
    return n;
  }

  private group(row: number): RowGroup {
    const gi = row >>> GROUP_BITS;
    const r = row & GROUP_MASK;
    let g = this.groups[gi];
    if (g === undefined) {
      g = new RowGroup(gi === 0 ? 16 : GROUP_ROWS);
      this.groups[gi] = g;
      if (gi > 0 && this.groups[gi - 1].capacity < GROUP_ROWS) this.groups[gi - 1].grow(GROUP_ROWS);
    }
    if (r >= g.capacity) g.grow(Math.min(GROUP_ROWS, Math.max(r + 1, g.capacity * 2)));
    return g;
  }

  /** UTF-8 of `s` into the scratch buffer; returns its length. */
  private encode(s: string): number {
    const n = s.length;
    if (this.scratch.length < 3 * n) this.scratch = new Uint8Array(3 * n);
    const out = this.scratch;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return encoder.encodeInto(s, out).written;
      out[i] = c;
    }
    return n;
  }

  private equals(row: number, n: number): boolean {
    const g = this.groups[row >>> GROUP_BITS];
    const r = row & GROUP_MASK;
    if (g.idLength[r] !== n) return false;
    const heap = g.heap;
    const off = g.idOffset[r];
    const s = this.scratch;
    for (let k = 0; k < n; k++) if (heap[off + k] !== s[k]) return false;
    return true;
  }

  private home(row: number): number {
    const g = this.groups[row >>> GROUP_BITS];
    const r = row & GROUP_MASK;
    return hashBytes(g.heap, g.idOffset[r], g.idLength[r]);
  }

  private writeId(g: RowGroup, r: number, n: number): void {
    if (g.heapUsed + n > g.heap.length) {
      if (g.heapGarbage * 2 > g.heapUsed) this.compactHeap(g);
      if (g.heapUsed + n > g.heap.length) {
        // Grow 1.5-fold, or to what the group's rows need at the average id length so far
        // (a full group of 24-byte ids would otherwise waste up to a third of its heap), but
        // always by at least 1/16 so appends never copy the heap each time.
        const len = g.heap.length;
        let size = Math.ceil(len * 1.5);
        if (g.idCount >= 64) size = Math.min(size, Math.ceil((g.heapUsed / g.idCount) * g.capacity * 1.02));
        size = Math.max(size, g.heapUsed + n, len + Math.max(4096, len >>> 4));
        const next = new Uint8Array(size);
        next.set(g.heap.subarray(0, g.heapUsed));
        g.heap = next;
      }
    }
    g.heap.set(this.scratch.subarray(0, n), g.heapUsed);
    g.idOffset[r] = g.heapUsed;
    g.idLength[r] = n;
    g.heapUsed += n;
    g.idCount++;
  }

  /** Rewrites a group's id heap without garbage (at most 2^16 ids: bounded work). */
  private compactHeap(g: RowGroup): void {
    const live = g.heapUsed - g.heapGarbage;
    const next = new Uint8Array(Math.max(64, Math.ceil(live * 1.25)));
    let at = 0;
    for (let r = 0; r < g.capacity; r++) {
      if ((g.flags[r] & ROW_LIVE) === 0) continue;
      const off = g.idOffset[r];
      const len = g.idLength[r];
      next.set(g.heap.subarray(off, off + len), at);
      g.idOffset[r] = at;
      at += len;
    }
    g.heap = next;
    g.heapUsed = at;
    g.heapGarbage = 0;
  }

  private rehash(capacity: number): void {
    const slots = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let row = 0; row < this.high; row++) {
      if ((this.flags(row) & ROW_LIVE) === 0) continue;
      let i = this.home(row) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = row + 1;
    }
    this.slots = slots;
  }
}

/**
 * FNV-1a over bytes, then a shift-add avalanche (Jenkins' one-at-a-time finish) so the low bits
 * suit power-of-two tables. Shift-adds instead of `Math.imul`: no global lookup, which is slow
 * inside vm contexts such as jest's; the same speed in plain Node.
 */
function hashBytes(b: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let k = off; k < off + len; k++) {
    h ^= b[k];
    h = (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) | 0;
  }
  h = (h + (h << 3)) | 0;
  h ^= h >>> 11;
  h = (h + (h << 15)) | 0;
  h ^= h >>> 16;
  return h >>> 0;
}
