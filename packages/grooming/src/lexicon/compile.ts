import { GroomingInputError } from '../errors';
import { normalizeLexiconWord } from '../normalize';
import { isSignalId, SIGNAL_INDEX, type SignalId } from '../signals';
import type { LanguageLexicon } from './schema';

type Term = { kind: 'word'; text: string; prefix: boolean } | { kind: 'num' };
type Node =
  | { kind: 'alt'; terms: Term[]; optional: boolean }
  | { kind: 'anchor'; at: 'start' | 'end' }
  | { kind: 'not'; words: string[] }
  | { kind: 'group'; seqs: Node[][]; optional: boolean }
  | { kind: 'gap'; max: number };

/** Units that show a number after "I am" is not an age ("im 5 min away", "ich bin 10 km weg"). */
const NOT_AGE_UNITS =
  'min|mins|minute|minutes|minuten|minuto|minutos|minuut|sec|secs|h|hr|hrs|hour|hours|heure|heures|hora|horas|uur|stunde|stunden|std|km|mi|mile|miles|kilometer|kilometers|meter|metres|cm|kg|lbs|pounds|euro|euros|eur|dollar|dollars|bucks|percent|procent|prozent|pm|am|uhr|ft|feet|x';

/** Largest `~N` gap allowed, to keep patterns cheap. */
const MAX_GAP = 6;

interface CompiledPattern {
  readonly signalBit: number;
  readonly regex: RegExp;
  readonly selfAge: boolean;
}

/**
 * A lexicon compiled for fast matching: one regular expression per pattern plus an index from
 * a required token (or its first three letters, for `word*`) to the patterns that need it, so
 * a message only runs the few patterns whose anchor token it contains.
 */
export interface CompiledLexicon {
  /** Language subtag of the source lexicon. */
  readonly language: string;
  /** Normalised stopwords, for language guessing. */
  readonly stopwords: ReadonlySet<string>;
  /** Number of patterns compiled (for diagnostics). */
  readonly patternCount: number;
  /** @internal */
  readonly patterns: readonly CompiledPattern[];
  /** @internal */
  readonly exact: ReadonlyMap<string, readonly number[]>;
  /** @internal */
  readonly prefix3: ReadonlyMap<string, readonly number[]>;
  /** @internal */
  readonly always: readonly number[];
}

function fail(lang: string, pattern: string, why: string): never {
  throw new GroomingInputError('lexicon_invalid', `lexicon ${lang}: pattern "${pattern}": ${why}`);
}

/** Splits a pattern into tokens; `' '` marks whitespace (it separates slots outside groups). */
function tokenizePattern(p: string): string[] {
  const out: string[] = [];
  for (const m of p.trim().matchAll(/\s+|[()?^$|]|~\d+|[^\s()?^$|]+/g)) out.push(/^\s+$/.test(m[0]) ? ' ' : m[0]);
  return out;
}

function parseTerm(raw: string, lang: string, pattern: string): Term {
  if (raw === '#') return { kind: 'num' };
  const prefix = raw.endsWith('*');
  const word = normalizeLexiconWord(prefix ? raw.slice(0, -1) : raw);
  if (!/^[a-z0-9]+$/.test(word)) fail(lang, pattern, `"${raw}" is not a single token after normalisation`);
  if (prefix && word.length < 2) fail(lang, pattern, `prefix "${raw}" is too short`);
  return { kind: 'word', text: word, prefix };
}

/**
 * Parses a slot sequence. Outside groups `a|b` (no spaces) is a one-token alternative; inside a
 * group `|` separates whole sequences: `(are you|r u)`.
 */
