import { formatPdqWords, isPdqHex, parsePdqHex, pdqHexDistance } from './hash-words';

describe('PDQ hex words', () => {
  const hex = '0123456789abcdefFEDCBA9876543210'.repeat(2);

  it('parses either case and formats back to lowercase', () => {
    const w = parsePdqHex(hex);
    expect([...w.subarray(0, 4)]).toEqual([0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210]);
    expect(formatPdqWords(w)).toBe(hex.toLowerCase());
    const out = new Uint32Array(10).fill(7);
    expect(parsePdqHex(hex, out, 2)).toBe(out);
    expect([out[0], out[1], out[2], out[9]]).toEqual([7, 7, 0x01234567, 0x76543210]);
    expect(pdqHexDistance(hex, 'e' + hex.slice(1))).toBe(3);
  });

  it('rejects anything but 64 hex digits with pdq_hex_invalid, leaving out untouched', () => {
    const bad = [hex.slice(1), `${hex}0`, `g${hex.slice(1)}`, `${hex.slice(0, 63)} `, `${hex.slice(0, 63)}é`, `${hex.slice(0, 40)}٣${hex.slice(41)}`, ''];
    for (const b of bad) {
      const out = new Uint32Array(8).fill(9);
      expect(() => parsePdqHex(b, out)).toThrow(expect.objectContaining({ code: 'pdq_hex_invalid' }));
      expect([...out]).toEqual(new Array(8).fill(9));
      expect(isPdqHex(b)).toBe(false);
    }
    expect(isPdqHex(hex)).toBe(true);
  });
});
