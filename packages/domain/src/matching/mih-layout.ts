import { InvalidInputError } from '../errors';
import { PDQ_BITS } from './hash-words';

/**
 * How multi-index hashing splits the 256 bits of a PDQ hash into substrings, one hash table
 * each. Table `t` covers bits `bitOffsets[t] .. bitOffsets[t] + widths[t] - 1`.
 */
export interface MihLayout {
  /** Substring width in bits of each table (1..26). Sums to 256. */
  readonly widths: readonly number[];
  /** First bit of each table's substring. */
  readonly bitOffsets: readonly number[];
}

/** Widest substring a table may use: a table indexes its buckets directly (`2^width + 1` bucket starts). */
export const MIH_MAX_WIDTH = 26;

/** Builds a layout from explicit substring widths (must sum to 256, each 1..26). @throws InvalidInputError `mih_layout_invalid`. */
export function mihLayoutFromWidths(widths: readonly number[]): MihLayout {
  let sum = 0;
  const bitOffsets: number[] = [];
  for (const w of widths) {
    if (!Number.isInteger(w) || w < 1 || w > MIH_MAX_WIDTH) {
      throw new InvalidInputError('mih_layout_invalid', `substring width must be 1..${MIH_MAX_WIDTH}`);
    }
    bitOffsets.push(sum);
    sum += w;
  }
  if (sum !== PDQ_BITS) throw new InvalidInputError('mih_layout_invalid', 'substring widths must sum to 256');
  return { widths: [...widths], bitOffsets };
}

/**
 * Splits 256 bits into `m` substrings as evenly as possible (the `256 mod m` wider ones first).
 * E.g. `m = 16` gives 16 × 16 bits (FAISS/HMA's layout); `m = 11` gives 3 × 24 + 8 × 23.
 * @throws InvalidInputError `mih_layout_invalid` when a substring would be wider than 26 bits.
 */
export function mihLayoutForTables(m: number): MihLayout {
  if (!Number.isInteger(m) || m < 1 || m > PDQ_BITS) throw new InvalidInputError('mih_layout_invalid', 'table count must be 1..256');
  const base = Math.floor(PDQ_BITS / m);
  const extra = PDQ_BITS % m;
  const widths: number[] = [];
  for (let t = 0; t < m; t++) widths.push(base + (t < extra ? 1 : 0));
  return mihLayoutFromWidths(widths);
}

/** Layout with substrings of (about) `width` bits: `ceil(256 / width)` tables. */
export function mihLayoutForWidth(width: number): MihLayout {
  return mihLayoutForTables(Math.ceil(PDQ_BITS / width));
}

/**
 * Per-table search radii that make multi-index hashing exact for Hamming radius `radius`.
 *
 * Generalised pigeonhole: if table `t` is probed with every key within `s_t` bits of the query's
 * substring and `sum(s_t + 1) >= radius + 1`, then every hash within `radius` of the query
 * differs from it by at most `s_t` bits in at least one substring, so it is found. We spend the
 * `radius + 1` budget as evenly as possible (Norouzi et al.'s `floor(r/m)` rule, tightened: with
 * 16 tables and r = 31 every table gets 1, as in FAISS; with 11 tables, ten get 2 and one gets 1).
 * Wider tables get the larger radii (fewer candidates per probe). `-1` means "skip this table".
 */
export function mihRadii(layout: MihLayout, radius: number): number[] {
  const m = layout.widths.length;
  const budget = radius + 1;
  const q = Math.floor(budget / m);
  const rem = budget - q * m;
  const order = layout.widths.map((w, t) => ({ w, t })).sort((a, b) => b.w - a.w || a.t - b.t);
  const radii = new Array<number>(m).fill(0);
  order.forEach(({ w, t }, rank) => {
    radii[t] = Math.min(w, q - 1 + (rank < rem ? 1 : 0));
  });
  return radii;
}

function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Expected work and memory of one search, for uniformly random hashes (see {@link estimateMihCost}). */
export interface MihCostEstimate {
  /** Bucket lookups per query (keys enumerated across tables). */
  readonly probes: number;
  /** Expected candidates verified per query (`sum probes_t * n / 2^w_t`). */
  readonly candidates: number;
  /** Cost in "cache misses": a probe is about one miss, a candidate about two (id, then hash). */
  readonly cost: number;
  /**
   * Bytes of the tables: per table, `2^w_t + 1` one-byte bucket starts within their block, a
   * 4-byte start per block of 64 buckets, and `4 * n` ids (a table whose 64-bucket blocks hold
   * more than 255 entries, e.g. many equal hashes, takes 2 or 4 bytes per bucket instead).
   */
  readonly tableBytes: number;
}

/** Estimates the cost of searching `n` uniformly random hashes at `radius` with `layout`. */
export function estimateMihCost(layout: MihLayout, n: number, radius: number): MihCostEstimate {
  const radii = mihRadii(layout, radius);
  let probes = 0;
  let candidates = 0;
  let tableBytes = 0;
  layout.widths.forEach((w, t) => {
    let p = 0;
    for (let k = 0; k <= radii[t]; k++) p += binomial(w, k);
    probes += p;
    candidates += (p * n) / 2 ** w;
    tableBytes += 2 ** w + 1 + 4 * (Math.ceil(2 ** w / 64) + 1) + 4 * n;
  });
  return { probes, candidates, cost: probes + 2 * candidates, tableBytes };
}

/** Options of {@link chooseMihLayout}. */
export interface MihLayoutChoiceOptions {
  /** Radius the layout is tuned for (any radius still searches exactly). Default 31. */
  readonly designRadius?: number;
  /**
   * Widest substring allowed. Default 24: a 24-bit table's bucket starts take 17 MiB, worth it only
   * from ~8M entries; the log2 rule below keeps smaller banks on narrower tables.
   */
  readonly maxWidth?: number;
}

/**
 * Picks the layout for a bank of `n` hashes.
 *
 * Norouzi et al. (multi-index hashing) choose substrings of about `log2 n` bits, so each bucket
 * holds about one entry. We enumerate table counts m = ceil(256 / maxWidth) .. 32 whose widest
 * substring is at most `min(maxWidth, max(8, round(log2 n) + 2))` bits, estimate the query cost
 * of each with {@link estimateMihCost}, and keep the cheapest. Examples at r = 31: 1M hashes →
 * 12 tables (4 × 22 + 8 × 21 bits, bucket starts 34 MiB); 10M → 11 tables (3 × 24 + 8 × 23,
 * bucket starts 119 MiB); 10k → 16 or more tables of ≤ 16 bits.
 */
export function chooseMihLayout(n: number, options: MihLayoutChoiceOptions = {}): MihLayout {
  const radius = options.designRadius ?? 31;
  const maxWidth = Math.min(options.maxWidth ?? 24, MIH_MAX_WIDTH);
  const allowed = Math.min(maxWidth, Math.max(8, Math.round(Math.log2(Math.max(n, 2))) + 2));
  let best: MihLayout | null = null;
  let bestCost = Infinity;
  for (let m = Math.ceil(PDQ_BITS / maxWidth); m <= 32; m++) {
    const layout = mihLayoutForTables(m);
    if (Math.max(...layout.widths) > allowed) continue;
    const { cost } = estimateMihCost(layout, n, radius);
    if (cost < bestCost) {
      bestCost = cost;
      best = layout;
    }
  }
  return best ?? mihLayoutForTables(32);
}
