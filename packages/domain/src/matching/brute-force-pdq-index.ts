import { PDQ_WORDS, PdqHashInput, popcount32, toPdqWords } from './hash-words';
import { PdqHit, PdqIndex, assertRadius, growUint32, growUint8, sortHits } from './pdq-index';

/**
 * The reference {@link PdqIndex}: a linear scan over every stored hash.
 *
 * Why keep it: it is obviously correct, so the conformance suite compares every other index with
 * it, and it is the fastest choice for very small banks (a few thousand entries), where a scan
 * costs less than probing hash tables. Storage is one `Uint32Array` of 8 words per id and a
 * liveness byte per id; removed ids are reused by later adds.
 */
export class BruteForcePdqIndex implements PdqIndex {
  private words: Uint32Array = new Uint32Array(0);
  private live: Uint8Array = new Uint8Array(0);
  private high = 0;
  private liveCount = 0;
  private readonly free: number[] = [];

  /** @inheritDoc */
  get size(): number {
    return this.liveCount;
  }

  /** @inheritDoc */
  add(hash: PdqHashInput): number {
    const w = toPdqWords(hash);
    const id = this.free.length > 0 ? (this.free.pop() as number) : this.high++;
    this.words = growUint32(this.words, (id + 1) * PDQ_WORDS);
    this.live = growUint8(this.live, id + 1);
    this.words.set(w, id * PDQ_WORDS);
    this.live[id] = 1;
    this.liveCount++;
    return id;
  }

  /** @inheritDoc */
  remove(id: number): boolean {
    if (!this.has(id)) return false;
    this.live[id] = 0;
    this.liveCount--;
    this.free.push(id);
    return true;
  }

  /** @inheritDoc */
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.high && this.live[id] === 1;
  }

  /** @inheritDoc */
  search(query: PdqHashInput, radius: number): PdqHit[] {
    assertRadius(radius);
    const q = toPdqWords(query);
    const q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
    const h = this.words;
    const live = this.live;
    const out: PdqHit[] = [];
    for (let id = 0, b = 0; id < this.high; id++, b += PDQ_WORDS) {
      const d =
        popcount32(h[b] ^ q0) + popcount32(h[b + 1] ^ q1) + popcount32(h[b + 2] ^ q2) + popcount32(h[b + 3] ^ q3) +
        popcount32(h[b + 4] ^ q4) + popcount32(h[b + 5] ^ q5) + popcount32(h[b + 6] ^ q6) + popcount32(h[b + 7] ^ q7);
      if (d <= radius && live[id] === 1) out.push({ id, distance: d });
    }
    return sortHits(out);
  }
}
