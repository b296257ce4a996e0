/**
 * Deterministic generator of the synthetic, NON-EXPLICIT grooming evaluation corpus.
 *
 * Every conversation is built from a scenario script (a sequence of moves such as `g_age_probe`
 * or `p_pickup`), phrasings drawn from per-language pools, benign filler chat in between, and
 * variation: typos, casing, emoji, evasion spellings (leetspeak, spaced letters, zero-width
 * characters, homoglyphs, repeated letters), pacing and time of day. A seeded PRNG makes the
 * output reproducible byte for byte.
 *
 * Splits: the tuning split only uses even-indexed phrasings of every pool, the test split only
 * odd-indexed ones, so rules tuned on one split are measured on phrasings they never saw.
 *
 * Labels: grooming conversations carry `firstFlagIndex`, the first message at which a careful
 * moderator would flag the conversation. Rule (applied while generating): each adult move has a
 * severity (greeting 0; age probe, flattery, personal questions, gifts 1; platform move,
 * exclusivity, isolation, supervision probe, pressure 2; "mature for your age", secrecy,
 * deletion, photo/webcam requests, sexualised language, threats, meeting requests 3); the flag
 * is the first adult move at which the running total reaches 4 while the other participant is
 * known or asked to be a minor.
 *
 * Usage: `npx tsx bench/grooming/corpus/generate.ts` writes tune/test JSONL (CLI input format)
 * and matching `.labels.jsonl` files next to this script.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededUnitRandom } from '@safeguard/domain/testing';
import type { Move, PhrasePool } from './moves';
import { de } from './phrases/de';
import { en } from './phrases/en';
import { es } from './phrases/es';
import { fr } from './phrases/fr';
import { nl } from './phrases/nl';

/** A corpus split. */
export type Split = 'tune' | 'test';

/** One conversation in the CLI input format. */
export interface CorpusConversation {
  conversationId: string;
  language: string;
  participants: Array<{ id: string; declaredAge?: number }>;
  messages: Array<{ id: string; senderId: string; sentAtMs: number; text: string }>;
}

/** Ground truth for one conversation. */
export interface CorpusLabel {
  conversationId: string;
  split: Split;
  language: string;
  scenario: string;
  grooming: boolean;
  /** 0-based index of the first message a careful moderator would flag (grooming only). */
  firstFlagIndex: number | null;
  firstFlagMessageId: string | null;
}

/** A generated conversation with its label. */
export interface CorpusItem {
  conversation: CorpusConversation;
  label: CorpusLabel;
}

export const LANGUAGES: Record<string, PhrasePool> = { en, de, fr, es, nl };

/** Seeded PRNG in [0, 1): the string seed hashed to 32 bits, then mulberry32 (`@safeguard/domain/testing`). */
function rngFrom(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  return seededUnitRandom(h >>> 0);
}

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rng, p: number): boolean => r() < p;
function shuffle<T>(r: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
function sample<T>(r: Rng, xs: readonly T[], n: number): T[] {
  return shuffle(r, xs.slice()).slice(0, Math.max(0, Math.min(n, xs.length)));
}

const SEVERITY: Partial<Record<Move, number>> = {
  g_age_probe: 1, g_flattery: 1, g_personal: 1, g_gift: 1,
  g_platform: 2, g_exclusive: 2, g_isolation: 2, g_supervision: 2, g_pressure: 2,
  g_mature: 3, g_secrecy: 3, g_deletion: 3, g_photo: 3, g_webcam: 3, g_sexualised: 3, g_threat: 3, g_meeting: 3,
};
/** Adult moves that carry risk and may be written with evasion spellings. */
const RISKY = new Set<Move>(Object.keys(SEVERITY) as Move[]);
const GAMES = ['Minecraft', 'Roblox', 'Fortnite', 'Mario Kart', 'the racing game'];
const APPS = ['WhatsApp', 'Telegram', 'Snapchat', 'Discord', 'Signal'];
const HOMOGLYPH: Record<string, string> = { a: 'а', e: 'е', o: 'о', p: 'р', c: 'с', i: 'і', s: 'ѕ' };
const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '5', t: '7' };
const EMOJI = ['😊', '😂', '👍', '😉', '🙂', '❤️', '😅', '🥺'];
const MOVE_EMOJI: Partial<Record<Move, string>> = { g_secrecy: '🤫', g_photo: '📸', g_gift: '🎁', t_ask_pic: '📸', gp_gift: '🎁' };

