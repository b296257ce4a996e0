/**
 * The 64×64 → 16×16 DCT of PDQ and its dihedral variants.
 *
 * Why float32 and this order: the reference computes `B = D · A · Dᵀ` with float32 products and
 * float32 running sums, `k` ascending. Summation order changes float32 results, and one flipped
 * coefficient near the median flips a hash bit, so both products keep that order.
 */

const fround = Math.fround;

/**
 * The 16×64 DCT-II basis without the DC row, row-major:
 * `D[i][j] = float32(sqrt(2/64)) · cos(π/128 · (i+1) · (2j+1))`, rounded to float32.
 */
export const DCT_MATRIX: Float32Array = (() => {
  const d = new Float32Array(16 * 64);
  const scale = fround(Math.sqrt(2 / 64));
  const step = Math.PI / 2 / 64;
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos(step * (i + 1) * (2 * j + 1));
  }
  return d;
})();

/**
 * Computes `out = D · a · Dᵀ` (16×16) from the 64×64 block `a`, using `tmp` (16×64) as scratch.
 * Every product and partial sum is rounded to float32, in the reference's order.
 */
export function dct64To16(a: Float32Array, tmp: Float32Array, out: Float32Array): void {
  const d = DCT_MATRIX;
  tmp.fill(0, 0, 16 * 64);
  for (let i = 0; i < 16; i++) {
    const trow = i * 64;
    for (let k = 0; k < 64; k++) {
      const dik = d[i * 64 + k];
      const arow = k * 64;
      for (let j = 0; j < 64; j++) tmp[trow + j] += fround(dik * a[arow + j]);
    }
  }
  for (let i = 0; i < 16; i++) {
    const trow = i * 64;
    for (let j = 0; j < 16; j++) {
      const drow = j * 64;
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = fround(sum + fround(tmp[trow + k] * d[drow + k]));
      out[i * 16 + j] = sum;
    }
  }
}

/**
 * The eight dihedral transforms in the reference's output order: original, rotated 90°
 * counter-clockwise, 180°, 270°, upside-down mirror (flipx), left-right mirror (flipy),
 * transpose (flipplus1), anti-transpose (flipminus1).
 */
export const PDQ_DIHEDRAL_NAMES = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'] as const;

/** Name of one dihedral transform, see {@link PDQ_DIHEDRAL_NAMES}. */
export type PdqDihedralName = (typeof PDQ_DIHEDRAL_NAMES)[number];

/**
 * Applies dihedral transform `which` (index into {@link PDQ_DIHEDRAL_NAMES}) to a 16×16 DCT.
 *
 * Flipping the image along one axis multiplies basis row (or column) `n` by `(-1)^(n+1)` (the
 * DC term is skipped, so index 0 is the first odd-symmetric cosine and changes sign); a
 * transpose of the image transposes the coefficients. Rotations compose the two.
 */
export function dihedralTransform(src: Float32Array, dst: Float32Array, which: number): void {
  for (let i = 0; i < 16; i++) {
    const iEven = (i & 1) === 0;
    for (let j = 0; j < 16; j++) {
      const jEven = (j & 1) === 0;
      const v = src[i * 16 + j];
      switch (which) {
        case 0:
          dst[i * 16 + j] = v;
          break;
        case 1:
          dst[j * 16 + i] = jEven ? -v : v;
          break;
        case 2:
          dst[i * 16 + j] = iEven !== jEven ? -v : v;
          break;
        case 3:
          dst[j * 16 + i] = iEven ? -v : v;
          break;
        case 4:
          dst[i * 16 + j] = iEven ? -v : v;
          break;
        case 5:
          dst[i * 16 + j] = jEven ? -v : v;
          break;
        case 6:
          dst[j * 16 + i] = v;
          break;
        case 7:
          dst[j * 16 + i] = iEven !== jEven ? -v : v;
          break;
        default:
          throw new RangeError('dihedral transform index must be 0..7');
      }
    }
  }
}
