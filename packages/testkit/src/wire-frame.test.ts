import { TestkitError } from './errors';
import { buildConfluentFrame, parseConfluentFrame } from './wire-frame';

describe('Confluent wire frame', () => {
  it('round-trips id and body', () => {
    const body = Buffer.from([1, 2, 3]);
    const frame = buildConfluentFrame(0x01020304, body);
    expect(frame.toString('hex')).toBe('0001020304010203');
    const parsed = parseConfluentFrame(frame);
    expect(parsed.schemaId).toBe(0x01020304);
    expect(parsed.body.equals(body)).toBe(true);
  });

  it('reads ids above 2^31 as unsigned', () => {
    expect(parseConfluentFrame(Buffer.from([0, 0xff, 0xff, 0xff, 0xff])).schemaId).toBe(0xffffffff);
  });

  it.each([
    ['too short', Buffer.from([0, 0, 0, 1])],
    ['wrong magic byte', Buffer.from([1, 0, 0, 0, 1, 2])],
  ])('rejects a frame that is %s', (_why, bytes) => {
    expect(() => parseConfluentFrame(bytes)).toThrow(expect.objectContaining({ code: 'invalid_wire_frame' }));
  });

  it('rejects ids outside uint32', () => {
    expect(() => buildConfluentFrame(-1, Buffer.alloc(0))).toThrow(TestkitError);
    expect(() => buildConfluentFrame(2 ** 32, Buffer.alloc(0))).toThrow(TestkitError);
  });
});
