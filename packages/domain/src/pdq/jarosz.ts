/**
 * Jarosz box-filter downsampling, in float32 arithmetic.
 *
 * Why float32: the reference keeps a float32 running sum per line (add the sample entering the
 * window, subtract the one leaving, divide by the number of samples in range). Its rounding
 * drift is part of the reference's output, so every operation here is rounded to float32 in the
 * same order (`Math.fround`, Float32Array stores). JavaScript computes each operation in float64
 * and rounds once, which gives the correctly rounded float32 result for +, -, *, /.
 *
 * Window: for a window `w`, `half = floor((w + 2) / 2)`; output `i` averages inputs
 * `i - (w - half)` .. `i + half - 1`, clipped to the line. Odd windows are symmetric; even windows
 * have one more sample after the centre than before it.
 *
 * Why not one line at a time: a running sum is a serial dependency chain, slow when one line is
 * walked alone. Row passes advance four rows together ({@link boxAlongRows}); column passes
 * advance every column together ({@link boxAcross}, inner loop over columns, memory read
 * sequentially). Each line still sees exactly the reference's sequence of float32 operations.
 */

const fround = Math.fround;

/**
 * Window size of one pass for downsampling a line of `oldSize` samples to `newSize`: two X/Y
 * passes of this width cover one output cell. For PDQ (`newSize` 64) this is `ceil(old / 128)`.
 */
export function jaroszWindowSize(oldSize: number, newSize: number): number {
  return Math.trunc((oldSize + 2 * newSize - 1) / (2 * newSize));
}

/**
 * Box-filters `lines` independent lines of `length` samples each.
 *
 * `src` is step-major: sample `s` of line `l` is `src[s * lines + l]` (for a row-major image,
 * lines are columns and steps are rows). Output sample `s` of line `l` goes to
 * `dst[s * n + l]` (`n` = number of output lines), but only for steps where `writeStep` is
 * absent or non-zero at `s`. `sums` (length ≥ lines) is scratch holding the float32 running
 * sums. With `lineIndex`, only the lines it lists are filtered (`lineIndex[k]` is the source
 * line of output line `k`; `lines` is then the stride of `src`, `n = lineIndex.length`).
 */
export function boxAcross(
  src: Float32Array,
  dst: Float32Array,
  length: number,
  lines: number,
  window: number,
  sums: Float64Array,
  writeStep?: Uint8Array,
  lineIndex?: Int32Array,
): void {
  const half = (window + 2) >> 1;
  const lead = window - half + 1;
  const middle = length - window;
  const n = lineIndex ? lineIndex.length : lines;
  const idx = lineIndex;
  sums.fill(0, 0, n);
  let enter = 0;
  let leave = 0;
  let out = 0;
  let count = 0;
  for (let k = 1; k < half; k++) {
    const e = enter * lines;
    if (idx) for (let l = 0; l < n; l++) sums[l] = fround(sums[l] + src[e + idx[l]]);
    else for (let l = 0; l < n; l++) sums[l] = fround(sums[l] + src[e + l]);
    enter++;
    count++;
  }
  for (let k = 0; k < lead; k++) {
    const e = enter * lines;
    count++;
    const write = writeStep === undefined || writeStep[out] !== 0;
    const o = out * n;
    for (let l = 0; l < n; l++) {
      const s = fround(sums[l] + src[e + (idx ? idx[l] : l)]);
      sums[l] = s;
      if (write) dst[o + l] = s / count;
    }
    enter++;
    out++;
  }
  for (let k = 0; k < middle; k++) {
    const e = enter * lines;
    const d = leave * lines;
    const write = writeStep === undefined || writeStep[out] !== 0;
    const o = out * n;
    if (idx) {
      for (let l = 0; l < n; l++) {
        const i = idx[l];
        const s = fround(fround(sums[l] + src[e + i]) - src[d + i]);
        sums[l] = s;
        if (write) dst[o + l] = s / count;
      }
    } else if (write) {
      for (let l = 0; l < n; l++) {
        const s = fround(fround(sums[l] + src[e + l]) - src[d + l]);
        sums[l] = s;
        dst[o + l] = s / count;
      }
    } else {
      for (let l = 0; l < n; l++) sums[l] = fround(fround(sums[l] + src[e + l]) - src[d + l]);
    }
    enter++;
    leave++;
    out++;
  }
  for (let k = 1; k < half; k++) {
    const d = leave * lines;
    count--;
    const write = writeStep === undefined || writeStep[out] !== 0;
    const o = out * n;
    for (let l = 0; l < n; l++) {
      const s = fround(sums[l] - src[d + (idx ? idx[l] : l)]);
      sums[l] = s;
      if (write) dst[o + l] = s / count;
    }
    leave++;
    out++;
  }
}