/** Alters one word of `text` with an evasion technique. */
function evade(r: Rng, text: string): string {
  const words = text.split(' ');
  const candidates = words.map((w, i) => [w, i] as const).filter(([w]) => /^[\p{L}]{4,}$/u.test(w));
  if (candidates.length === 0) return text;
  const [w, i] = pick(r, candidates);
  const technique = int(r, 0, 5);
  let out = w;
  if (technique === 0) out = [...w].map((ch) => (chance(r, 0.6) ? (LEET[ch] ?? ch) : ch)).join('');
  else if (technique === 1) out = [...w].join(pick(r, [' ', '.', '-']));
  else if (technique === 2) out = [...w].map((ch, k) => (k > 0 && chance(r, 0.4) ? '\u200b' + ch : ch)).join('');
  else if (technique === 3) out = [...w].map((ch) => (chance(r, 0.5) ? (HOMOGLYPH[ch] ?? ch) : ch)).join('');
  else if (technique === 4) out = w.replace(/([aeiou])/, (v) => v.repeat(int(r, 3, 5)));
  else out = w.toUpperCase();
  words[i] = out;
  return words.join(' ');
}

/** Adds a typo (dropped or swapped letter) to one longer word. */
function typo(r: Rng, text: string): string {
  const words = text.split(' ');
  const idx = words.map((w, i) => [w, i] as const).filter(([w]) => /^[a-z]{5,}$/.test(w));
  if (idx.length === 0) return text;
  const [w, i] = pick(r, idx);
  const k = int(r, 1, w.length - 2);
  words[i] = chance(r, 0.5) ? w.slice(0, k) + w.slice(k + 1) : w.slice(0, k) + w[k + 1] + w[k] + w.slice(k + 2);
  return words.join(' ');
}

interface Person {
  id: string;
  age: number;
  declared: boolean;
  lower: boolean;
}

interface Step {
  who: 0 | 1;
  move: Move;
}

interface Plan {
  scenario: string;
  grooming: boolean;
  people: [Person, Person];
  steps: Step[];
  /** Pace: typical gap in seconds; `days` adds multi-day pauses. */
  pace: { minSec: number; maxSec: number; days: boolean; night: boolean };
}

function person(r: Rng, id: string, age: number, pDeclared: number): Person {
  return { id, age, declared: chance(r, pDeclared), lower: chance(r, 0.6) };
}

/** Filler exchanges: `n` rounds of chat and replies between the two participants. */
function filler(r: Rng, n: number): Step[] {
  const out: Step[] = [];
  for (let i = 0; i < n; i++) {
    const who = int(r, 0, 1) as 0 | 1;
    out.push({ who, move: 'f_chat' });
    if (chance(r, 0.8)) out.push({ who: (1 - who) as 0 | 1, move: 'f_reply' });
  }
  return out;
}

const GROOMING_VARIANTS = ['classic', 'fast', 'slow', 'gamer', 'sextortion', 'liar'] as const;

