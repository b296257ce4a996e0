import {
  isPdqHex,
  pdqBytesToHex,
  pdqBytesToWords,
  pdqGetBit,
  pdqHexToBytes,
  pdqHexToWords,
  pdqSetBit,
  pdqWordsToBytes,
  pdqWordsToHex,
} from './layout';

const SAMPLE = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';

describe('PDQ layout', () => {
  it('round-trips hex through bytes and words', () => {
    const bytes = pdqHexToBytes(SAMPLE);
    expect(bytes).toHaveLength(32);
    expect(bytes[0]).toBe(0xd8);
    expect(bytes[31]).toBe(0x22);
    expect(pdqBytesToHex(bytes)).toBe(SAMPLE);
    const words = pdqBytesToWords(bytes);
    expect(words[0]).toBe(0xd8f8f0ce);
    expect(words[7]).toBe(0x4e9c9b22);
    expect(pdqWordsToHex(words)).toBe(SAMPLE);
    expect(pdqWordsToBytes(words)).toEqual(bytes);
    expect(pdqHexToWords(SAMPLE.toUpperCase())).toEqual(words);
  });

  it('places reference bit k = 16*row + col where the reference prints it', () => {
    const h = new Uint8Array(32);
    pdqSetBit(h, 0, 1); // row 0, column 0: least significant bit of the last word
    expect(pdqBytesToHex(h)).toBe('0'.repeat(63) + '1');
    pdqSetBit(h, 0, 0);
    pdqSetBit(h, 255, 1); // row 15, column 15: most significant bit of the first word
    expect(pdqBytesToHex(h)).toBe('8' + '0'.repeat(63));
    pdqSetBit(h, 255, 0);
    pdqSetBit(h, 16 * 3 + 9, 1); // row 3, column 9: word w[3] = 0x0200, hex digits (15-3)*4 ..
    expect(pdqBytesToHex(h)).toBe('0'.repeat(48) + '0200' + '0'.repeat(12));
    expect(pdqGetBit(h, 57)).toBe(1);
    expect(pdqGetBit(h, 56)).toBe(0);
  });

  it('rejects malformed input', () => {
    expect(isPdqHex(SAMPLE)).toBe(true);
    expect(isPdqHex(SAMPLE.slice(1))).toBe(false);
    expect(isPdqHex(SAMPLE.slice(1) + 'g')).toBe(false);
    expect(() => pdqHexToBytes('abc')).toThrow(RangeError);
    expect(() => pdqBytesToHex(new Uint8Array(31))).toThrow(RangeError);
    expect(() => pdqGetBit(new Uint8Array(32), 256)).toThrow(RangeError);
  });
});
