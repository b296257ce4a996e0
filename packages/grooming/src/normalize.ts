/**
 * Text normalisation that undoes the usual evasion tricks before lexicon matching.
 *
 * Why: people who want to avoid keyword filters write "s3cr3t", "ѕecret" (Cyrillic s),
 * "sec\u200Bret" (zero-width space), "seeeecret", "s e c r e t" or "🤫". Matching on a
 * canonical form lets each lexicon stay a short list of plain words. The same function (minus
 * leetspeak, see {@link normalizeLexiconWord}) is applied to lexicon literals, so both sides
 * always agree (e.g. German "mädchen" and the input "MÄDCHEN" both become "madchen", and
 * "meet" and "meeeet" both become "met").
 *
 * Output format: tokens of `[a-z0-9]` separated by single spaces, with one leading and one
 * trailing space (" how old r u "), so patterns can anchor on whole tokens with a space.
 */

/** Longest input (UTF-16 code units) that is normalised; the rest is ignored to bound CPU. */
export const MAX_NORMALIZED_INPUT = 2000;

const ZERO_WIDTH = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/g;

/**
 * Emoji that carry meaning for grooming signals, mapped to language-neutral tokens used by the
 * `universal` lexicon. Every other emoji and pictograph becomes a separator.
 */
const EMOJI_TOKENS: ReadonlyMap<number, string> = new Map([
  [0x1f4f7, 'emjcamera'], // camera
  [0x1f4f8, 'emjcamera'], // camera with flash
  [0x1f933, 'emjcamera'], // selfie
  [0x1f4f9, 'emjvideo'], // video camera
  [0x1f3a5, 'emjvideo'], // movie camera
  [0x1f92b, 'emjsecret'], // shushing face
  [0x1f910, 'emjsecret'], // zipper-mouth face
  [0x1f92d, 'emjsecret'], // face with hand over mouth
  [0x1f381, 'emjgift'], // wrapped gift
  [0x1f4b0, 'emjmoney'], // money bag
  [0x1f4b5, 'emjmoney'], // dollar banknote
  [0x1f4b6, 'emjmoney'], // euro banknote
  [0x1f4b8, 'emjmoney'], // money with wings
  [0x1f4b2, 'emjmoney'], // heavy dollar sign
  [0x1f4f1, 'emjphone'], // mobile phone
  [0x1f4de, 'emjphone'], // telephone receiver
  [0x1f48b, 'emjkiss'], // kiss mark
  [0x1f618, 'emjkiss'], // face blowing a kiss
  [0x1f445, 'emjsuggestive'], // tongue
  [0x1f351, 'emjsuggestive'], // peach
  [0x1f346, 'emjsuggestive'], // aubergine
  [0x1f5d1, 'emjdelete'], // wastebasket
  [0x1f6ae, 'emjdelete'], // litter in bin sign
  [0x1f3e0, 'emjhome'], // house
  [0x1f697, 'emjcar'], // automobile
]);

/** Latin look-alikes (Cyrillic, Greek and a few others) after lower-casing. */
const HOMOGLYPHS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
    ѕ: 's', і: 'i', ї: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ɡ: 'g', ʏ: 'y', ɪ: 'i', ᴀ: 'a', ʙ: 'b',
    ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g', ʜ: 'h', ᴊ: 'j', ᴋ: 'k', ʟ: 'l', ᴍ: 'm', ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ʀ: 'r',
    ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ᴢ: 'z', α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o',
    ρ: 'p', τ: 't', υ: 'u', χ: 'x', γ: 'y', ω: 'w', ı: 'i', ł: 'l', ø: 'o', đ: 'd', ħ: 'h', ß: 'ss', æ: 'ae',
    œ: 'oe', þ: 'th', ð: 'd',
  }),
);

/** Leetspeak substitutions, applied only inside tokens that also contain letters. */
const LEET: Readonly<Record<string, string>> = {
  '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
  '@': 'a', $: 's', '!': 'i', '|': 'l', '€': 'e', '+': 't', '¡': 'i',
};

/** "13yo", "14j", "15ans": a number glued to an age unit stays a number, split from the unit. */
const AGE_GLUED = /^(\d{1,2})(yo|yrs?|years?|yr|y|j|jr|jahre|ans?|anos?|jaar)$/;

