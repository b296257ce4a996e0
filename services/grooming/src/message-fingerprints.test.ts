import { FINGERPRINT_BYTES, hasFingerprint, messageFingerprint, RECENT_MESSAGES, withFingerprint } from './message-fingerprints';

describe('message fingerprints', () => {
  it('are the first 4 bytes of SHA-256 of the UTF-8 id (persisted: must never change)', () => {
    // sha256("m-1") = a461b472…, sha256("conv-1/m-0") = 58f56ac6…
    expect(messageFingerprint('m-1')).toBe(0xa461b472);
    expect(messageFingerprint('conv-1/m-0')).toBe(0x58f56ac6);
    expect(messageFingerprint('m-2')).not.toBe(messageFingerprint('m-1'));
  });

  it('keep the latest entries, oldest first, up to the bound', () => {
    let ring: Buffer = Buffer.alloc(0);
    const ids = Array.from({ length: RECENT_MESSAGES + 5 }, (_, i) => `m-${i}`);
    for (const id of ids) ring = withFingerprint(ring, messageFingerprint(id));
    expect(ring).toHaveLength(RECENT_MESSAGES * FINGERPRINT_BYTES);
    expect(ring.readUInt32BE(0)).toBe(messageFingerprint(`m-5`));
    expect(ring.readUInt32BE(ring.length - FINGERPRINT_BYTES)).toBe(messageFingerprint(ids.at(-1)!));
    for (const [i, id] of ids.entries()) expect([id, hasFingerprint(ring, messageFingerprint(id))]).toEqual([id, i >= 5]);
  });

  it('grow one entry at a time below the bound and honour a smaller one', () => {
    const one = withFingerprint(Buffer.alloc(0), 7);
    expect([...one]).toEqual([0, 0, 0, 7]);
    const two = withFingerprint(one, 0xffffffff);
    expect([...two]).toEqual([0, 0, 0, 7, 255, 255, 255, 255]);
    expect([...one]).toEqual([0, 0, 0, 7]); // a new buffer each time
    expect([...withFingerprint(two, 9, 2)]).toEqual([255, 255, 255, 255, 0, 0, 0, 9]);
    expect(withFingerprint(two, 9, 0)).toHaveLength(0);
  });

  it('ignore a trailing partial entry and match whole entries only', () => {
    const ring = Buffer.from([0, 0, 0, 7, 1, 2]);
    expect(hasFingerprint(ring, 7)).toBe(true);
    expect(hasFingerprint(ring, 0x00000701)).toBe(false); // straddles two entries
    expect(hasFingerprint(ring, 0x01020000)).toBe(false); // the partial tail
    expect([...withFingerprint(ring, 8)]).toEqual([0, 0, 0, 7, 0, 0, 0, 8]);
    expect(hasFingerprint(Buffer.alloc(0), 0)).toBe(false);
  });
});
