import { ConversationAnalyzer, type ChatMessage, type ConversationMeta, type GroomingAlert, type UpdateResult } from './analyzer';
import { GroomingInputError } from './errors';
import { InMemoryFanOutTracker } from './fan-out';
import { BUILTIN_LEXICONS, type LanguageLexicon } from './lexicon';
import type { ConversationState } from './state';

const T0 = Date.UTC(2026, 0, 10, 15, 0, 0); // 15:00 UTC
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

function run(
  a: ConversationAnalyzer,
  meta: ConversationMeta,
  lines: Array<[string, string, number?]>,
): { results: UpdateResult[]; state: ConversationState } {
  let state = a.createState(meta);
  const results: UpdateResult[] = [];
  lines.forEach(([senderId, text, at], i) => {
    const m: ChatMessage = { id: `m${i}`, senderId, sentAtMs: at ?? T0 + i * MIN, text };
    const r = a.update(state, m);
    results.push(r);
    state = r.state;
  });
  return { results, state };
}

const ADULT_CHILD: ConversationMeta = {
  conversationId: 'c1',
  participants: [
    { id: 'adult', declaredAge: 34 },
    { id: 'kid', declaredAge: 13 },
  ],
};

const GROOMING: Array<[string, string]> = [
  ['adult', 'hey nice build in that game'],
  ['kid', 'thanks'],
  ['adult', 'how old are you?'],
  ['kid', 'im 13'],
  ['adult', 'you are really mature for your age'],
  ['adult', 'are your parents home?'],
  ['kid', 'no they are at work'],
  ['adult', 'this is our secret ok, dont tell your mom'],
  ['adult', 'add me on snap'],
  ['adult', 'send me a pic of you'],
  ['adult', 'we should meet up this weekend'],
];

