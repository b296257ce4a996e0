import { SIGNAL_COUNT, type SignalId, type Stage } from './signals';

/**
 * What the analyser remembers about one participant: ages, counts, per-signal counters and
 * last-seen times. Never message text.
 */
export interface ParticipantState {
  /** Opaque participant id (`*` for the shared overflow slot of large group chats). */
  id: string;
  /** Age declared by the platform (profile, verified age band), or -1 when unknown. */
  declaredAge: number;
  /** Age the participant stated in the chat ("im 13"), or -1 when never stated. */
  inferredAge: number;
  /** Messages sent. */
  messages: number;
  /** Messages sent in local late-night hours. */
  lateNight: number;
  /** Consecutive messages sent without a reply from anyone else (saturates at 255). */
  unanswered: number;
  /** Distinct minors' conversations this sender had in the fan-out window at its last message (0 = unknown). */
  fanOut: number;
  /** Occurrences per signal, indexed like {@link SIGNALS}, saturating at 255. */
  counts: number[];
  /** Last occurrence per signal, in whole seconds since the conversation's first message. */
  lastSec: number[];
}

/** One piece of evidence: a signal raised by a participant in a message (id only). */
export interface EvidenceEntry {
  /** The signal. */
  signal: SignalId;
  /** Sender who raised it. */
  participantId: string;
  /** Message id (as given by the platform). */
  messageId: string;
  /** 0-based index of the message in the conversation. */
  messageIndex: number;
  /** True for the first occurrence of this signal by this sender, false for the latest repeat. */
  first: boolean;
}

/**
 * Per-conversation analyser state. Compact and serialisable (see `serializeState`): counts,
 * bit sets, timestamps and a bounded list of evidence message ids; never message text.
 *
 * Why a plain object: the grooming service keeps one per active conversation and stores it in a
 * compacted Kafka changelog after every message, so it must round-trip through bytes and be
 * cheap to copy. Treat it as immutable: `update` returns a new state.
 */
export interface ConversationState {
  /** Opaque conversation id. */
  conversationId: string;
  /** Language subtag from metadata or guessed from stopwords, or null while unknown. */
  language: string | null;
  /** True when the language came from metadata (never re-guessed). */
  languageFixed: boolean;
  /** Stopword votes per language while guessing (language → votes). */
  languageVotes: Record<string, number>;
  /** Whether the analysis policy allows this conversation to be analysed. */
  analysed: boolean;
  /** Time of the first message (epoch ms), or -1 before any message. */
  startMs: number;
  /** Time of the latest message (epoch ms), or -1 before any message. */
  lastMs: number;
  /** Messages processed. */
  messages: number;
  /** Index in `participants` of the sender of the first message, or -1. */
  initiator: number;
  /** Participants in first-seen order (metadata first). */
  participants: ParticipantState[];
  /** Score after the latest message, in [0, 1]. */
  score: number;
  /** Highest score seen. */
  peakScore: number;
  /** Stage after the latest message. */
  stage: Stage;
  /** Alerts fired so far. */
  alerts: number;
  /** Stage at the latest alert, or `none`. */
  alertStage: Stage;
  /** Index of the message at which the latest alert fired, or -1. */
  alertMessageIndex: number;
  /** True when the next crossing of the threshold may alert (initially, and after re-arming). */
  armed: boolean;
  /** Bounded evidence list (see `AnalyzerConfig.maxEvidence`). */
  evidence: EvidenceEntry[];
}

/** A fresh participant record. */
export function newParticipant(id: string, declaredAge: number): ParticipantState {
  return {
    id,
    declaredAge,
    inferredAge: -1,
    messages: 0,
    lateNight: 0,
    unanswered: 0,
    fanOut: 0,
    counts: new Array<number>(SIGNAL_COUNT).fill(0),
    lastSec: new Array<number>(SIGNAL_COUNT).fill(0),
  };
}

/** A deep copy of `s` (states are small; copying keeps `update` pure). */
export function cloneState(s: ConversationState): ConversationState {
  return {
    ...s,
    languageVotes: { ...s.languageVotes },
    participants: s.participants.map((p) => ({ ...p, counts: p.counts.slice(), lastSec: p.lastSec.slice() })),
    evidence: s.evidence.map((e) => ({ ...e })),
  };
}