function groomingPlan(r: Rng, variant: (typeof GROOMING_VARIANTS)[number], uid: () => string): Plan {
  const adult = person(r, uid(), int(r, 23, 55), 0);
  const child = person(r, uid(), int(r, 11, 15), 0);
  const ageInfo = r();
  if (ageInfo < 0.35) {
    adult.declared = true;
    child.declared = true;
  } else if (ageInfo < 0.55) child.declared = true;
  const steps: Step[] = [];
  const A = (move: Move): void => void steps.push({ who: 0, move });
  const C = (move: Move): void => void steps.push({ who: 1, move });
  const chatter = (lo: number, hi: number): void => void steps.push(...filler(r, int(r, lo, hi)));
  const fast = variant === 'fast';
  const slow = variant === 'slow';
  A('g_greet');
  C('c_ok');
  chatter(fast ? 0 : 1, slow ? 5 : 3);
  if (variant === 'gamer') {
    A('g_gift');
    C('c_ok');
    chatter(0, 2);
  }
  if (!child.declared || chance(r, 0.7)) {
    A('g_age_probe');
    C('c_age_answer');
    if (variant === 'liar' || chance(r, 0.1)) A('g_claim_teen');
  }
  const trust = sample(r, ['g_flattery', 'g_personal', 'g_gift', 'g_flattery'] as Move[], fast ? 1 : int(r, 1, 3));
  for (const m of trust) {
    A(m);
    if (chance(r, 0.6)) C(pick(r, ['c_ok', 'f_reply', 'c_hesitant'] as Move[]));
    chatter(0, fast ? 0 : slow ? 3 : 2);
  }
  const groups: Move[][] = [];
  if (chance(r, 0.6)) groups.push(['g_supervision']);
  groups.push(sample(r, ['g_mature', 'g_exclusive', 'g_secrecy', 'g_isolation', 'g_platform', 'g_deletion'] as Move[], int(r, 1, 3)));
  if (variant === 'sextortion') groups.push(['g_photo', 'g_pressure', 'g_threat', 'g_threat']);
  else groups.push(sample(r, ['g_photo', 'g_webcam', 'g_sexualised', 'g_pressure', 'g_platform'] as Move[], int(r, 1, 2)));
  if (chance(r, variant === 'sextortion' ? 0.2 : 0.55)) groups.push(['g_meeting']);
  if (groups.length > 2 && chance(r, 0.2)) [groups[0], groups[1]] = [groups[1], groups[0]];
  for (const g of groups) {
    for (const m of g) {
      A(m);
      if (m === 'g_supervision') C('c_alone');
      else if (chance(r, 0.65)) C(pick(r, ['c_ok', 'c_hesitant', 'f_reply'] as Move[]));
      chatter(0, fast ? 1 : slow ? 3 : 2);
    }
  }
  return {
    scenario: `grooming_${variant}`,
    grooming: true,
    people: [adult, child],
    steps,
    pace: { minSec: fast ? 5 : 20, maxSec: fast ? 90 : 600, days: slow || chance(r, 0.2), night: chance(r, 0.35) },
  };
}

export const NEGATIVE_SCENARIOS = ['teens', 'parent_child', 'coach', 'dating', 'gamers', 'siblings', 'safety_talk', 'parent_warning', 'grandparent', 'friends'] as const;
type NegativeScenario = (typeof NEGATIVE_SCENARIOS)[number];
/** Negative scenarios per language and split (24), many of them hard negatives. */
const NEGATIVE_MIX: NegativeScenario[] = [
  'teens', 'teens', 'teens', 'teens', 'parent_child', 'parent_child', 'parent_child', 'coach', 'coach', 'coach',
  'dating', 'dating', 'dating', 'gamers', 'gamers', 'gamers', 'siblings', 'siblings', 'safety_talk', 'safety_talk',
  'parent_warning', 'parent_warning', 'grandparent', 'friends',
];

