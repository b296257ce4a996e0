import { InMemoryFanOutTracker } from './fan-out';

describe('InMemoryFanOutTracker', () => {
  it('counts distinct conversations per sender within the window', () => {
    const t = new InMemoryFanOutTracker({ windowMs: 1000 });
    expect(t.record('a', 'c1', 0)).toBe(1);
    expect(t.record('a', 'c1', 10)).toBe(1);
    expect(t.record('a', 'c2', 20)).toBe(2);
    expect(t.record('b', 'c3', 20)).toBe(1);
    expect(t.record('a', 'c3', 500)).toBe(3);
    expect(t.record('a', 'c4', 1015)).toBe(3); // c1 (last at 10) left the window
  });

  it('bounds conversations per sender and the number of senders', () => {
    const t = new InMemoryFanOutTracker({ maxConversationsPerSender: 3, maxSenders: 2 });
    for (let i = 0; i < 10; i++) t.record('a', `c${i}`, i);
    expect(t.record('a', 'c10', 10)).toBe(3);
    t.record('b', 'x', 11);
    t.record('c', 'x', 12);
    expect(t.size).toBe(2);
    expect(t.record('a', 'new', 13)).toBe(1); // "a" was evicted as least recently active
  });
});
