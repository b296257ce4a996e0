import { SharedFanOutTracker } from './fan-out';

const DAY = 24 * 3600 * 1000;

describe('SharedFanOutTracker', () => {
  it('counts contacts other replicas observed, within the window, per platform', () => {
    const t = new SharedFanOutTracker({ windowMs: 7 * DAY, maxSenders: 100 });
    const now = 100 * DAY;
    t.observe({ platformId: 'p', senderId: 'adult', conversationId: 'c1', contactAtMs: now - DAY });
    t.observe({ platformId: 'p', senderId: 'adult', conversationId: 'c2', contactAtMs: now - 8 * DAY }); // outside the window
    t.observe({ platformId: 'other', senderId: 'adult', conversationId: 'c3', contactAtMs: now }); // another platform's account
    expect(t.record('adult', 'p/c4', now)).toBe(2);
    expect(t.record('adult', 'p/c1', now)).toBe(2);
    expect(t.size).toBe(2);
  });

  it('queues a contact for publication once per refresh interval, and again after a failure', () => {
    const t = new SharedFanOutTracker({ windowMs: 7 * DAY, maxSenders: 100 });
    t.record('adult', 'p/c1', 0);
    t.record('adult', 'p/c1', 1000);
    const first = t.drainPending();
    expect(first).toEqual([{ platformId: 'p', senderId: 'adult', conversationId: 'c1', contactAtMs: 0 }]);
    expect(t.drainPending()).toEqual([]);
    t.requeue(first);
    expect(t.drainPending()).toEqual(first);
    t.record('adult', 'p/c1', DAY + 1);
    expect(t.drainPending()).toEqual([{ platformId: 'p', senderId: 'adult', conversationId: 'c1', contactAtMs: DAY + 1 }]);
  });

  it('does not publish again what another replica already shared recently', () => {
    const t = new SharedFanOutTracker({ windowMs: 7 * DAY, maxSenders: 100 });
    t.observe({ platformId: 'p', senderId: 'adult', conversationId: 'c1', contactAtMs: 500 });
    t.record('adult', 'p/c1', 600);
    expect(t.drainPending()).toEqual([]);
  });

  it('is bounded: least recently active senders and oldest conversations per sender go first', () => {
    const t = new SharedFanOutTracker({ windowMs: 7 * DAY, maxSenders: 2, maxConversationsPerSender: 2 });
    t.record('a', 'p/1', 1);
    t.record('b', 'p/1', 2);
    t.record('c', 'p/1', 3);
    expect(t.size).toBe(2);
    expect(t.record('a', 'p/1', 4)).toBe(1); // a was forgotten
    t.record('d', 'p/1', 10);
    t.record('d', 'p/2', 11);
    expect(t.record('d', 'p/3', 12)).toBe(2);
  });
});
