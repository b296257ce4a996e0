import { inflateSync } from 'node:zlib';
import { benignJpeg, corruptJpeg, pngBomb, svgBytes, textBytes, truncatedJpeg } from './failure-media';

describe('failure-mode media', () => {
  it('starts from a benign baseline JPEG with its end marker', () => {
    const jpg = benignJpeg();
    expect([...jpg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...jpg.subarray(-2)]).toEqual([0xff, 0xd9]);
  });

  it('truncates to the first half, without the end marker', () => {
    const jpg = benignJpeg();
    const cut = truncatedJpeg();
    expect(cut.length).toBe(Math.floor(jpg.length / 2));
    expect(cut.equals(jpg.subarray(0, cut.length))).toBe(true);
    expect(truncatedJpeg(Buffer.from([1, 2, 3, 4, 5]))).toEqual(Buffer.from([1, 2]));
  });

  it('corrupts the scan data of a copy, keeping the headers and the end marker', () => {
    const jpg = benignJpeg();
    const bad = corruptJpeg(jpg);
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    expect(sos).toBeGreaterThan(0);
    expect(bad.length).toBe(jpg.length);
    expect(bad.subarray(0, sos + 2).equals(jpg.subarray(0, sos + 2))).toBe(true);
    expect(bad.subarray(sos + 2, -2).every((b) => b === 0xff)).toBe(true);
    expect([...bad.subarray(-2)]).toEqual([0xff, 0xd9]);
    expect(jpg.equals(benignJpeg())).toBe(true); // the input is not changed
  });

  it('writes a small PNG that declares a huge RGB image and holds almost nothing', () => {
    const png = pngBomb();
    expect(png.length).toBeLessThan(100);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([30000, 30000, 8, 2]);
    expect(pngBomb(123).readUInt32BE(16)).toBe(123);
    const idatAt = png.indexOf('IDAT', 0, 'latin1');
    const idat = png.subarray(idatAt + 4, idatAt + 4 + png.readUInt32BE(idatAt - 4));
    expect(inflateSync(idat).length).toBe(1024);
    expect(png.subarray(-8, -4).toString('latin1')).toBe('IEND');
    // The chunk CRCs are right: the IEND chunk's CRC is the well-known AE 42 60 82.
    expect([...png.subarray(-4)]).toEqual([0xae, 0x42, 0x60, 0x82]);
  });

  it('gives text and SVG bytes that are not raster images', () => {
    expect(textBytes().toString('utf8')).toMatch(/^This is not an image/);
    expect(svgBytes().toString('utf8')).toMatch(/^<svg /);
  });
});
