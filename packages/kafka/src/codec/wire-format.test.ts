import { DeserializationError } from '../errors';
import { decodeWireFrame, encodeWireFrame } from './wire-format';

describe('Confluent wire format', () => {
  it('frames as magic byte 0, big-endian schema id, payload', () => {
    const frame = encodeWireFrame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...frame]).toEqual([0, 1, 2, 3, 4, 0xaa, 0xbb]);
  });

  it('round-trips ids up to 2^32-1 and empty payloads', () => {
    for (const id of [0, 1, 255, 65536, 0xffffffff]) {
      const f = decodeWireFrame(encodeWireFrame(id, Buffer.alloc(0)));
      expect(f.schemaId).toBe(id);
      expect(f.payload.length).toBe(0);
    }
  });

  it('rejects a wrong magic byte with deserialization_failed / wrong_magic_byte', () => {
    const err = captureError(() => decodeWireFrame(Buffer.from([1, 0, 0, 0, 1, 2])));
    expect(err).toBeInstanceOf(DeserializationError);
    expect(err).toMatchObject({ code: 'deserialization_failed', detail: 'wrong_magic_byte' });
  });

  it('rejects frames shorter than the header', () => {
    expect(captureError(() => decodeWireFrame(Buffer.from([0, 0, 0])))).toMatchObject({ code: 'deserialization_failed', detail: 'truncated' });
    expect(captureError(() => decodeWireFrame(Buffer.alloc(0)))).toMatchObject({ detail: 'truncated' });
  });

  it('rejects out-of-range schema ids as a programmer error', () => {
    expect(() => encodeWireFrame(-1, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => encodeWireFrame(2 ** 32, Buffer.alloc(0))).toThrow(RangeError);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
