import type { GroomingAlert } from '@safeguard/schemas';
import { ConversationStore, type ConversationEntry } from './conversation-store';

function entry(key: string, partition: number, lastActiveAtMs: number, pendingAlert: GroomingAlert | null = null): ConversationEntry {
  return {
    key,
    platformId: 'p',
    conversationId: key.slice(2),
    partition,
    stateBytes: Buffer.from([1]),
    lastOffset: 0,
    recentMessageFingerprints: Buffer.alloc(0),
    updatedAtMs: lastActiveAtMs,
    lastActiveAtMs,
    pendingAlert,
  };
}

const someAlert = { alertId: 'x' } as GroomingAlert;

describe('ConversationStore', () => {
  it('evicts least recently active first; a touch makes an entry the most recent', () => {
    const store = new ConversationStore();
    store.set(entry('p/a', 0, 1));
    store.set(entry('p/b', 0, 2));
    store.set(entry('p/c', 0, 3));
    store.touch('p/a', 4);
    expect(store.takeOverflow(2).map((e) => e.key)).toEqual(['p/b']);
    expect(store.get('p/a')!.lastActiveAtMs).toBe(4);
    expect(store.takeOverflow(2)).toEqual([]);
  });

  it('never expires or evicts pinned entries or entries with a pending alert', () => {
    const store = new ConversationStore();
    store.set(entry('p/pinned', 0, 1));
    store.set(entry('p/pending', 0, 1, someAlert));
    store.set(entry('p/idle', 0, 1));
    store.set(entry('p/fresh', 0, 100));
    store.pin('p/pinned');
    store.pin('p/pinned');
    store.unpin('p/pinned');
    expect(store.takeIdle(50).map((e) => e.key)).toEqual(['p/idle']);
    expect(store.takeOverflow(1).map((e) => e.key)).toEqual(['p/fresh']);
    store.unpin('p/pinned');
    expect(store.takeIdle(50).map((e) => e.key)).toEqual(['p/pinned']);
    expect(store.size).toBe(1);
  });

  it('finds idle entries wherever they sit in the order (restored entries keep their own times)', () => {
    const store = new ConversationStore();
    store.set(entry('p/new', 0, 100));
    store.set(entry('p/restored-old', 1, 5));
    expect(store.takeIdle(50).map((e) => e.key)).toEqual(['p/restored-old']);
  });

  it('drops the entries of revoked partitions and lists pending alerts per partition', () => {
    const store = new ConversationStore();
    store.set(entry('p/a', 0, 1));
    store.set(entry('p/b', 1, 1, someAlert));
    store.set(entry('p/c', 2, 1, someAlert));
    expect(store.pendingAlerts(new Set([1])).map((e) => e.key)).toEqual(['p/b']);
    expect(store.dropPartitions(new Set([0, 1]))).toBe(2);
    expect(store.size).toBe(1);
    expect(store.get('p/c')).toBeDefined();
  });
});