function negativePlan(r: Rng, scenario: NegativeScenario, uid: () => string): Plan {
  const steps: Step[] = [];
  const say = (who: 0 | 1, move: Move): void => void steps.push({ who, move });
  const chatter = (lo: number, hi: number): void => void steps.push(...filler(r, int(r, lo, hi)));
  const some = (moves: Array<[0 | 1, Move]>, lo: number, hi: number, replies: Move[]): void => {
    for (const [who, move] of sample(r, moves, int(r, lo, hi))) {
      say(who, move);
      if (chance(r, 0.7)) say((1 - who) as 0 | 1, pick(r, replies));
      chatter(0, 2);
    }
  };
  let people: [Person, Person];
  switch (scenario) {
    case 'teens': {
      people = [person(r, uid(), int(r, 13, 16), 0.5), person(r, uid(), int(r, 13, 16), 0.5)];
      chatter(1, 3);
      if (chance(r, 0.4)) {
        say(0, 't_age_share');
        say(1, 't_age_share');
      }
      some([[0, 't_compliment'], [1, 't_compliment'], [0, 't_snap'], [0, 't_ask_pic'], [1, 't_meet'], [0, 't_crush_secret'], [1, 't_ask_pic']], 2, 5, ['f_reply', 'c_ok']);
      break;
    }
    case 'parent_child': {
      people = [person(r, uid(), int(r, 33, 52), 0.4), person(r, uid(), int(r, 9, 15), 0.6)];
      say(0, 'p_where');
      say(1, 'c_parent_reply');
      some([[0, 'p_pickup'], [0, 'p_home'], [0, 'p_love'], [1, 'f_chat'], [0, 'f_chat']], 2, 4, ['c_parent_reply']);
      break;
    }
    case 'coach': {
      people = [person(r, uid(), int(r, 24, 50), 0.5), person(r, uid(), int(r, 10, 16), 0.6)];
      some([[0, 'co_praise'], [0, 'co_schedule'], [0, 'co_form'], [0, 'co_parent_cc'], [0, 'co_praise']], 3, 5, ['c_ok', 'f_reply']);
      break;
    }
    case 'dating': {
      people = [person(r, uid(), int(r, 22, 45), 0.4), person(r, uid(), int(r, 22, 45), 0.4)];
      chatter(1, 3);
      if (chance(r, 0.4)) {
        say(0, 'd_age');
        say(1, 'd_age');
      }
      some([[0, 'd_compliment'], [1, 'd_compliment'], [0, 'd_meet'], [1, 'd_pic'], [0, 'd_pic'], [1, 'd_miss'], [0, 'd_miss']], 3, 5, ['f_reply', 'c_ok']);
      break;
    }
    case 'gamers': {
      const young = chance(r, 0.5);
      people = [person(r, uid(), young ? int(r, 13, 17) : int(r, 18, 35), 0.3), person(r, uid(), int(r, 12, 17), 0.3)];
      chatter(1, 2);
      some([[0, 'gm_trade'], [1, 'gm_trade'], [0, 'gm_discord'], [0, 'gm_screenshot'], [1, 'gm_screenshot'], [0, 'gm_age']], 2, 4, ['f_reply', 'gm_age']);
      break;
    }
    case 'siblings': {
      people = [person(r, uid(), int(r, 12, 20), 0.5), person(r, uid(), int(r, 10, 16), 0.5)];
      chatter(0, 2);
      some([[0, 's_secret'], [1, 's_delete'], [1, 's_pickup'], [0, 's_delete'], [1, 's_secret']], 2, 4, ['f_reply', 'c_ok']);
      break;
    }
    case 'safety_talk': {
      const teen = chance(r, 0.4);
      people = [person(r, uid(), int(r, 30, 55), 0.5), person(r, uid(), teen ? int(r, 13, 16) : int(r, 30, 55), 0.5)];
      some([[0, 'sd_topic'], [1, 'sd_article'], [0, 'sd_school'], [1, 'sd_topic'], [0, 'sd_article']], 2, 4, ['f_reply', 'c_ok']);
      break;
    }
    case 'parent_warning': {
      people = [person(r, uid(), int(r, 33, 52), 0.5), person(r, uid(), int(r, 10, 15), 0.6)];
      chatter(0, 1);
      some([[0, 'pw_warn'], [0, 'pw_never'], [0, 'pw_block'], [0, 'p_love']], 2, 4, ['c_parent_reply', 'c_ok']);
      break;
    }
    case 'grandparent': {
      people = [person(r, uid(), int(r, 58, 78), 0.5), person(r, uid(), int(r, 8, 14), 0.6)];
      some([[0, 'gp_gift'], [0, 'gp_photo'], [0, 'gp_love'], [0, 'gp_visit']], 3, 4, ['c_ok', 'c_parent_reply']);
      break;
    }
    default: {
      people = [person(r, uid(), int(r, 11, 16), 0.4), person(r, uid(), int(r, 11, 16), 0.4)];
      chatter(4, 8);
      if (chance(r, 0.5)) say(0, 't_meet');
      break;
    }
  }
  return {
    scenario: `benign_${scenario}`,
    grooming: false,
    people,
    steps,
    pace: { minSec: 10, maxSec: 900, days: chance(r, 0.2), night: chance(r, 0.15) },
  };
}

function render(r: Rng, pool: PhrasePool, split: Split, plan: Plan, step: Step, people: [Person, Person]): string {
  const all = pool[step.move];
  const mine = all.filter((_, i) => (split === 'tune' ? i % 2 === 0 : i % 2 === 1));
  let text = pick(r, mine.length > 0 ? mine : all);
  const [a, b] = people;
  const child = plan.grooming ? b : step.who === 0 ? b : a;
  text = text
    .replace(/\{age\}/g, String(child.age))
    .replace(/\{teenAge\}/g, String(people[step.who].age < 18 ? people[step.who].age : int(r, 13, 16)))
    .replace(/\{adultAge\}/g, String(people[step.who].age >= 18 ? people[step.who].age : int(r, 24, 40)))
    .replace(/\{game\}/g, pick(r, GAMES))
    .replace(/\{app\}/g, pick(r, APPS));
  const me = people[step.who];
  if (me.lower) text = text.toLowerCase().replace(/[.!]$/, '');
  if (chance(r, 0.08)) text = typo(r, text);
  if ((RISKY.has(step.move) && chance(r, 0.18)) || chance(r, 0.04)) text = evade(r, text);
  const special = MOVE_EMOJI[step.move];
  if (special !== undefined && chance(r, 0.3)) text += ' ' + special;
  else if (chance(r, 0.12)) text += ' ' + pick(r, EMOJI);
  return text;
}

