import { bankFileText, hammingHex, modelOutcome, type BankSpec } from './model';

const A = 'f'.repeat(64);
/** `A` with the first `n` bits cleared. */
const flip = (n: number): string => {
  const bits = '1'.repeat(256 - n).padStart(256, '0');
  return Array.from({ length: 64 }, (_, i) => parseInt(bits.slice(i * 4, i * 4 + 4), 2).toString(16)).join('');
};
const hashes = (pdq: string, quality = 100) => ({ pdq, quality, md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64), width: 10, height: 10 });

describe('the reference model of matcher and policy', () => {
  const review: BankSpec = { name: 'rev', kind: 'review', source: 'platform', threshold: 31, entries: [{ entryId: 'r1', algorithm: 'pdq', hash: A }] };
  const block: BankSpec = { name: 'known', kind: 'block', source: 'eu_centre', threshold: 31, entries: [{ entryId: 'k1', algorithm: 'sha256', hash: 'c'.repeat(64) }] };
  const allow: BankSpec = { name: 'allow', kind: 'allow', source: 'platform', threshold: 31, entries: [{ entryId: 'a1', algorithm: 'pdq', hash: flip(40) }] };

  it('measures Hamming distances of hex hashes', () => {
    expect(hammingHex(A, A)).toBe(0);
    expect(hammingHex(A, flip(31))).toBe(31);
    expect(hammingHex('0'.repeat(64), A)).toBe(256);
  });

  it('matches PDQ within the threshold, inclusive, and only above the quality floor', () => {
    expect(modelOutcome(hashes(flip(31)), [review])).toMatchObject({ decision: 'REVIEW', policy: 'review', matches: [{ entryId: 'r1', distance: 31 }] });
    expect(modelOutcome(hashes(flip(32)), [review])).toMatchObject({ decision: 'NONE', policy: 'none', matches: [] });
    expect(modelOutcome(hashes(A, 49), [review]).matches).toEqual([]);
  });

  it('reports exact hits on a verified block list directly, whatever else matched', () => {
    expect(modelOutcome(hashes(A), [review, block])).toMatchObject({ decision: 'BLOCK', policy: 'report', matches: [{ bank: 'known' }, { bank: 'rev' }] });
    expect(modelOutcome(hashes(A), [review, block], { verifiedSources: new Set() }).policy).toBe('review');
  });

  it('suppresses the block and review matches of a query hash that an allow-list matches', () => {
    // flip(20) is 20 bits from the review entry and 20 from the allow entry.
    expect(modelOutcome(hashes(flip(20)), [review, allow])).toMatchObject({ decision: 'NONE', matches: [], suppressed: 1 });
    // The SHA-256 query is not allow-listed: its block match stays.
    expect(modelOutcome(hashes(flip(20)), [review, allow, block])).toMatchObject({ decision: 'BLOCK', policy: 'report', suppressed: 1, matches: [{ bank: 'known' }] });
  });

  it('skips disabled entries and writes bank files', () => {
    expect(modelOutcome(hashes(A), [review], { disabled: new Set(['rev/r1']) }).matches).toEqual([]);
    expect(bankFileText(review)).toBe(`r1\tpdq\t${A}\n`);
  });
});
