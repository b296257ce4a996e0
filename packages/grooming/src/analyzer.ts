import { resolveConfig, DEFAULT_WEIGHTS, type AnalyzerConfig } from './config';
import { GroomingInputError } from './errors';
import type { FanOutTracker } from './fan-out';
import { builtinLexiconSet, detectSignals, LexiconSet, type LanguageLexicon } from './lexicon';
import { normalizeText } from './normalize';
import { deserializeState, serializeState } from './serialize';
import {
  PROTECTIVE_SIGNALS,
  SIGNAL_COUNT,
  SIGNAL_INDEX,
  SIGNAL_STAGE,
  SIGNALS,
  STAGES,
  type SignalId,
  type Stage,
} from './signals';
import { cloneState, newParticipant, type ConversationState, type EvidenceEntry, type ParticipantState } from './state';

/** A participant as known from platform metadata. */
export interface ParticipantMeta {
  /** Opaque participant id. */
  id: string;
  /** Declared age in years (profile or verified), if known. */
  declaredAge?: number;
  /** Declared age band, used when `declaredAge` is absent (`minor` counts as 14, `adult` as 30). */
  ageBand?: 'minor' | 'adult';
}

/** Conversation metadata available when the conversation starts (all optional except the id). */
export interface ConversationMeta {
  /** Opaque conversation id. */
  conversationId: string;
  /** BCP 47 language subtag (`en`, `de`, `fr`, `es`, `nl`); guessed from the text when absent. */
  language?: string;
  /** Known participants; others are added as they send messages. */
  participants?: readonly ParticipantMeta[];
}

/** One chat message. The text is analysed and then dropped; it never enters the state. */
export interface ChatMessage {
  /** Platform message id (1–256 characters), quoted as evidence. */
  id: string;
  /** Sender's opaque participant id (1–256 characters). */
  senderId: string;
  /** Send time, epoch milliseconds. */
  sentAtMs: number;
  /** Message text (only the first 2,000 characters are analysed). */
  text: string;
}

/** Per-message context that is not part of the message itself. */
export interface MessageContext {
  /** Sender's local offset from UTC in minutes, for late-night detection. */
  utcOffsetMinutes?: number;
  /**
   * Distinct minors' conversations the sender is active in (fan-out), if the caller tracks it
   * itself; ignored when the analyser has a {@link FanOutTracker}.
   */
  fanOutMinors?: number;
}

/** A signal raised by one message, attributed to its sender. */
export interface RaisedSignal {
  /** The signal. */
  signal: SignalId;
  /** Sender of the message. */
  participantId: string;
  /** The message. */
  messageId: string;
}

/** Why an alert fired. */
export type AlertReason = 'first' | 'stage_advance' | 'rearmed';

/** An alert for human review (never an automatic report). */
export interface GroomingAlert {
  /** Conversation id. */
  conversationId: string;
  /** Message at which the alert fired. */
  messageId: string;
  /** 0-based index of that message. */
  messageIndex: number;
  /** 1 for the first alert of the conversation, then 2, 3, ... */
  alertNumber: number;
  /** Why it fired. */
  reason: AlertReason;
  /** Score at the alert, in [0, 1]. */
  score: number;
  /** Stage at the alert. */
  stage: Stage;
  /** Participant whose messages drive the score. */
  suspectId: string;
  /** The evidence list at the alert (signals with message ids). */
  evidence: EvidenceEntry[];
}

/** Result of {@link ConversationAnalyzer.update}. */
export interface UpdateResult {
  /** The new state (the input state is not modified). */
  state: ConversationState;
  /** Conversation score after this message, in [0, 1]. */
  score: number;
  /** Conversation stage after this message. */
  stage: Stage;
  /** Participant whose messages drive the score, or null when the score is 0. */
  suspectId: string | null;
  /** Signals raised by this message. */
  signals: RaisedSignal[];
  /** Present when an alert fires at this message. */
  alert?: GroomingAlert;
  /** True from the first alert of the conversation on. */
  alerted: boolean;
  /** False when the analysis policy excludes this conversation (score stays 0). */
  analysed: boolean;
}

/** Options of {@link ConversationAnalyzer}. */
export interface ConversationAnalyzerOptions {
  /** Settings over {@link DEFAULT_CONFIG}. */
  config?: Partial<AnalyzerConfig>;
  /** Cross-conversation fan-out tracker (the only side effect of `update`). */
  fanOutTracker?: FanOutTracker;
  /** Lexicons to use instead of the built-in ones (see docs: adding a language). */
  lexicons?: readonly LanguageLexicon[];
}

