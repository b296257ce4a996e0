import { GroomingInputError } from '../errors';
import { normalizeText } from '../normalize';
import { signalsOfMask } from '../signals';
import { compileLexicon, detectSignals } from './compile';
import type { LanguageLexicon } from './schema';

function lex(patterns: string[], selfAge: string[] = []): LanguageLexicon {
  return { language: 'xx', name: 'test', stopwords: [], selfAge, signals: { secrecy: patterns } };
}

function fires(patterns: string[], text: string): boolean {
  return signalsOfMask(detectSignals(normalizeText(text), [compileLexicon(lex(patterns))]).mask).includes('secrecy');
}

describe('pattern syntax', () => {
  it.each([
    ['keep it secret', 'please keep it secret', true],
    ['keep it secret', 'keep it a secret', false],
    ['mom|mum|dad', 'ask mum', true],
    ['delet*', 'deleting now', true],
    ['delet*', 'undelete', false],
    ['(are you|r u) alone', 'r u alone', true],
    ['(are you|r u) alone', 'are u alone', false],
    ['dont tell (your)? mom', 'dont tell mom', true],
    ['dont tell (your)? mom', 'dont tell your mom', true],
    ['send ~2 pic', 'send me a pic', true],
    ['send ~2 pic', 'send me a nice pic', false],
    ['^ hi', 'hi there', true],
    ['^ hi', 'oh hi', false],
    ['bye $', 'ok bye', true],
    ['bye $', 'bye now', false],
    ['!dont tell mom', 'tell mom', true],
    ['!dont tell mom', 'dont tell mom', false],
    ['i am #', 'i am 12', true],
    ['Mädchen', 'MAEDCHEN', false],
    ['Mädchen', 'MÄDCHEN', true],
    ['meet', 'meeeeet', true],
  ])('%j on %j -> %s', (pattern, text, expected) => {
    expect(fires([pattern], text)).toBe(expected);
  });

  it.each([
    ['(unbalanced', 'unbalanced'],
    ['closed)', 'unbalanced'],
    ['a | b', 'stray'],
    ['~9 word', 'gap'],
    ['? word', '"?"'],
    ['e-mail', 'single token'],
    ['x*', 'too short'],
    ['(a|)', 'empty alternative'],
    ['~2', 'no required token'],
  ])('rejects %j', (pattern, why) => {
    expect(() => compileLexicon(lex([pattern]))).toThrow(why);
    try {
      compileLexicon(lex([pattern]));
    } catch (err) {
      expect(err).toBeInstanceOf(GroomingInputError);
      expect((err as GroomingInputError).code).toBe('lexicon_invalid');
    }
  });

  it('rejects unknown signals, bad languages and selfAge patterns without one number', () => {
    expect(() => compileLexicon({ ...lex([]), signals: { nope: ['x y'] } as never })).toThrow('unknown signal');
    expect(() => compileLexicon({ ...lex([]), language: 'EN' })).toThrow('lowercase');
    expect(() => compileLexicon(lex([], ['i am old']))).toThrow('exactly one');
  });

  it('captures the self-stated age and skips units', () => {
    const c = compileLexicon(lex([], ['i am #']));
    expect(detectSignals(normalizeText('i am 12'), [c]).selfAge).toBe(12);
    expect(detectSignals(normalizeText('i am 12 minutes late'), [c]).selfAge).toBeUndefined();
  });
});