function parseSeq(tokens: string[], pos: { i: number }, lang: string, pattern: string, inGroup: boolean): Node[][] {
  const seqs: Node[][] = [[]];
  let negate = false;
  while (pos.i < tokens.length) {
    const t = tokens[pos.i];
    const seq = seqs[seqs.length - 1];
    if (t === ' ') {
      pos.i++;
    } else if (t === ')') {
      if (!inGroup) fail(lang, pattern, 'unbalanced ")"');
      pos.i++;
      if (seqs.some((s) => s.length === 0)) fail(lang, pattern, 'empty alternative in group');
      return seqs;
    } else if (t === '(') {
      pos.i++;
      seq.push({ kind: 'group', seqs: parseSeq(tokens, pos, lang, pattern, true), optional: false });
    } else if (t === '?') {
      const last = seq[seq.length - 1];
      if (!last || (last.kind !== 'alt' && last.kind !== 'group') || last.optional) fail(lang, pattern, '"?" must follow a word or group');
      last.optional = true;
      pos.i++;
    } else if (t === '^' || t === '$') {
      seq.push({ kind: 'anchor', at: t === '^' ? 'start' : 'end' });
      pos.i++;
    } else if (t.startsWith('~')) {
      const max = Number(t.slice(1));
      if (!(max >= 1 && max <= MAX_GAP)) fail(lang, pattern, `gap ${t} must be ~1..~${MAX_GAP}`);
      seq.push({ kind: 'gap', max });
      pos.i++;
    } else if (t === '|') {
      if (!inGroup) fail(lang, pattern, 'stray "|" (write a|b without spaces, or use a group)');
      seqs.push([]);
      pos.i++;
    } else {
      // A word, possibly "!word" (negation) and, outside groups, glued alternatives "a|b|c".
      const raw: string[] = [t];
      pos.i++;
      if (!inGroup) {
        while (tokens[pos.i] === '|' && tokens[pos.i + 1] !== undefined && !/^[ ()?^$|]$/.test(tokens[pos.i + 1])) {
          raw.push(tokens[pos.i + 1]);
          pos.i += 2;
        }
      }
      if (raw[0].startsWith('!')) {
        raw[0] = raw[0].slice(1);
        negate = true;
      }
      const terms = raw.map((x) => parseTerm(x, lang, pattern));
      if (negate) {
        if (terms.some((w) => w.kind !== 'word' || w.prefix)) fail(lang, pattern, 'a "!" negation must list plain words');
        seq.push({ kind: 'not', words: terms.map((w) => (w.kind === 'word' ? w.text : '')) });
        negate = false;
      } else {
        seq.push({ kind: 'alt', terms, optional: false });
      }
    }
  }
  if (inGroup) fail(lang, pattern, 'unbalanced "("');
  return seqs;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function termSource(t: Term, capture: boolean): string {
  if (t.kind === 'num') return capture ? `(\\d{1,2})(?= (?!(?:${NOT_AGE_UNITS}) ))` : '\\d{1,2}';
  return escape(t.text) + (t.prefix ? '[a-z0-9]*' : '');
}

function nodeSource(n: Node, capture: boolean): string {
  if (n.kind === 'gap') return `(?:[a-z0-9]+ ){0,${n.max}}`;
  if (n.kind === 'anchor') return n.at === 'start' ? '(?<=^ )' : '$';
  if (n.kind === 'not') return `(?<! (?:${n.words.map(escape).join('|')}) )`;
  let body: string;
  if (n.kind === 'alt') {
    const alts = n.terms.map((t) => termSource(t, capture));
    body = (alts.length === 1 ? alts[0] : `(?:${alts.join('|')})`) + ' ';
  } else {
    body = `(?:${n.seqs.map((s) => s.map((x) => nodeSource(x, capture)).join('')).join('|')})`;
  }
  return n.optional ? `(?:${body})?` : body;
}

function countNums(nodes: Node[]): number {
  let c = 0;
  for (const n of nodes) {
    if (n.kind === 'alt') c += n.terms.filter((t) => t.kind === 'num').length;
    else if (n.kind === 'group') for (const s of n.seqs) c += countNums(s);
  }
  return c;
}

/** Tokens (exact, or prefixes marked with a trailing `*`) one of which every match must contain. */
function anchorOf(seq: Node[]): string[] | null {
  for (const n of seq) {
    if (n.kind === 'gap' || n.kind === 'anchor' || n.kind === 'not' || n.optional) continue;
    if (n.kind === 'alt') {
      if (n.terms.every((t) => t.kind === 'word' && (!t.prefix || t.text.length >= 3))) {
        return n.terms.map((t) => (t.kind === 'word' ? (t.prefix ? `${t.text}*` : t.text) : ''));
      }
      continue;
    }
    const parts = n.seqs.map(anchorOf);
    if (parts.every((p): p is string[] => p !== null)) return parts.flat();
  }
  return null;
}

function push(map: Map<string, number[]>, key: string, idx: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [idx]);
  else if (!list.includes(idx)) list.push(idx);
}

/**
 * Validates and compiles a lexicon.
 *
 * @throws GroomingInputError `lexicon_invalid` for an unknown signal, a bad pattern, a word that
 *   is not one token after normalisation, or a `selfAge` pattern without exactly one `#`.
 */