/**
 * Index of the source sample for output cell `i` of `outSize` when decimating `size` samples:
 * the cell centre, `trunc((i + 0.5) · size / outSize)`.
 */
export function decimationIndex(i: number, size: number, outSize: number): number {
  return Math.trunc(((i + 0.5) * size) / outSize);
}

/**
 * Box-filters every row of `src` (rows × cols, row-major) along the row. Four rows advance
 * together so that their four independent float32 running sums overlap in the CPU (one chain
 * alone is latency-bound). Output column `x` of row `y` goes to `dst[y * outStride + slot[x]]`
 * when `slot[x] >= 0` (all columns by default, `outStride = cols`).
 */
export function boxAlongRows(src: Float32Array, dst: Float32Array, rows: number, cols: number, window: number, slot: Int32Array, outStride: number): void {
  const half = (window + 2) >> 1;
  const lead = window - half + 1;
  const middle = cols - window;
  let y = 0;
  for (; y + 4 <= rows; y += 4) {
    const b0 = y * cols;
    const b1 = b0 + cols;
    const b2 = b1 + cols;
    const b3 = b2 + cols;
    const o0 = y * outStride;
    const o1 = o0 + outStride;
    const o2 = o1 + outStride;
    const o3 = o2 + outStride;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let enter = 0;
    let leave = 0;
    let out = 0;
    let count = 0;
    for (let k = 1; k < half; k++, enter++) {
      s0 = fround(s0 + src[b0 + enter]);
      s1 = fround(s1 + src[b1 + enter]);
      s2 = fround(s2 + src[b2 + enter]);
      s3 = fround(s3 + src[b3 + enter]);
      count++;
    }
    for (let k = 0; k < lead; k++, enter++, out++) {
      s0 = fround(s0 + src[b0 + enter]);
      s1 = fround(s1 + src[b1 + enter]);
      s2 = fround(s2 + src[b2 + enter]);
      s3 = fround(s3 + src[b3 + enter]);
      count++;
      const at = slot[out];
      if (at >= 0) {
        dst[o0 + at] = s0 / count;
        dst[o1 + at] = s1 / count;
        dst[o2 + at] = s2 / count;
        dst[o3 + at] = s3 / count;
      }
    }
    for (let k = 0; k < middle; k++, enter++, leave++, out++) {
      s0 = fround(fround(s0 + src[b0 + enter]) - src[b0 + leave]);
      s1 = fround(fround(s1 + src[b1 + enter]) - src[b1 + leave]);
      s2 = fround(fround(s2 + src[b2 + enter]) - src[b2 + leave]);
      s3 = fround(fround(s3 + src[b3 + enter]) - src[b3 + leave]);
      const at = slot[out];
      if (at >= 0) {
        dst[o0 + at] = s0 / count;
        dst[o1 + at] = s1 / count;
        dst[o2 + at] = s2 / count;
        dst[o3 + at] = s3 / count;
      }
    }
    for (let k = 1; k < half; k++, leave++, out++) {
      s0 = fround(s0 - src[b0 + leave]);
      s1 = fround(s1 - src[b1 + leave]);
      s2 = fround(s2 - src[b2 + leave]);
      s3 = fround(s3 - src[b3 + leave]);
      count--;
      const at = slot[out];
      if (at >= 0) {
        dst[o0 + at] = s0 / count;
        dst[o1 + at] = s1 / count;
        dst[o2 + at] = s2 / count;
        dst[o3 + at] = s3 / count;
      }
    }
  }
  for (; y < rows; y++) {
    const b = y * cols;
    const o = y * outStride;
    let s0 = 0;
    let enter = 0;
    let leave = 0;
    let out = 0;
    let count = 0;
    for (let k = 1; k < half; k++, enter++) {
      s0 = fround(s0 + src[b + enter]);
      count++;
    }
    for (let k = 0; k < lead; k++, enter++, out++) {
      s0 = fround(s0 + src[b + enter]);
      count++;
      if (slot[out] >= 0) dst[o + slot[out]] = s0 / count;
    }
    for (let k = 0; k < middle; k++, enter++, leave++, out++) {
      s0 = fround(fround(s0 + src[b + enter]) - src[b + leave]);
      if (slot[out] >= 0) dst[o + slot[out]] = s0 / count;
    }
    for (let k = 1; k < half; k++, leave++, out++) {
      s0 = fround(s0 - src[b + leave]);
      count--;
      if (slot[out] >= 0) dst[o + slot[out]] = s0 / count;
    }
  }
}

