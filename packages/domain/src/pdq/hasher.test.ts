import { PDQ_DIHEDRAL_NAMES } from './dct';
import { pdqDistance } from './distance';
import { PdqHasher, pdqHashLuma, pdqHashPixels } from './hasher';
import { JaroszScratch, jaroszDownsample64, jaroszWindowSize } from './jarosz';
import { pdqBytesToHex } from './layout';

const fround = Math.fround;

// The plain reference filter below is slow by design; allow for a loaded machine.
jest.setTimeout(60_000);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A smooth synthetic picture with some texture: benign, deterministic. */
function picture(width: number, height: number, channels: 1 | 3, seed = 1): Uint8Array {
  const next = rng(seed);
  const data = new Uint8Array(width * height * channels);
  const fx = 1 + next() * 5;
  const fy = 1 + next() * 5;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const base = 128 + 60 * Math.sin(fx * 6.28 * u + 2 * v) + 50 * Math.cos(fy * 6.28 * v * u) + 10 * (next() - 0.5);
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(base + 30 * c * (u - v))));
    }
  }
  return data;
}

/** The filter written the plain way: one line at a time, row pass then column pass, twice. */
function naiveDownsample(luma: Float32Array, rows: number, cols: number): Float32Array {
  const line = (src: Float32Array, dst: Float32Array, start: number, stride: number, length: number, w: number): void => {
    const half = Math.trunc((w + 2) / 2);
    const before = w - half;
    let sum = 0;
    let count = 0;
    for (let k = 0; k < half - 1; k++) {
      sum = fround(sum + src[start + k * stride]);
      count++;
    }
    for (let i = 0; i < length; i++) {
      const enter = i + half - 1;
      const leave = i - before - 1;
      if (enter < length) {
        sum = fround(sum + src[start + enter * stride]);
        count++;
      }
      if (leave >= 0) {
        sum = fround(sum - src[start + leave * stride]);
        count--;
      }
      dst[start + i * stride] = sum / count;
    }
  };
  const a = Float32Array.from(luma);
  const b = new Float32Array(a.length);
  const wr = jaroszWindowSize(cols, 64);
  const wc = jaroszWindowSize(rows, 64);
  for (let pass = 0; pass < 2; pass++) {
    for (let r = 0; r < rows; r++) line(a, b, r * cols, 1, cols, wr);
    for (let c = 0; c < cols; c++) line(b, a, c, cols, rows, wc);
  }
  const out = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) out[i * 64 + j] = a[Math.trunc(((i + 0.5) * rows) / 64) * cols + Math.trunc(((j + 0.5) * cols) / 64)];
  }
  return out;
}

describe('Jarosz downsampling', () => {
  it.each([
    [512, 512],
    [384, 500],
    [97, 130],
    [64, 64],
    [5, 300],
    [257, 129],
    [42, 34],
    [1100, 700],
  ])('matches the plain line-by-line float32 filter bit for bit at %i×%i', (rows, cols) => {
    const next = rng(rows * 1000 + cols);
    const luma = Float32Array.from({ length: rows * cols }, () => fround(next() * 255));
    const out = new Float32Array(64 * 64);
    jaroszDownsample64(Float32Array.from(luma), rows, cols, out, new JaroszScratch());
    expect(out).toEqual(naiveDownsample(luma, rows, cols));
  });
});

