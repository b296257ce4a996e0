/**
 * Kafka's murmur2 hash of a byte array, as a signed 32-bit integer: the exact function of the Java
 * client's `Utils.murmur2` (seed 0x9747b28c), used by its default partitioner. Keeping it
 * bit-for-bit equal means a key lands on the same partition whichever client produced it, and the
 * in-process transport places keys on the same partition numbers as a real broker.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] & 0xff) | ((data[i + 1] & 0xff) << 8) | ((data[i + 2] & 0xff) << 16) | ((data[i + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] & 0xff) << 16;
  if (rest >= 2) h ^= (data[whole + 1] & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[whole] & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for INT_MIN). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a key: `toPositive(murmur2(utf8(key))) % count`.
 *
 * @throws RangeError when `partitionCount` is not a positive integer.
 */
export function partitionForKey(key: string | Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError(`invalid partition count: ${partitionCount}`);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % partitionCount;
}