const MINOR_BAND_AGE = 14;
const ADULT_BAND_AGE = 30;
const MAX_ID_LENGTH = 256;
const STAGE_RANK: Readonly<Record<Stage, number>> = Object.freeze(
  Object.fromEntries(STAGES.map((s, i) => [s, i])) as Record<Stage, number>,
);
const SIGNAL_STAGE_RANK: number[] = SIGNALS.map((s) => {
  const st = SIGNAL_STAGE[s];
  return st === undefined ? 0 : STAGE_RANK[st];
});
const PROTECTIVE_BITS = PROTECTIVE_SIGNALS.map((s) => SIGNAL_INDEX[s]);
const AGE_DISCLOSURE = SIGNAL_INDEX.age_disclosure;
/**
 * Signals that are frequent in ordinary chats (gamers ask ages and trade currency, teenagers
 * swap handles): they only amplify the strong ones.
 */
const WEAK: boolean[] = SIGNALS.map((s) => ['age_probe', 'flattery', 'gift_offer', 'platform_move'].includes(s));
/** Factor on weak evidence when no strong signal is live. */
const WEAK_ALONE = 0.5;
/** Decayed strength from which a stage counts as live. */
const LIVE_STAGE = 0.35;
/** Evidence units that map to score 1 - 1/e ≈ 0.63. */
const SCORE_SCALE = 3;

function ageOf(p: ParticipantState): number {
  return p.declaredAge >= 0 ? p.declaredAge : p.inferredAge;
}

function checkMessage(m: ChatMessage): void {
  const ok = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
  if (m === null || typeof m !== 'object') throw new GroomingInputError('message_invalid', 'message must be an object');
  if (!ok(m.id)) throw new GroomingInputError('message_invalid', 'message id must be a 1-256 character string');
  if (!ok(m.senderId)) throw new GroomingInputError('message_invalid', 'senderId must be a 1-256 character string');
  if (typeof m.sentAtMs !== 'number' || !Number.isFinite(m.sentAtMs)) throw new GroomingInputError('message_invalid', 'sentAtMs must be a finite number');
  if (typeof m.text !== 'string') throw new GroomingInputError('message_invalid', 'text must be a string');
}

/**
 * Scores grooming risk message by message, keeping a compact per-conversation state.
 *
 * Pure and synchronous: `update(state, message)` returns a new state and never retains the
 * text; the only side effect is the optional fan-out tracker. One analyser can serve any number
 * of conversations (it holds only configuration and compiled lexicons).
 *
 * Model: each message is normalised and matched against the lexicons; raised signals are
 * attributed to the sender (per-sender counts and last-seen times). A sender's evidence is the
 * weighted sum of its signals with diminishing returns for repeats and exponential decay by
 * age (`halfLifeMs`); weak signals (age and personal questions, flattery, gifts, platform moves)
 * count half unless a strong one is present; it is multiplied by a bonus for each further live
 * grooming stage and by context
 * (an adult or unknown sender writing to a minor counts more, peers and children less; who
 * initiated, late-night activity, unanswered message runs, fan-out) and divided by protective
 * signals (parents involved, safety talk). The score is `1 - exp(-evidence / 3)` of the
 * riskiest sender; the stage is that sender's furthest live stage.
 */
export class ConversationAnalyzer {
  /** The resolved configuration. */
  readonly config: Readonly<AnalyzerConfig>;
  private readonly weights: Float64Array;
  private readonly lexicons: LexiconSet;
  private readonly tracker: FanOutTracker | undefined;

  /** @throws GroomingInputError `config_invalid` or `lexicon_invalid`. */
  constructor(options: ConversationAnalyzerOptions = {}) {
    this.config = Object.freeze(resolveConfig(options.config));
    this.weights = Float64Array.from(SIGNALS, (s) => this.config.weights[s] ?? DEFAULT_WEIGHTS[s]);
    this.lexicons = options.lexicons === undefined ? builtinLexiconSet() : new LexiconSet(options.lexicons);
    this.tracker = options.fanOutTracker;
  }

  /** Languages this analyser has lexicons for. */
  languages(): string[] {
    return this.lexicons.languages();
  }

