/**
 * @safeguard/grooming: explainable, early grooming-risk analysis of chat conversations.
 *
 * Entry point: {@link ConversationAnalyzer} (`createState`, `update`, `serialize`,
 * `deserialize`), plus the {@link InMemoryFanOutTracker}, the text normaliser and the lexicon
 * tools for adding a language. Alerts always need human review before any report.
 */
export { ConversationAnalyzer } from './analyzer';
export type {
  AlertReason,
  ChatMessage,
  ConversationAnalyzerOptions,
  ConversationMeta,
  GroomingAlert,
  MessageContext,
  ParticipantMeta,
  RaisedSignal,
  UpdateResult,
} from './analyzer';
export { DEFAULT_CONFIG, DEFAULT_WEIGHTS, resolveConfig } from './config';
export type { AnalysisPolicy, AnalyzerConfig, ReAlertMode } from './config';
export { GroomingInputError } from './errors';
export type { GroomingErrorCode } from './errors';
export { InMemoryFanOutTracker } from './fan-out';
export type { FanOutTracker, InMemoryFanOutTrackerOptions } from './fan-out';
export { BUILTIN_LEXICONS, builtinLexiconSet, compileLexicon, detectSignals, LexiconSet } from './lexicon';
export type { CompiledLexicon, Detection, LanguageLexicon } from './lexicon';
export { MAX_NORMALIZED_INPUT, normalizeLexiconWord, normalizeText } from './normalize';
export { deserializeState, serializeState, STATE_FORMAT_VERSION } from './serialize';
export { isSignalId, PROTECTIVE_SIGNALS, SIGNAL_COUNT, SIGNAL_INDEX, SIGNAL_STAGE, SIGNALS, signalsOfMask, STAGES } from './signals';
export type { SignalId, Stage } from './signals';
export type { ConversationState, EvidenceEntry, ParticipantState } from './state';