/** Scratch space for {@link jaroszDownsample64}; reuse it across calls. */
export class JaroszScratch {
  sums = new Float64Array(512);
  tmp = new Float32Array(512 * 512);
  allCols = new Int32Array(512).map((_, i) => i);
  sampledSlot = new Int32Array(512);
  writeRows = new Uint8Array(512);
  narrow = new Float32Array(512 * 64);

  /** Grows the buffers to hold a rows × cols plane. */
  ensure(rows: number, cols: number): void {
    const n = rows * cols;
    if (n > this.tmp.length) this.tmp = new Float32Array(n);
    const m = Math.max(rows, cols);
    if (m > this.sums.length) {
      this.sums = new Float64Array(m);
      this.allCols = new Int32Array(m).map((_, i) => i);
      this.sampledSlot = new Int32Array(m);
      this.writeRows = new Uint8Array(m);
    }
  }
}

/**
 * Two Jarosz passes over a row-major luma plane, then decimation to 64×64 (row-major, into
 * `out`). Equivalent to the reference's row pass, column pass, row pass, column pass and centre
 * sampling; values that decimation never reads are not written (their running sums are still
 * advanced, so every kept value is bit-identical). `luma` is overwritten.
 */
export function jaroszDownsample64(luma: Float32Array, rows: number, cols: number, out: Float32Array, scratch: JaroszScratch): void {
  scratch.ensure(rows, cols);
  const wAlongRows = jaroszWindowSize(cols, 64);
  const wAlongCols = jaroszWindowSize(rows, 64);
  const { sums, tmp, allCols, sampledSlot, writeRows } = scratch;
  sampledSlot.fill(-1, 0, cols);
  writeRows.fill(0, 0, rows);
  for (let i = 0; i < 64; i++) {
    writeRows[decimationIndex(i, rows, 64)] = 1;
    sampledSlot[decimationIndex(i, cols, 64)] = i;
  }
  // Pass 1: rows, then columns (across: every column advances together), back into `luma`.
  boxAlongRows(luma, tmp, rows, cols, wAlongRows, allCols, cols);
  boxAcross(tmp, luma, rows, cols, wAlongCols, sums);
  // Pass 2: rows, keeping only the 64 sampled columns (rows × 64, row-major)...
  if (rows * 64 > scratch.narrow.length) scratch.narrow = new Float32Array(rows * 64);
  const narrow = scratch.narrow;
  boxAlongRows(luma, narrow, rows, cols, wAlongRows, sampledSlot, 64);
  // ... then those 64 columns, keeping only the sampled rows.
  boxAcross(narrow, tmp, rows, 64, wAlongCols, sums, writeRows);
  // Narrow column of each output column (images under 64 wide sample some columns twice).
  for (let i = 0; i < 64; i++) {
    const y = decimationIndex(i, rows, 64) * 64;
    for (let j = 0; j < 64; j++) out[i * 64 + j] = tmp[y + sampledSlot[decimationIndex(j, cols, 64)]];
  }
}
