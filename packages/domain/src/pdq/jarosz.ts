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
 * Why "across" and transposed: a running sum is a serial dependency chain, slow when one line is
 * walked at a time. {@link boxAcross} advances many independent lines together (the inner loop
 * runs over lines, reading memory sequentially) and writes its output transposed, so the next
 * pass, along the other axis, is again an "across" pass. Each line still sees exactly the
 * reference's sequence of float32 operations.
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
 * `src` is step-major: sample `s` of line `l` is `src[s * lines + l]`. Output sample `s` of line
 * `l` goes to `dst[l * length + s]` (transposed), but only for steps where `writeStep` is absent
 * or non-zero at `s`. `sums` (length ≥ lines) is scratch holding the float32 running sums.
 * With `lineIndex`, only the lines it lists are filtered (`lineIndex[n]` is the source line of
 * output line `n`; `lines` is then the stride of `src` and the output has `lineIndex.length` lines).
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
    for (let l = 0; l < n; l++) {
      const s = fround(sums[l] + src[e + (idx ? idx[l] : l)]);
      sums[l] = s;
      if (write) dst[l * length + out] = s / count;
    }
    enter++;
    out++;
  }
  for (let k = 0; k < middle; k++) {
    const e = enter * lines;
    const d = leave * lines;
    const write = writeStep === undefined || writeStep[out] !== 0;
    if (idx) {
      for (let l = 0; l < n; l++) {
        const i = idx[l];
        const s = fround(fround(sums[l] + src[e + i]) - src[d + i]);
        sums[l] = s;
        if (write) dst[l * length + out] = s / count;
      }
    } else if (write) {
      for (let l = 0; l < n; l++) {
        const s = fround(fround(sums[l] + src[e + l]) - src[d + l]);
        sums[l] = s;
        dst[l * length + out] = s / count;
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
    for (let l = 0; l < n; l++) {
      const s = fround(sums[l] - src[d + (idx ? idx[l] : l)]);
      sums[l] = s;
      if (write) dst[l * length + out] = s / count;
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

/** Scratch space for {@link jaroszDownsample64}; reuse it across calls. */
export class JaroszScratch {
  sums = new Float64Array(512);
  tmp = new Float32Array(512 * 512);
  writeRows = new Uint8Array(512);
  writeCols = new Uint8Array(512);
  readonly sampledCols = new Int32Array(64);

  /** Grows the buffers to hold a rows × cols plane. */
  ensure(rows: number, cols: number): void {
    const n = rows * cols;
    if (n > this.tmp.length) this.tmp = new Float32Array(n);
    const m = Math.max(rows, cols);
    if (m > this.sums.length) {
      this.sums = new Float64Array(m);
      this.writeRows = new Uint8Array(m);
      this.writeCols = new Uint8Array(m);
    }
  }
}

/**
 * Two Jarosz passes over a luma plane stored column-major (`lumaT[x * rows + y]`), then
 * decimation to 64×64 (row-major, into `out`). Equivalent to the reference's row pass, column
 * pass, row pass, column pass and centre sampling; values that decimation never reads are not
 * written (their running sums are still advanced, so every kept value is bit-identical).
 * `lumaT` is overwritten.
 */
export function jaroszDownsample64(lumaT: Float32Array, rows: number, cols: number, out: Float32Array, scratch: JaroszScratch): void {
  scratch.ensure(rows, cols);
  const wAlongRows = jaroszWindowSize(cols, 64);
  const wAlongCols = jaroszWindowSize(rows, 64);
  const { sums, tmp, sampledCols, writeRows, writeCols } = scratch;
  writeRows.fill(0, 0, rows);
  writeCols.fill(0, 0, cols);
  for (let i = 0; i < 64; i++) {
    writeRows[decimationIndex(i, rows, 64)] = 1;
    const c = decimationIndex(i, cols, 64);
    writeCols[c] = 1;
    sampledCols[i] = c;
  }
  // Pass 1: along rows (lines = image rows, steps = x): column-major in, row-major out.
  boxAcross(lumaT, tmp, cols, rows, wAlongRows, sums);
  // Pass 1: along columns (lines = x, steps = y): row-major in, column-major out.
  boxAcross(tmp, lumaT, rows, cols, wAlongCols, sums);
  // Pass 2 along rows: only the sampled columns are ever read afterwards.
  boxAcross(lumaT, tmp, cols, rows, wAlongRows, sums, writeCols);
  // Pass 2 along columns, only for the sampled columns; keep only the sampled rows.
  const colsOut = lumaT.length >= 64 * rows ? lumaT : new Float32Array(64 * rows);
  boxAcross(tmp, colsOut, rows, cols, wAlongCols, sums, writeRows, sampledCols);
  for (let i = 0; i < 64; i++) {
    const y = decimationIndex(i, rows, 64);
    for (let j = 0; j < 64; j++) out[i * 64 + j] = colsOut[j * rows + y];
  }
}
