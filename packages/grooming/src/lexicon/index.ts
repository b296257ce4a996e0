import { compileLexicon, type CompiledLexicon } from './compile';
import { de } from './languages/de';
import { en } from './languages/en';
import { es } from './languages/es';
import { fr } from './languages/fr';
import { nl } from './languages/nl';
import { universal } from './languages/universal';
import type { LanguageLexicon } from './schema';

export type { LanguageLexicon } from './schema';
export { compileLexicon, detectSignals, type CompiledLexicon, type Detection } from './compile';

/** The lexicons shipped with the library: en, de, fr, es, nl and the language-neutral `universal`. */
export const BUILTIN_LEXICONS: readonly LanguageLexicon[] = [en, de, fr, es, nl, universal];

/**
 * A compiled set of lexicons, keyed by language. `universal` is always applied; English is
 * applied to every conversation too (chat English is common in all five languages).
 */
export class LexiconSet {
  /** Compiled lexicons by language subtag (including `universal`). */
  readonly byLanguage: ReadonlyMap<string, CompiledLexicon>;
  /** Every compiled lexicon, used when a conversation's language is unknown. */
  readonly all: readonly CompiledLexicon[];
  private readonly plans = new Map<string, readonly CompiledLexicon[]>();

  /**
   * @param lexicons lexicons to compile (default {@link BUILTIN_LEXICONS}); a later lexicon with
   *   the same language replaces an earlier one.
   * @throws GroomingInputError `lexicon_invalid` if any lexicon is invalid.
   */
  constructor(lexicons: readonly LanguageLexicon[] = BUILTIN_LEXICONS) {
    const map = new Map<string, CompiledLexicon>();
    for (const l of lexicons) map.set(l.language, compileLexicon(l));
    this.byLanguage = map;
    this.all = [...map.values()];
  }

  /** Languages with a lexicon (not `universal`). */
  languages(): string[] {
    return [...this.byLanguage.keys()].filter((l) => l !== 'universal');
  }

  /** The lexicons to run for a conversation in `language` (all of them when unknown). */
  forLanguage(language: string | undefined): readonly CompiledLexicon[] {
    const key = language ?? '*';
    let plan = this.plans.get(key);
    if (plan === undefined) {
      const own = language === undefined ? undefined : this.byLanguage.get(language);
      if (own === undefined) plan = this.all;
      else plan = [own, this.byLanguage.get('en'), this.byLanguage.get('universal')].filter(
        (x, i, arr): x is CompiledLexicon => x !== undefined && arr.indexOf(x) === i,
      );
      this.plans.set(key, plan);
    }
    return plan;
  }

  /** Stopword hits per language for one normalised message (index follows {@link languages}). */
  stopwordVotes(normalized: string): Map<string, number> {
    const votes = new Map<string, number>();
    const tokens = normalized.slice(1, -1).split(' ');
    for (const lex of this.all) {
      if (lex.stopwords.size === 0) continue;
      let n = 0;
      for (const t of tokens) if (lex.stopwords.has(t)) n++;
      if (n > 0) votes.set(lex.language, n);
    }
    return votes;
  }
}

let shared: LexiconSet | undefined;

/** The lazily compiled built-in lexicon set, shared by analysers that use the defaults. */
export function builtinLexiconSet(): LexiconSet {
  shared ??= new LexiconSet();
  return shared;
}
