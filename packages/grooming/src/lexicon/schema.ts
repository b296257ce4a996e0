import type { SignalId } from '../signals';

/**
 * One language's lexicon: phrase patterns per signal, plus the patterns that reveal the
 * sender's own age and a few stopwords used to guess the language.
 *
 * Why patterns and not regular expressions: lexicon authors write plain words in their
 * language and the compiler applies the same normalisation as the input (case, diacritics,
 * repeated letters), so a lexicon cannot drift from the normaliser. The pattern syntax works on
 * whole tokens:
 *
 * | syntax        | meaning                                                   | example                      |
 * |---------------|-----------------------------------------------------------|------------------------------|
 * | `word`        | exactly this token                                        | `secret`                     |
 * | `a\|b`        | one of these tokens                                       | `mom\|mum\|dad`              |
 * | `word*`       | a token starting with `word`                              | `delet*`                     |
 * | `(a b\|c)`    | one of these token sequences                              | `(are you\|r u) alone`       |
 * | `x?`          | the previous slot is optional (word, alternatives, group) | `dont tell (your parents)?`  |
 * | `~N`          | between 0 and N arbitrary tokens (N ≤ 6)                  | `send ~2 pic*`               |
 * | `#`           | a number (1–2 digits); in `selfAge` it captures the age   | `i am #`                     |
 *
 * Keep "sexualised_language" to mild, clinical or euphemistic words; never write explicit
 * phrases here or in tests.
 */
export interface LanguageLexicon {
  /** BCP 47 primary language subtag, lowercase (`en`, `de`, ...), or `universal`. */
  readonly language: string;
  /** Human-readable name of the language, for documentation. */
  readonly name: string;
  /** Frequent function words, used to guess the language of a conversation without a hint. */
  readonly stopwords: readonly string[];
  /** Patterns per signal. A signal may be absent; an absent signal never fires in this language. */
  readonly signals: Readonly<Partial<Record<SignalId, readonly string[]>>>;
  /**
   * First-person age statements with exactly one `#` (the age), e.g. `i am # years old`. A match
   * raises `age_disclosure` and sets the sender's inferred age.
   */
  readonly selfAge: readonly string[];
}
