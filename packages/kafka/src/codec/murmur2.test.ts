import { murmur2, partitionForKey, toPositive } from './murmur2';

describe('murmur2', () => {
  // Kafka's org.apache.kafka.common.utils.UtilsTest#testMurmur2 vectors.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j like the Java client', (input, expected) => {
    expect(murmur2(Buffer.from(input, 'utf8'))).toBe(expected);
  });

  it('covers every tail length and the empty input', () => {
    // Lengths 0..3 exercise each branch of the tail; values are stable signed 32-bit integers.
    const values = ['', 'a', 'ab', 'abc', 'abcd'].map((s) => murmur2(Buffer.from(s)));
    for (const v of values) expect(v).toBe(v | 0);
    expect(new Set(values).size).toBe(values.length);
  });

  it('toPositive clears the sign bit (Math.abs would differ at INT_MIN)', () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-790332482)).toBe(1357151166);
  });

  it('maps keys to partitions like Kafka’s default partitioner', () => {
    // toPositive(murmur2("foobar")) = 1357151166; 1357151166 % 50 = 16.
    expect(partitionForKey('foobar', 50)).toBe(16);
    expect(partitionForKey('21', 7)).toBe(toPositive(-973932308) % 7);
    expect(partitionForKey(Buffer.from('abc'), 3)).toBe(479470107 % 3);
  });

  it('hashes the UTF-8 bytes of non-ASCII keys', () => {
    expect(partitionForKey('grüße', 12)).toBe(toPositive(murmur2(Buffer.from('grüße', 'utf8'))) % 12);
  });

  it('rejects a non-positive partition count', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
  });
});
