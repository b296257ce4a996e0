import { decodeHeaders, encodeHeaders } from './headers';

describe('header encoding', () => {
  it('encodes strings as UTF-8 bytes and drops undefined values', () => {
    const encoded = encodeHeaders({ a: 'x', 'ü-key': 'grüße', empty: '', gone: undefined as unknown as string });
    expect(Object.keys(encoded).sort()).toEqual(['a', 'empty', 'ü-key']);
    expect(encoded['ü-key']).toEqual(Buffer.from('grüße', 'utf8'));
    expect(encoded.empty).toEqual(Buffer.alloc(0));
  });

  it('round-trips', () => {
    const headers = { 'safeguard.dlq.reason': 'deserialization_failed', trace: '00-abc-01', text: '日本語' };
    expect(decodeHeaders(encodeHeaders(headers))).toEqual(headers);
  });

  it('decodes buffers and strings; the last of repeated values wins; null is dropped', () => {
    expect(
      decodeHeaders({ a: Buffer.from('1'), b: 'two', c: [Buffer.from('first'), Buffer.from('last')], d: undefined, e: null }),
    ).toEqual({ a: '1', b: 'two', c: 'last' });
  });

  it('handles missing headers', () => {
    expect(decodeHeaders(undefined)).toEqual({});
    expect(encodeHeaders(undefined)).toEqual({});
  });
});