describe('ConversationAnalyzer', () => {
  const a = new ConversationAnalyzer();

  it('scores a grooming conversation up, alerts once at the threshold and names the sender', () => {
    const { results } = run(a, ADULT_CHILD, GROOMING);
    const scores = results.map((r) => r.score);
    expect(scores[1]).toBe(0);
    expect(scores[10]).toBeGreaterThan(0.9);
    const first = results.findIndex((r) => r.alert !== undefined);
    expect(first).toBeGreaterThan(2);
    expect(first).toBeLessThanOrEqual(7);
    const alert = results[first].alert!;
    expect(alert.reason).toBe('first');
    expect(alert.suspectId).toBe('adult');
    expect(alert.evidence.every((e) => e.participantId === 'adult' || e.signal === 'age_disclosure')).toBe(true);
    expect(results.slice(first).every((r) => r.alerted)).toBe(true);
    expect(results.slice(0, first).some((r) => r.alerted)).toBe(false);
  });

  it('re-alerts only when a later stage is reached, and never with reAlert "never"', () => {
    const reasons = run(a, ADULT_CHILD, GROOMING).results.flatMap((r) => (r.alert ? [`${r.alert.reason}:${r.alert.stage}`] : []));
    expect(reasons[0]).toMatch(/^first:/);
    expect(reasons.slice(1).every((x) => x.startsWith('stage_advance:'))).toBe(true);
    expect(new Set(reasons.map((x) => x.split(':')[1])).size).toBe(reasons.length);
    const once = new ConversationAnalyzer({ config: { reAlert: 'never' } });
    expect(run(once, ADULT_CHILD, GROOMING).results.filter((r) => r.alert).length).toBe(1);
  });

  it('attributes signals to the sender: the same words matter less from the child', () => {
    const adultAsks = run(a, ADULT_CHILD, [['adult', 'are your parents home? dont tell your mom']]).results[0];
    const childSays = run(a, ADULT_CHILD, [['kid', 'are your parents home? dont tell your mom']]).results[0];
    expect(adultAsks.signals.map((s) => s.participantId)).toEqual(['adult', 'adult']);
    expect(childSays.signals.map((s) => s.participantId)).toEqual(['kid', 'kid']);
    expect(adultAsks.score).toBeGreaterThan(childSays.score * 3);
  });

  it('infers ages stated in the chat and scores adult-to-minor above unknown ages', () => {
    const lines: Array<[string, string]> = [
      ['x', 'how old are you'],
      ['y', 'im 12'],
      ['x', 'are you home alone?'],
    ];
    const { results, state } = run(a, { conversationId: 'c2' }, lines);
    expect(state.participants.find((p) => p.id === 'y')!.inferredAge).toBe(12);
    const unknown = run(a, { conversationId: 'c3' }, [lines[0], ['y', 'guess'], lines[2]]).results[2];
    expect(results[2].score).toBeGreaterThan(unknown.score);
  });

  it('damps peers, adults among themselves and conversations with parents involved', () => {
    const lines: Array<[string, string]> = [
      ['a', 'you are so cute'],
      ['a', 'send me a pic'],
      ['a', 'we should meet up after school'],
    ];
    const teens = run(a, { conversationId: 't', participants: [{ id: 'a', declaredAge: 15 }, { id: 'b', declaredAge: 14 }] }, lines);
    const adultChild = run(a, { conversationId: 'g', participants: [{ id: 'a', declaredAge: 40 }, { id: 'b', declaredAge: 14 }] }, lines);
    expect(teens.state.score).toBeLessThan(adultChild.state.score / 3);
    const withParent = run(a, { conversationId: 'p', participants: [{ id: 'a', declaredAge: 40 }, { id: 'b', declaredAge: 14 }] }, [
      ...lines,
      ['a', 'i will ask your mom first, parents are welcome'],
    ]);
    expect(withParent.state.score).toBeLessThan(adultChild.state.score);
  });

  it('applies the analysis policy', () => {
    const adults: ConversationMeta = { conversationId: 'd', participants: [{ id: 'a', declaredAge: 30 }, { id: 'b', declaredAge: 29 }] };
    const r = run(a, adults, GROOMING.map(([, t]) => ['a', t] as [string, string]));
    expect(r.results.every((x) => x.score === 0 && !x.analysed && !x.alerted)).toBe(true);
    const declaredOnly = new ConversationAnalyzer({ config: { policy: 'declared-minor' } });
    expect(declaredOnly.createState({ conversationId: 'u' }).analysed).toBe(false);
    expect(declaredOnly.createState(ADULT_CHILD).analysed).toBe(true);
    expect(new ConversationAnalyzer({ config: { policy: 'all' } }).createState(adults).analysed).toBe(true);
    expect(a.createState({ conversationId: 'u' }).analysed).toBe(true);
    expect(a.createState({ conversationId: 'b', participants: [{ id: 'a', ageBand: 'adult' }, { id: 'b', ageBand: 'minor' }] }).analysed).toBe(true);
  });

  it('decays evidence over time and re-arms the alert after it decays', () => {
    const fast = new ConversationAnalyzer({ config: { halfLifeMs: DAY } });
    const lines: Array<[string, string, number]> = GROOMING.slice(0, 8).map(([s, t], i) => [s, t, T0 + i * MIN]);
    const { state } = run(fast, ADULT_CHILD, lines);
    expect(state.alerts).toBe(1);
    const later = fast.update(state, { id: 'late', senderId: 'kid', sentAtMs: T0 + 10 * DAY, text: 'hi' });
    expect(later.score).toBeLessThan(state.score / 10);
    expect(later.stage).toBe('none');
    expect(later.state.armed).toBe(true);
    let s = later.state;
    let again: GroomingAlert | undefined;
    for (const [i, [who, text]] of GROOMING.slice(2, 8).entries()) {
      const r = fast.update(s, { id: `again${i}`, senderId: who, sentAtMs: T0 + 10 * DAY + (i + 1) * MIN, text });
      s = r.state;
      again ??= r.alert;
    }
    expect(again?.reason).toBe('rearmed');
    expect(again?.alertNumber).toBe(2);
  });

  it('does not modify the input state', () => {
    const s0 = a.createState(ADULT_CHILD);
    const before = JSON.stringify(s0);
    a.update(s0, { id: 'm', senderId: 'adult', sentAtMs: T0, text: 'are your parents home' });
    expect(JSON.stringify(s0)).toBe(before);
  });

  it('never keeps message text in the state', () => {
    const { state } = run(a, ADULT_CHILD, [['adult', 'zebracorn are your parents home']]);
    expect(JSON.stringify(state)).not.toContain('zebracorn');
    expect(JSON.stringify(state)).not.toContain('parents home');
  });

  it('raises the score for late-night messages, initiation and fan-out', () => {
    const lines: Array<[string, string, number]> = [
      ['adult', 'hey', 0],
      ['adult', 'how old are you', 0],
      ['kid', 'hi', 0],
      ['adult', 'you are so pretty', 0],
    ];
    const at = (base: number) => lines.map(([s, t], i) => [s, t, base + i * MIN] as [string, string, number]);
    const day = run(a, ADULT_CHILD, at(T0)).state.score;
    const night = run(a, ADULT_CHILD, at(Date.UTC(2026, 0, 10, 23, 30))).state.score;
    expect(night).toBeGreaterThan(day);
    const tracker = new InMemoryFanOutTracker();
    const fan = new ConversationAnalyzer({ fanOutTracker: tracker });
    let last = 0;
    for (let c = 0; c < 5; c++) last = run(fan, { ...ADULT_CHILD, conversationId: `fan${c}` }, at(T0)).state.score;
    expect(last).toBeGreaterThan(day);
    expect(run(a, ADULT_CHILD, at(T0)).state.participants[0].fanOut).toBe(0);
  });

  it('detects the language from stopwords when metadata lacks it', () => {
    const { state } = run(a, { conversationId: 'de' }, [
      ['a', 'hallo wie geht es dir'],
      ['b', 'mir geht es gut und dir'],
      ['a', 'ich bin auch gut, was machst du'],
    ]);
    expect(state.language).toBe('de');
    expect(a.createState({ conversationId: 'x', language: 'FR' }).language).toBe('fr');
    expect(a.createState({ conversationId: 'x', language: 'pt' }).language).toBeNull();
  });

  it('keeps a bounded evidence list with first and latest occurrence', () => {
    const small = new ConversationAnalyzer({ config: { maxEvidence: 4 } });
    const { state } = run(small, ADULT_CHILD, [
      ['adult', 'are your parents home'],
      ['adult', 'are your parents home'],
      ['adult', 'are your parents home'],
      ['adult', 'how old are you'],
      ['adult', 'dont tell your mom'],
      ['adult', 'send me a pic'],
    ]);
    expect(state.evidence.length).toBe(4);
    expect(state.evidence.filter((e) => e.first).map((e) => e.signal)).toEqual(['supervision_probe', 'age_probe', 'secrecy', 'photo_request']);
  });

  it('accepts an added language lexicon', () => {
    const it: LanguageLexicon = {
      language: 'it',
      name: 'Italiano (example)',
      stopwords: ['il', 'che', 'non'],
      selfAge: ['ho # anni'],
      signals: { supervision_probe: ['(i tuoi|tua mamma|tuo papa) (sono|e) a casa'], secrecy: ['non dirlo a nessuno'] },
    };
    const withIt = new ConversationAnalyzer({ lexicons: [...BUILTIN_LEXICONS, it] });
    expect(withIt.languages()).toContain('it');
    let s = withIt.createState({ conversationId: 'it1', language: 'it', participants: [{ id: 'a', declaredAge: 40 }, { id: 'k' }] });
    const r1 = withIt.update(s, { id: 'm1', senderId: 'k', sentAtMs: T0, text: 'ho 12 anni' });
    s = r1.state;
    const r2 = withIt.update(s, { id: 'm2', senderId: 'a', sentAtMs: T0 + MIN, text: 'I tuoi sono a casa? Non dirlo a nessuno' });
    expect(r2.state.participants[1].inferredAge).toBe(12);
    expect(r2.signals.map((x) => x.signal)).toEqual(['supervision_probe', 'secrecy']);
    expect(() => new ConversationAnalyzer({ lexicons: [{ ...it, signals: { secrecy: ['(broken'] } }] })).toThrow(
      expect.objectContaining({ code: 'lexicon_invalid' }),
    );
  });

  it('rejects malformed messages and metadata with message_invalid', () => {
    const s = a.createState(ADULT_CHILD);
    const bad = [
      { id: '', senderId: 'a', sentAtMs: 1, text: 'x' },
      { id: 'm', senderId: '', sentAtMs: 1, text: 'x' },
      { id: 'm', senderId: 'a', sentAtMs: Number.NaN, text: 'x' },
      { id: 'm', senderId: 'a', sentAtMs: 1, text: 5 },
    ];
    for (const m of bad) {
      expect(() => a.update(s, m as unknown as ChatMessage)).toThrow(GroomingInputError);
    }
    expect(() => a.createState({ conversationId: '' })).toThrow(expect.objectContaining({ code: 'message_invalid' }));
    expect(() => new ConversationAnalyzer({ config: { alertThreshold: 2 } })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });
});