  /**
   * A fresh state for a conversation. Whether it is analysed at all follows `config.policy`
   * and the declared ages in `meta`.
   *
   * @throws GroomingInputError `message_invalid` for a missing conversation or participant id.
   */
  createState(meta: ConversationMeta): ConversationState {
    if (typeof meta?.conversationId !== 'string' || meta.conversationId.length === 0 || meta.conversationId.length > MAX_ID_LENGTH) {
      throw new GroomingInputError('message_invalid', 'conversationId must be a 1-256 character string');
    }
    const participants: ParticipantState[] = [];
    for (const p of meta.participants ?? []) {
      if (typeof p?.id !== 'string' || p.id.length === 0 || p.id.length > MAX_ID_LENGTH) {
        throw new GroomingInputError('message_invalid', 'participant id must be a 1-256 character string');
      }
      if (participants.some((q) => q.id === p.id) || participants.length >= this.config.maxParticipants - 1) continue;
      let age = -1;
      if (typeof p.declaredAge === 'number' && Number.isFinite(p.declaredAge) && p.declaredAge >= 0) age = Math.min(120, Math.floor(p.declaredAge));
      else if (p.ageBand === 'minor') age = MINOR_BAND_AGE;
      else if (p.ageBand === 'adult') age = ADULT_BAND_AGE;
      participants.push(newParticipant(p.id, age));
    }
    const adult = this.config.adultAge;
    const declared = participants.map((p) => p.declaredAge);
    let analysed: boolean;
    if (this.config.policy === 'all') analysed = true;
    else if (this.config.policy === 'declared-minor') analysed = declared.some((a) => a >= 0 && a < adult);
    else analysed = participants.length === 0 || declared.some((a) => a < adult);
    const lang = meta.language?.toLowerCase();
    const known = lang !== undefined && this.lexicons.byLanguage.has(lang) && lang !== 'universal';
    return {
      conversationId: meta.conversationId,
      language: known ? lang : null,
      languageFixed: known,
      languageVotes: {},
      analysed,
      startMs: -1,
      lastMs: -1,
      messages: 0,
      initiator: -1,
      participants,
      score: 0,
      peakScore: 0,
      stage: 'none',
      alerts: 0,
      alertStage: 'none',
      alertMessageIndex: -1,
      armed: true,
      evidence: [],
    };
  }

  /**
   * Processes the next message of a conversation.
   *
   * @param state the conversation's current state (not modified).
   * @param message the message; its text is analysed and discarded.
   * @param context optional per-message context.
   * @throws GroomingInputError `message_invalid` for a malformed message.
   */
  update(state: ConversationState, message: ChatMessage, context: MessageContext = {}): UpdateResult {
    checkMessage(message);
    const s = cloneState(state);
    const idx = s.messages;
    const t = s.lastMs < 0 ? message.sentAtMs : Math.max(s.lastMs, message.sentAtMs);
    if (s.startMs < 0) s.startMs = message.sentAtMs;
    s.lastMs = t;
    s.messages++;
    const slot = this.slotFor(s, message.senderId);
    const sender = s.participants[slot];
    if (s.initiator < 0) s.initiator = slot;
    sender.messages++;
    sender.unanswered = Math.min(255, sender.unanswered + 1);
    for (let i = 0; i < s.participants.length; i++) if (i !== slot) s.participants[i].unanswered = 0;
    if (!s.analysed) {
      return { state: s, score: 0, stage: 'none', suspectId: null, signals: [], alerted: s.alerts > 0, analysed: false };
    }

    // Late night, in the sender's local time.
    const offsetMin = context.utcOffsetMinutes ?? this.config.utcOffsetMinutes;
    const hour = Math.floor((((t + offsetMin * 60_000) % 86_400_000) + 86_400_000) % 86_400_000 / 3_600_000);
    const { lateNightStartHour: ls, lateNightEndHour: le } = this.config;
    if (ls > le ? hour >= ls || hour < le : hour >= ls && hour < le) sender.lateNight = Math.min(0xffff, sender.lateNight + 1);

    // Signals.
    const normalized = normalizeText(message.text);
    this.guessLanguage(s, normalized);
    const detection = detectSignals(normalized, this.lexicons.forLanguage(s.language ?? undefined));
    if (detection.selfAge !== undefined) sender.inferredAge = detection.selfAge;
    const sec = Math.min(0xffffffff, Math.max(0, Math.round((t - s.startMs) / 1000)));
    const signals: RaisedSignal[] = [];
    for (let b = 0; b < SIGNAL_COUNT; b++) {
      if ((detection.mask & (1 << b)) === 0) continue;
      sender.counts[b] = Math.min(255, sender.counts[b] + 1);
      sender.lastSec[b] = sec;
      signals.push({ signal: SIGNALS[b], participantId: sender.id, messageId: message.id });
      this.addEvidence(s, b, sender.id, message.id, idx);
    }

    // Fan-out: only for a sender who is not a known minor, writing where a minor is known.
    if (!this.isMinor(sender) && s.participants.some((p, i) => i !== slot && this.isMinor(p))) {
      if (this.tracker !== undefined) sender.fanOut = Math.min(255, this.tracker.record(sender.id, s.conversationId, t));
      else if (typeof context.fanOutMinors === 'number' && context.fanOutMinors >= 0) sender.fanOut = Math.min(255, Math.floor(context.fanOutMinors));
    }

    const { score, stage, suspect } = this.scoreOf(s, sec);
    s.score = score;
    s.stage = stage;
    if (score > s.peakScore) s.peakScore = score;

    // Alerting (see ReAlertMode).
    const c = this.config;
    let alert: GroomingAlert | undefined;
    if (score >= c.alertThreshold && s.alerts < c.maxAlerts && suspect >= 0) {
      let reason: AlertReason | undefined;
      if (s.armed) reason = s.alerts === 0 ? 'first' : 'rearmed';
      else if (c.reAlert === 'on-stage-advance' && STAGE_RANK[stage] > STAGE_RANK[s.alertStage]) reason = 'stage_advance';
      if (reason !== undefined) {
        s.alerts++;
        s.armed = false;
        s.alertStage = stage;
        s.alertMessageIndex = idx;
        alert = {
          conversationId: s.conversationId,
          messageId: message.id,
          messageIndex: idx,
          alertNumber: s.alerts,
          reason,
          score,
          stage,
          suspectId: s.participants[suspect].id,
          evidence: s.evidence.map((e) => ({ ...e })),
        };
      }
    } else if (!s.armed && score < c.rearmBelow) {
      s.armed = true;
    }
    return {
      state: s,
      score,
      stage,
      suspectId: suspect >= 0 ? s.participants[suspect].id : null,
      signals,
      ...(alert === undefined ? {} : { alert }),
      alerted: s.alerts > 0,
      analysed: true,
    };
  }

