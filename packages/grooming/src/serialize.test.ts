import { randomUUID } from 'node:crypto';
import { ConversationAnalyzer } from './analyzer';
import { deserializeState, serializeState, STATE_FORMAT_VERSION } from './serialize';
import type { ConversationState } from './state';

const a = new ConversationAnalyzer();
const TEXTS = [
  'how old are you',
  'im 13',
  'you are so mature for your age',
  'are your parents home',
  'dont tell your mom, our secret',
  'delete this chat',
  'your friends dont understand you',
  'ill buy you robux',
  'add me on snapchat',
  'send me a pic',
  'turn on your cam',
  'if you really loved me',
  'ill show everyone your messages',
  'we should meet up',
  'what are you wearing',
  'you are so cute',
  'which school do you go to',
  'you are the only one who gets me',
  'ask your mom',
  'online safety',
];

function conversation(n: number, ids: () => string): ConversationState {
  let s = a.createState({ conversationId: ids(), participants: [{ id: ids(), declaredAge: 40 }, { id: ids(), declaredAge: 13 }] });
  const [adult, kid] = s.participants.map((p) => p.id);
  for (let i = 0; i < n; i++) {
    const r = a.update(s, { id: ids(), senderId: i % 3 === 1 ? kid : adult, sentAtMs: 1_700_000_000_000 + i * 37_000, text: TEXTS[i % TEXTS.length] });
    s = r.state;
  }
  return s;
}

describe('state serialisation', () => {
  it('round-trips exactly and starts with the version byte', () => {
    let k = 0;
    const s = conversation(60, () => `id-${k++}`);
    const bytes = serializeState(s);
    expect(bytes[0]).toBe(STATE_FORMAT_VERSION);
    expect(deserializeState(bytes)).toEqual(s);
    expect(a.deserialize(a.serialize(s))).toEqual(s);
  });

  it('round-trips non-ASCII and long ids', () => {
    let k = 0;
    const s = conversation(30, () => (k++ % 2 === 0 ? `ü-Ĳ-😀-${k}` : `${'x'.repeat(200)}-${k}`));
    expect(deserializeState(serializeState(s))).toEqual(s);
  });

  it('round-trips fresh and unanalysed states', () => {
    const fresh = a.createState({ conversationId: 'c' });
    expect(deserializeState(serializeState(fresh))).toEqual(fresh);
    const adults = a.createState({ conversationId: 'c', language: 'de', participants: [{ id: 'x', declaredAge: 30 }, { id: 'y', declaredAge: 31 }] });
    expect(deserializeState(serializeState(adults))).toEqual(adults);
  });

  it('continues scoring identically after a round trip', () => {
    let k = 0;
    const s = conversation(10, () => `id-${k++}`);
    const m = { id: 'next', senderId: s.participants[0].id, sentAtMs: 1_800_000_000_000, text: 'are you alone' };
    expect(a.update(deserializeState(serializeState(s)), m)).toEqual(a.update(s, m));
  });

  it('stays within 2 KB for a long two-party conversation with UUID ids and every signal', () => {
    const s = conversation(500, () => randomUUID());
    expect(s.evidence.length).toBeGreaterThan(20);
    expect(serializeState(s).length).toBeLessThanOrEqual(2048);
  });

  it('rejects unknown versions and corrupt bytes', () => {
    const bytes = serializeState(conversation(5, (() => { let k = 0; return () => `i${k++}`; })()));
    const wrong = bytes.slice();
    wrong[0] = 99;
    expect(() => deserializeState(wrong)).toThrow(expect.objectContaining({ code: 'state_version_unsupported' }));
    expect(() => deserializeState(bytes.slice(0, bytes.length - 3))).toThrow(expect.objectContaining({ code: 'state_corrupt' }));
    expect(() => deserializeState(new Uint8Array([...bytes, 0]))).toThrow(expect.objectContaining({ code: 'state_corrupt' }));
    expect(() => deserializeState(new Uint8Array())).toThrow(expect.objectContaining({ code: 'state_corrupt' }));
  });
});