describe('PdqHasher', () => {
  it('hashes under-5-pixel images to zeros with quality 0', () => {
    const r = pdqHashPixels({ data: new Uint8Array(4 * 100 * 3), width: 4, height: 100, channels: 3 }, { dihedral: true });
    expect(pdqBytesToHex(r.hash)).toBe('0'.repeat(64));
    expect(r.quality).toBe(0);
    expect(r.dihedral).toHaveLength(8);
  });

  it('is deterministic, sets exactly half the bits of a textured image, and reports quality', () => {
    const img = { data: picture(300, 200, 3), width: 300, height: 200, channels: 3 };
    const a = new PdqHasher().hashPixels(img);
    const b = pdqHashPixels(img);
    expect(pdqBytesToHex(a.hash)).toBe(pdqBytesToHex(b.hash));
    let bits = 0;
    for (const byte of a.hash) for (let k = 0; k < 8; k++) bits += (byte >> k) & 1;
    expect(bits).toBe(128);
    expect(a.quality).toBeGreaterThan(50);
    expect(a.quality).toBeLessThanOrEqual(100);
  });

  it('hashes a flat image with quality 0', () => {
    const r = pdqHashPixels({ data: new Uint8Array(200 * 200).fill(90), width: 200, height: 200, channels: 1 });
    expect(r.quality).toBe(0);
  });

  it('treats an RGB image with R = G = B everywhere exactly like its grey version', () => {
    const grey = picture(200, 150, 1, 3);
    const rgb = new Uint8Array(grey.length * 3);
    for (let i = 0; i < grey.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
    const g = pdqHashPixels({ data: grey, width: 200, height: 150, channels: 1 });
    const c = pdqHashPixels({ data: rgb, width: 200, height: 150, channels: 3 });
    expect(pdqBytesToHex(c.hash)).toBe(pdqBytesToHex(g.hash));
    expect(c.quality).toBe(g.quality);
  });

  it('skips grey detection when the decoder already found colour (greyChecked): a sample may look grey where the image is not', () => {
    // Rows of 15 and 74: grey values whose float32 luma is one ulp off, which moves tied DCT bits.
    const rgb = new Uint8Array(64 * 64 * 3);
    for (let y = 0; y < 64; y++) rgb.fill(y % 2 ? 15 : 74, y * 64 * 3, (y + 1) * 64 * 3);
    const detected = pdqHashPixels({ data: rgb, width: 64, height: 64, channels: 3 });
    const checked = pdqHashPixels({ data: rgb, width: 64, height: 64, channels: 3, greyChecked: true });
    const asLuma = new Float32Array(64 * 64);
    for (let i = 0; i < asLuma.length; i++) asLuma[i] = Math.fround(Math.fround(Math.fround(Math.fround(0.299) * rgb[3 * i]) + Math.fround(Math.fround(0.587) * rgb[3 * i])) + Math.fround(Math.fround(0.114) * rgb[3 * i]));
    expect(pdqBytesToHex(checked.hash)).toBe(pdqBytesToHex(pdqHashLuma(asLuma, 64, 64).hash));
    expect(pdqBytesToHex(checked.hash)).not.toBe(pdqBytesToHex(detected.hash));
  });

  it('hashDownsampled: the 64×64 filtered luma hashes like the pixels it came from (dihedral too)', () => {
    const size = 300;
    const grey = picture(size, size, 1, 7);
    const luma = Float32Array.from(grey);
    const block = new Float32Array(64 * 64);
    jaroszDownsample64(luma, size, size, block, new JaroszScratch());
    const fromPixels = new PdqHasher().hashPixels({ data: grey, width: size, height: size, channels: 1 }, { dihedral: true });
    const fromBlock = new PdqHasher().hashDownsampled(block, { dihedral: true });
    expect(pdqBytesToHex(fromBlock.hash)).toBe(pdqBytesToHex(fromPixels.hash));
    expect(fromBlock.quality).toBe(fromPixels.quality);
    expect(fromBlock.dihedral?.map(pdqBytesToHex)).toEqual(fromPixels.dihedral?.map(pdqBytesToHex));
    expect(() => new PdqHasher().hashDownsampled(new Float32Array(100))).toThrow(RangeError);
  });

  it('exactly 64×64: the hash is of the unfiltered luma, the dihedral hashes of the filtered one, as in the reference (a window-1 filter)', () => {
    const grey = picture(64, 64, 1, 11);
    const luma = Float32Array.from(grey);
    const filtered = new Float32Array(64 * 64);
    jaroszDownsample64(Float32Array.from(grey), 64, 64, filtered, new JaroszScratch());
    const r = new PdqHasher().hashPixels({ data: grey, width: 64, height: 64, channels: 1 }, { dihedral: true });
    const unfilteredHash = new PdqHasher().hashDownsampled(luma);
    const filteredHashes = new PdqHasher().hashDownsampled(filtered, { dihedral: true });
    expect(pdqBytesToHex(r.hash)).toBe(pdqBytesToHex(unfilteredHash.hash));
    expect(r.quality).toBe(unfilteredHash.quality);
    expect(r.dihedral?.map(pdqBytesToHex)).toEqual(filteredHashes.dihedral?.map(pdqBytesToHex));
  });

  it('ignores alpha and resamples large images to 512×512 by nearest neighbour', () => {
    const w = 1100;
    const h = 700;
    const rgb = picture(w, h, 3, 5);
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      rgba.set(rgb.subarray(3 * i, 3 * i + 3), 4 * i);
      rgba[4 * i + 3] = i % 251;
    }
    const a = pdqHashPixels({ data: rgb, width: w, height: h, channels: 3 });
    const b = pdqHashPixels({ data: rgba, width: w, height: h, channels: 4 });
    expect(pdqBytesToHex(b.hash)).toBe(pdqBytesToHex(a.hash));
    // Explicit resampling with the reference's index rule gives the same hash.
    const small = new Uint8Array(512 * 512 * 3);
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const src = (Math.floor((y * h) / 512) * w + Math.floor((x * w) / 512)) * 3;
        small.set(rgb.subarray(src, src + 3), (y * 512 + x) * 3);
      }
    }
    expect(pdqBytesToHex(pdqHashPixels({ data: small, width: 512, height: 512, channels: 3 }).hash)).toBe(pdqBytesToHex(a.hash));
  });

  it('converts CMYK with the plain formula', () => {
    const w = 120;
    const h = 90;
    const rgb = picture(w, h, 3, 9);
    const cmyk = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      cmyk[4 * i] = 255 - rgb[3 * i];
      cmyk[4 * i + 1] = 255 - rgb[3 * i + 1];
      cmyk[4 * i + 2] = 255 - rgb[3 * i + 2];
      cmyk[4 * i + 3] = 0;
    }
    const a = pdqHashPixels({ data: rgb, width: w, height: h, channels: 3 });
    const b = pdqHashPixels({ data: cmyk, width: w, height: h, channels: 4, model: 'cmyk' });
    expect(pdqBytesToHex(b.hash)).toBe(pdqBytesToHex(a.hash));
  });

  it('hashes a luma plane like the same grey pixels', () => {
    const grey = picture(160, 100, 1, 4);
    const a = pdqHashPixels({ data: grey, width: 160, height: 100, channels: 1 });
    const b = pdqHashLuma(Float32Array.from(grey), 160, 100);
    expect(pdqBytesToHex(b.hash)).toBe(pdqBytesToHex(a.hash));
    expect(b.quality).toBe(a.quality);
  });

  it('gives dihedral hashes that match actually transformed images', () => {
    const w = 240;
    const h = 240;
    const src = picture(w, h, 1, 11);
    const at = (x: number, y: number): number => src[y * w + x];
    const transforms: ((x: number, y: number) => number)[] = [
      (x, y) => at(x, y),
      (x, y) => at(w - 1 - y, x), // rotated 90° counter-clockwise
      (x, y) => at(w - 1 - x, h - 1 - y),
      (x, y) => at(y, h - 1 - x),
      (x, y) => at(x, h - 1 - y), // upside-down mirror
      (x, y) => at(w - 1 - x, y), // left-right mirror
      (x, y) => at(y, x), // transpose
      (x, y) => at(w - 1 - y, h - 1 - x), // anti-transpose
    ];
    const r = pdqHashPixels({ data: src, width: w, height: h, channels: 1 }, { dihedral: true });
    expect(r.dihedral).toHaveLength(PDQ_DIHEDRAL_NAMES.length);
    expect(pdqBytesToHex(r.dihedral![0])).toBe(pdqBytesToHex(r.hash));
    transforms.forEach((f, t) => {
      const img = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[y * w + x] = f(x, y);
      const direct = pdqHashPixels({ data: img, width: w, height: h, channels: 1 });
      // The filter's even window is not symmetric, so real transforms land a few bits away;
      // unrelated hashes are about 128 bits apart.
      expect(pdqDistance(direct.hash, r.dihedral![t])).toBeLessThanOrEqual(24);
    });
  });

  it('rejects inconsistent images', () => {
    expect(() => pdqHashPixels({ data: new Uint8Array(10), width: 10, height: 10, channels: 3 })).toThrow(RangeError);
    expect(() => pdqHashPixels({ data: new Uint8Array(300), width: 10, height: 10, channels: 3, model: 'cmyk' })).toThrow(RangeError);
    expect(() => pdqHashPixels({ data: new Uint8Array(300), width: 0, height: 10, channels: 3 })).toThrow(RangeError);
  });
});