function build(r: Rng, plan: Plan, split: Split, language: string, conversationId: string): CorpusItem {
  const pool = LANGUAGES[language];
  const [a, b] = plan.people;
  const start = Date.UTC(2025, int(r, 0, 11), int(r, 1, 28), plan.pace.night ? int(r, 21, 23) : int(r, 8, 19), int(r, 0, 59), int(r, 0, 59));
  let t = start;
  const messages: CorpusConversation['messages'] = [];
  let firstFlag: number | null = null;
  let severity = 0;
  let minorKnown = plan.people[1].declared && plan.people[1].age < 18;
  plan.steps.forEach((step, i) => {
    if (i > 0) {
      t += int(r, plan.pace.minSec, plan.pace.maxSec) * 1000;
      if (plan.pace.days && chance(r, 0.08)) t += int(r, 1, 3) * 86_400_000;
    }
    const text = render(r, pool, split, plan, step, plan.people);
    messages.push({ id: `${conversationId}-m${i}`, senderId: plan.people[step.who].id, sentAtMs: t, text });
    if (!plan.grooming) return;
    if (step.move === 'c_age_answer' || step.move === 'g_age_probe') minorKnown = true;
    const sev = step.who === 0 ? (SEVERITY[step.move] ?? 0) : 0;
    severity += sev;
    if (firstFlag === null && sev > 0 && severity >= 4 && minorKnown) firstFlag = i;
  });
  const participants = [a, b].map((p) => (p.declared ? { id: p.id, declaredAge: p.age } : { id: p.id }));
  return {
    conversation: { conversationId, language, participants, messages },
    label: {
      conversationId,
      split,
      language,
      scenario: plan.scenario,
      grooming: plan.grooming,
      firstFlagIndex: firstFlag,
      firstFlagMessageId: firstFlag === null ? null : messages[firstFlag].id,
    },
  };
}

/** Grooming conversations per language and split. */
export const GROOMING_PER_LANGUAGE = 16;

/**
 * Generates one split: for each language, 16 grooming conversations (six variants) and 24
 * benign ones (mostly hard negatives), 200 conversations in all.
 */
export function generateSplit(split: Split, seed = 'safeguard-grooming-v1'): CorpusItem[] {
  const items: CorpusItem[] = [];
  for (const language of Object.keys(LANGUAGES)) {
    for (let i = 0; i < GROOMING_PER_LANGUAGE + NEGATIVE_MIX.length; i++) {
      const r = rngFrom(`${seed}/${split}/${language}/${i}`);
      let n = 0;
      const uid = (): string => `${split}-${language}-${i}-u${n++}-${Math.floor(r() * 1e6).toString(36)}`;
      const id = `${split}-${language}-${String(i).padStart(3, '0')}`;
      const plan =
        i < GROOMING_PER_LANGUAGE
          ? groomingPlan(r, GROOMING_VARIANTS[i % GROOMING_VARIANTS.length], uid)
          : negativePlan(r, NEGATIVE_MIX[i - GROOMING_PER_LANGUAGE], uid);
      const item = build(r, plan, split, language, id);
      if (item.label.grooming && item.label.firstFlagIndex === null) throw new Error(`generator bug: ${id} has no flag point`);
      items.push(item);
    }
  }
  return items;
}

if (require.main === module) {
  for (const split of ['tune', 'test'] as const) {
    const items = generateSplit(split);
    writeFileSync(join(__dirname, `${split}.jsonl`), items.map((x) => JSON.stringify(x.conversation)).join('\n') + '\n');
    writeFileSync(join(__dirname, `${split}.labels.jsonl`), items.map((x) => JSON.stringify(x.label)).join('\n') + '\n');
    const g = items.filter((x) => x.label.grooming).length;
    const msgs = items.reduce((s, x) => s + x.conversation.messages.length, 0);
    process.stdout.write(`${split}: ${items.length} conversations (${g} grooming, ${items.length - g} benign), ${msgs} messages\n`);
  }
}