  /** Serialises a state (see `serializeState`). */
  serialize(state: ConversationState): Uint8Array {
    return serializeState(state);
  }

  /** Restores a serialised state (see `deserializeState`). @throws GroomingInputError `state_version_unsupported`, `state_corrupt`. */
  deserialize(bytes: Uint8Array): ConversationState {
    return deserializeState(bytes);
  }

  private isMinor(p: ParticipantState): boolean {
    const a = ageOf(p);
    return a >= 0 && a < this.config.adultAge;
  }

  private slotFor(s: ConversationState, id: string): number {
    const found = s.participants.findIndex((p) => p.id === id);
    if (found >= 0) return found;
    if (s.participants.length < this.config.maxParticipants - 1) {
      s.participants.push(newParticipant(id, -1));
      return s.participants.length - 1;
    }
    const overflow = s.participants.findIndex((p) => p.id === '*');
    if (overflow >= 0) return overflow;
    s.participants.push(newParticipant('*', -1));
    return s.participants.length - 1;
  }

  private guessLanguage(s: ConversationState, normalized: string): void {
    if (s.languageFixed || s.messages > 20) return;
    for (const [lang, n] of this.lexicons.stopwordVotes(normalized)) s.languageVotes[lang] = (s.languageVotes[lang] ?? 0) + n;
    let best: string | null = null;
    let top = 0;
    let second = 0;
    for (const [lang, n] of Object.entries(s.languageVotes)) {
      if (n > top) {
        second = top;
        top = n;
        best = lang;
      } else if (n > second) second = n;
    }
    s.language = best !== null && top >= 4 && top >= 2 * second ? best : null;
  }

  private addEvidence(s: ConversationState, bit: number, participantId: string, messageId: string, messageIndex: number): void {
    const signal = SIGNALS[bit];
    const ev = s.evidence;
    if (!ev.some((e) => e.signal === signal && e.participantId === participantId && e.first)) {
      ev.push({ signal, participantId, messageId, messageIndex, first: true });
    } else {
      const latest = ev.find((e) => e.signal === signal && e.participantId === participantId && !e.first);
      if (latest !== undefined) {
        latest.messageId = messageId;
        latest.messageIndex = messageIndex;
      } else ev.push({ signal, participantId, messageId, messageIndex, first: false });
    }
    while (ev.length > this.config.maxEvidence) {
      let drop = ev.findIndex((e) => !e.first);
      if (drop < 0) drop = ev.findIndex((e) => e.signal === 'age_disclosure' || PROTECTIVE_SIGNALS.includes(e.signal));
      ev.splice(drop < 0 ? 0 : drop, 1);
    }
  }