const APOSTROPHES = /['’‘`´ʼ]/g;
/** Runs of at least four single characters split by spaces or punctuation: "s n a p", "s.e.c.r.e.t". */
const SPACED_RUN = /(?<![a-z0-9])[a-z0-9](?:[ .\-_*·•~,/]{1,2}[a-z0-9]){3,}(?![a-z0-9])/g;
/** Three single characters split by the same punctuation (not spaces): "a.p.p", "p-i-c". */
const PUNCT_RUN3 = /(?<![a-z0-9])[a-z0-9]([.\-_*·•~/])[a-z0-9]\1[a-z0-9](?![a-z0-9])/g;
const TOKEN_CHARS = /[a-z0-9@$!|€+¡]+/g;
const ALPHA = /[a-z]/;
const DIGIT_OR_SYMBOL = /[0-9@$!|€+¡]/;
const REPEATS = /([a-z])\1+/g;
const HAS_REPEAT = /([a-z])\1/;
const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;
const HIGH_CHARS = /[\u2000-\uffff]/;
const PLAIN_WORD = /^[a-z]+$/;
/** Cheap pre-check for SPACED_RUN / PUNCT_RUN3: two single characters in a row. */
const PUNCT_OR_SPACED = /(?<![a-z0-9])[a-z0-9][ .\-_*·•~,/]{1,2}[a-z0-9](?![a-z0-9])/;

/** Replaces emoji with tokens and drops other pictographs; returns the input unchanged if none. */
function mapEmoji(s: string): string {
  if (!HIGH_CHARS.test(s)) return s;
  let out = '';
  let changed = false;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x2000) {
      out += ch;
      continue;
    }
    const token = EMOJI_TOKENS.get(cp);
    if (token !== undefined) {
      out += ` ${token} `;
      changed = true;
    } else if ((cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x2b00 && cp <= 0x2bff)) {
      out += ' ';
      changed = true;
    } else {
      out += ch;
    }
  }
  return changed ? out : s;
}

/** Lower-case, strip diacritics (NFKD minus combining marks) and map homoglyphs. */
function foldCharacters(s: string): string {
  let t = s.toLowerCase();
  if (ASCII_PRINTABLE.test(t)) return t;
  t = t.normalize('NFKD').replace(/\p{M}+/gu, '');
  let out = '';
  for (const ch of t) out += HOMOGLYPHS.get(ch) ?? ch;
  return out;
}

/** Undo leetspeak in one raw token (letters plus leet symbols); keep numbers and ages intact. */
function deLeet(token: string): string[] {
  if (PLAIN_WORD.test(token)) return [token];
  const glued = AGE_GLUED.exec(token);
  if (glued) return [glued[1], glued[2]];
  if (!ALPHA.test(token) || !DIGIT_OR_SYMBOL.test(token)) {
    // Pure numbers stay; pure symbol runs ("!!!", "$$") vanish; plain words pass through.
    if (ALPHA.test(token)) return [token];
    const digits = token.replace(/[^0-9]/g, '');
    return digits.length > 0 ? [digits] : [];
  }
  // Trailing and leading punctuation-like symbols are punctuation, not letters ("hi!!", "$5").
  const core = token.replace(/^[!|+¡@]+|^[$€]+(?=\d)|[!|+¡]+$/g, '');
  if (!ALPHA.test(core)) return core.replace(/[^0-9]/g, '') ? [core.replace(/[^0-9]/g, '')] : [];
  let out = '';
  for (const ch of core) out += LEET[ch] ?? ch;
  return [out];
}

/**
 * Normalises one chat message for lexicon matching: removes zero-width and bidi characters,
 * maps meaningful emoji to tokens, lower-cases, strips diacritics, maps homoglyphs, joins
 * spaced-out letters ("s n a p" → "snap"), undoes leetspeak inside words ("s3cr3t"), drops
 * apostrophes ("don't" → "dont", "j'ai" → "jai"), squeezes repeated letters ("pleeease" →
 * "plese", also applied to lexicon words) and splits glued ages ("13yo" → "13 yo").
 *
 * @param input raw message text; only the first {@link MAX_NORMALIZED_INPUT} code units are used.
 * @returns " tok tok tok " (leading/trailing space), or " " for empty input.
 */
export function normalizeText(input: string): string {
  let s = input.length > MAX_NORMALIZED_INPUT ? input.slice(0, MAX_NORMALIZED_INPUT) : input;
  s = s.replace(ZERO_WIDTH, '');
  s = mapEmoji(s);
  s = foldCharacters(s).replace(APOSTROPHES, '');
  if (PUNCT_OR_SPACED.test(s)) {
    s = s.replace(SPACED_RUN, (run) => run.replace(/[^a-z0-9]/g, ''));
    s = s.replace(PUNCT_RUN3, (run) => run.replace(/[^a-z0-9]/g, ''));
  }
  const tokens: string[] = [];
  for (const m of s.matchAll(TOKEN_CHARS)) {
    for (const t of deLeet(m[0])) tokens.push(HAS_REPEAT.test(t) ? t.replace(REPEATS, '$1') : t);
  }
  return tokens.length === 0 ? ' ' : ` ${tokens.join(' ')} `;
}

/**
 * Normalises one lexicon word the way {@link normalizeText} normalises input, without
 * leetspeak (digits in lexicon words are meant literally): lower-case, no diacritics, no
 * apostrophes, homoglyphs mapped, repeated letters squeezed.
 */
export function normalizeLexiconWord(word: string): string {
  return foldCharacters(word).replace(APOSTROPHES, '').replace(REPEATS, '$1');
}