export function compileLexicon(lexicon: LanguageLexicon): CompiledLexicon {
  const lang = lexicon.language;
  if (!/^[a-z]{2,3}$|^universal$/.test(lang)) {
    throw new GroomingInputError('lexicon_invalid', `lexicon language "${lang}" must be a lowercase subtag or "universal"`);
  }
  const patterns: CompiledPattern[] = [];
  const exact = new Map<string, number[]>();
  const prefix3 = new Map<string, number[]>();
  const always: number[] = [];
  const add = (signal: SignalId, pattern: string, selfAge: boolean): void => {
    const nodes = parseSeq(tokenizePattern(pattern), { i: 0 }, lang, pattern, false)[0];
    if (nodes.length === 0) fail(lang, pattern, 'empty pattern');
    if (nodes.every((n) => n.kind !== 'alt' && n.kind !== 'group' ? true : n.optional)) fail(lang, pattern, 'pattern has no required token');
    if (selfAge && countNums(nodes) !== 1) fail(lang, pattern, 'selfAge patterns need exactly one "#"');
    const idx = patterns.length;
    patterns.push({
      signalBit: SIGNAL_INDEX[signal],
      regex: new RegExp(' ' + nodes.map((n) => nodeSource(n, selfAge)).join('')),
      selfAge,
    });
    const anchor = anchorOf(nodes);
    if (anchor === null) always.push(idx);
    else
      for (const a of anchor) {
        if (a.endsWith('*')) push(prefix3, a.slice(0, 3), idx);
        else push(exact, a, idx);
      }
  };
  for (const [signal, list] of Object.entries(lexicon.signals)) {
    if (!isSignalId(signal)) throw new GroomingInputError('lexicon_invalid', `lexicon ${lang}: unknown signal "${signal}"`);
    for (const p of list ?? []) add(signal, p, false);
  }
  for (const p of lexicon.selfAge) add('age_disclosure', p, true);
  const stopwords = new Set(lexicon.stopwords.map((w) => normalizeLexiconWord(w)));
  return { language: lang, stopwords, patternCount: patterns.length, patterns, exact, prefix3, always };
}

/** What one message revealed: a signal mask and, if the sender stated it, their age. */
export interface Detection {
  /** Bit mask over {@link SIGNALS} of the signals raised by this message. */
  mask: number;
  /** Age the sender stated about themselves, if any (1–99). */
  selfAge?: number;
}

let stamp = 1;
const seenStamp = new WeakMap<CompiledLexicon, Int32Array>();

function seenFor(lex: CompiledLexicon): Int32Array {
  let s = seenStamp.get(lex);
  if (s === undefined) {
    s = new Int32Array(lex.patterns.length);
    seenStamp.set(lex, s);
  }
  return s;
}

/**
 * Runs compiled lexicons over one normalised message (see `normalizeText`).
 *
 * @param normalized output of `normalizeText` (" tok tok ").
 * @param lexicons the lexicons to apply (usually the conversation's language, English and `universal`).
 */
export function detectSignals(normalized: string, lexicons: readonly CompiledLexicon[]): Detection {
  const result: Detection = { mask: 0 };
  if (normalized.length < 2) return result;
  const tokens = normalized.slice(1, -1).split(' ');
  for (const lex of lexicons) {
    const seen = seenFor(lex);
    stamp = stamp >= 0x7ffffff0 ? 1 : stamp + 1;
    const run = (idx: number): void => {
      if (seen[idx] === stamp) return;
      seen[idx] = stamp;
      const p = lex.patterns[idx];
      const bit = 1 << p.signalBit;
      if (p.selfAge) {
        if (result.selfAge !== undefined) return;
        const m = p.regex.exec(normalized);
        if (m) {
          result.mask |= bit;
          const age = Number(m[1]);
          if (age >= 1 && age <= 99) result.selfAge = age;
        }
        return;
      }
      if ((result.mask & bit) !== 0) return;
      if (p.regex.test(normalized)) result.mask |= bit;
    };
    for (const idx of lex.always) run(idx);
    for (const t of tokens) {
      const e = lex.exact.get(t);
      if (e !== undefined) for (const idx of e) run(idx);
      if (t.length >= 3) {
        const p = lex.prefix3.get(t.slice(0, 3));
        if (p !== undefined) for (const idx of p) run(idx);
      }
    }
  }
  return result;
}
