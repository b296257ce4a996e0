import { sniffMedia } from './sniff';

const b = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffMedia', () => {
  it.each([
    ['jpeg', b([0xff, 0xd8, 0xff, 0xe0])],
    ['png', b([0x89], 'PNG\r\n\x1a\n')],
    ['gif', b('GIF89a')],
    ['webp', b('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
    ['tiff', b('II*\0')],
    ['tiff', b('MM\0*')],
    ['avif', b([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'mif1miaf')],
  ])('recognises %s images', (format, bytes) => {
    expect(sniffMedia(bytes)).toEqual({ kind: 'image', format });
  });

  it.each([
    ['mp4', b([0, 0, 0, 0x18], 'ftypisom', [0, 0, 2, 0], 'isomiso2')],
    ['mov', b([0, 0, 0, 0x14], 'ftypqt  ', [0, 0, 2, 0], 'qt  ')],
    ['avi', b('RIFF', [0, 0, 0, 0], 'AVI LIST')],
    ['webm', b([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01], 'B\x82\x84webm')],
  ])('recognises %s videos', (format, bytes) => {
    expect(sniffMedia(bytes)).toEqual({ kind: 'video', format });
  });

  it.each([
    ['empty', b()],
    ['text', b('hello, this is text')],
    ['svg', b('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['pdf', b('%PDF-1.7')],
    ['short jpeg', b([0xff, 0xd8])],
    ['heic', b([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic')],
  ])('returns unknown for %s', (_name, bytes) => {
    expect(sniffMedia(bytes)).toEqual({ kind: 'unknown' });
  });
});
