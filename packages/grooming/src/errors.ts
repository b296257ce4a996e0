import { InvalidInputError } from '@safeguard/domain';

/**
 * Reason codes thrown by @safeguard/grooming. All are invalid-input errors (never retriable):
 * - `lexicon_invalid`: a language lexicon breaks the schema (unknown signal, bad pattern).
 * - `config_invalid`: analyser configuration out of range.
 * - `message_invalid`: a message lacks an id, sender or finite timestamp.
 * - `state_version_unsupported`: serialised state has a version byte this build cannot read.
 * - `state_corrupt`: serialised state is truncated or inconsistent.
 */
export type GroomingErrorCode =
  | 'lexicon_invalid'
  | 'config_invalid'
  | 'message_invalid'
  | 'state_version_unsupported'
  | 'state_corrupt';

/** Invalid input to the grooming library; `code` is a {@link GroomingErrorCode}. */
export class GroomingInputError extends InvalidInputError {
  /** The reason code. */
  declare readonly code: GroomingErrorCode;

  constructor(code: GroomingErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
