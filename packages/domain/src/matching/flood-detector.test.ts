import { FloodDetector } from './flood-detector';

const MIN = 60_000;

describe('FloodDetector', () => {
  it('never flags below minCount, however low the baseline', () => {
    const f = new FloodDetector({ minCount: 50, ratio: 10, warmupMs: 0 });
    let last = f.record('a', 0);
    for (let i = 1; i < 49; i++) last = f.record('a', i * 1000);
    expect(last.windowCount).toBe(49);
    expect(last.flood).toBe(false);
    expect(f.record('a', 50_000).flood).toBe(true);
  });

  it('learns a steady rate and flags only a burst far above it', () => {
    const f = new FloodDetector({ windowMs: 10 * MIN, buckets: 10, minCount: 20, ratio: 10, baselineHalfLifeMs: 30 * MIN, warmupMs: 60 * MIN });
    let t = 0;
    // 30 matches per minute for 3 hours: a steady, popular entry is never a flood.
    for (let m = 0; m < 180; m++) {
      for (let i = 0; i < 30; i++) {
        expect(f.record('steady', t + i * 1000).flood).toBe(false);
      }
      t += MIN;
    }
    // A quiet entry (1 per 10 minutes) then a burst of 200 in one minute: flagged.
    for (let m = 0; m < 180; m += 10) f.record('quiet', m * MIN);
    let flagged = -1;
    for (let i = 0; i < 200; i++) {
      if (f.record('quiet', 180 * MIN + i * 100).flood && flagged < 0) flagged = i;
    }
    expect(flagged).toBeGreaterThanOrEqual(19);
    expect(flagged).toBeLessThan(40);
  });

  it('slides the window: old matches leave it', () => {
    const f = new FloodDetector({ windowMs: 10 * MIN, buckets: 10, minCount: 5, ratio: 1000, warmupMs: 0 });
    for (let i = 0; i < 10; i++) f.record('x', i);
    expect(f.record('x', 5 * MIN).windowCount).toBe(11);
    expect(f.record('x', 10 * MIN + 1).windowCount).toBe(2);
    expect(f.record('x', 40 * MIN).windowCount).toBe(1);
  });

  it('does not flag during warm-up (after a restart)', () => {
    const f = new FloodDetector({ minCount: 3, ratio: 1, warmupMs: 10 * MIN });
    for (let i = 0; i < 100; i++) expect(f.record('a', i * 1000).flood).toBe(false);
    expect(f.record('b', 10 * MIN).flood).toBe(false);
    f.record('b', 10 * MIN + 1);
    expect(f.record('b', 10 * MIN + 2).flood).toBe(true);
  });

  it('reset forgets the window (after a person cleared it); forget and the tracking bound', () => {
    const f = new FloodDetector({ minCount: 3, ratio: 1, maxTrackedEntries: 2, warmupMs: 0 });
    f.record('a', 0);
    f.record('a', 1);
    expect(f.record('a', 2).flood).toBe(true);
    f.reset('a');
    expect(f.record('a', 3).windowCount).toBe(1);
    f.record('b', 4);
    f.record('c', 5);
    expect(f.tracked).toBe(2);
    f.forget('c');
    expect(f.tracked).toBe(1);
  });
});