  private scoreOf(s: ConversationState, nowSec: number): { score: number; stage: Stage; suspect: number } {
    const halfLifeSec = this.config.halfLifeMs / 1000;
    const decay = (last: number): number => Math.pow(0.5, Math.max(0, nowSec - last) / halfLifeSec);
    // Protective signals from anyone damp the whole conversation.
    let protective = 0;
    for (const p of s.participants) for (const b of PROTECTIVE_BITS) if (p.counts[b] > 0) protective += Math.min(3, p.counts[b]) * decay(p.lastSec[b]);
    const damp = 1 / (1 + 0.7 * protective);
    let bestScore = 0;
    let bestStage: Stage = 'none';
    let suspect = -1;
    const stageLive = new Float64Array(STAGES.length);
    for (let i = 0; i < s.participants.length; i++) {
      const p = s.participants[i];
      if (p.messages === 0) continue;
      stageLive.fill(0);
      let weak = 0;
      let strong = 0;
      for (let b = 0; b < SIGNAL_COUNT; b++) {
        const c = p.counts[b];
        if (c === 0 || b === AGE_DISCLOSURE || this.weights[b] === 0) continue;
        const f = decay(p.lastSec[b]);
        const e = this.weights[b] * (1 + 0.35 * (Math.min(c, 4) - 1)) * f;
        if (WEAK[b]) weak += e;
        else strong += e;
        const r = SIGNAL_STAGE_RANK[b];
        if (r > 0 && f > stageLive[r]) stageLive[r] = f;
      }
      if (weak + strong === 0) continue;
      let live = 0;
      let furthest = 0;
      for (let r = 1; r < STAGES.length; r++) {
        if (stageLive[r] >= LIVE_STAGE) {
          live++;
          furthest = r;
        }
      }
      // Weak signals (common in ordinary chat) only amplify strong ones; alone they count half
      // and earn no multi-stage bonus.
      const evidence = strong > 0 ? (strong + weak) * (1 + 0.3 * Math.max(0, live - 1)) : weak * WEAK_ALONE;
      const x = evidence * this.contextOf(s, i) * damp;
      const score = 1 - Math.exp(-x / SCORE_SCALE);
      if (score > bestScore) {
        bestScore = score;
        bestStage = STAGES[furthest];
        suspect = i;
      }
    }
    return { score: bestScore, stage: bestStage, suspect };
  }

  /** Context multiplier for participant `i` as the potential groomer. */
  private contextOf(s: ConversationState, i: number): number {
    const p = s.participants[i];
    const adult = this.config.adultAge;
    const age = ageOf(p);
    let minorOther = false;
    let adultOther = false;
    let unknownOther = false;
    let minGap = Infinity;
    for (let j = 0; j < s.participants.length; j++) {
      if (j === i) continue;
      const a = ageOf(s.participants[j]);
      if (a < 0) unknownOther = true;
      else if (a < adult) {
        minorOther = true;
        if (age >= 0) minGap = Math.min(minGap, Math.abs(age - a));
      } else adultOther = true;
    }
    let m: number;
    if (age >= 0 && age < adult) {
      // A minor as sender: peers flirt, children answer adults.
      if (adultOther) m = 0.25;
      else if (minorOther) m = minGap >= 4 ? 0.6 : p.declaredAge >= 0 ? 0.2 : 0.45;
      else m = 0.45;
    } else if (age >= adult) {
      m = minorOther ? 1.5 : unknownOther ? 0.8 : 0.1;
    } else {
      m = minorOther ? 1.2 : 0.8;
    }
    const notMinor = !(age >= 0 && age < adult);
    if (notMinor && minorOther && s.initiator === i) m *= 1.1;
    if (notMinor && p.lateNight >= 3 && p.lateNight >= 0.3 * p.messages) m *= 1.15;
    if (p.unanswered >= 5) m *= 1.1;
    if (notMinor && p.fanOut >= 2) m *= 1 + 0.15 * Math.min(p.fanOut - 1, 4);
    return m;
  }
}
