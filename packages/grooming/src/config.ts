import { GroomingInputError } from './errors';
import { SIGNALS, type SignalId } from './signals';

/**
 * Which conversations may be analysed at all (data minimisation): a platform must not scan
 * adults' private chats for grooming when no child can be involved.
 * - `possible-minor` (default): analyse unless every participant is a declared adult.
 * - `declared-minor`: analyse only when some participant is a declared minor.
 * - `all`: analyse every conversation.
 */
export type AnalysisPolicy = 'possible-minor' | 'declared-minor' | 'all';

/**
 * What happens after the first alert of a conversation.
 * - `never`: no stage-advance alerts; only the first crossing (and crossings after re-arming).
 * - `on-stage-advance` (default): one more alert each time the conversation reaches a later
 *   stage than at the previous alert (e.g. a meeting request after an exclusivity alert), while
 *   the score is still at or above the threshold.
 * In both modes an alert re-arms once the score decays below `rearmBelow` (the conversation went
 * quiet and evidence aged out), so a later crossing alerts again. `maxAlerts` caps the total.
 */
export type ReAlertMode = 'never' | 'on-stage-advance';

/** Analyser settings. Every field has a default; see {@link DEFAULT_CONFIG}. */
export interface AnalyzerConfig {
  /** Score in (0, 1] at which an alert fires. Higher: fewer false alarms, later alerts. */
  alertThreshold: number;
  /** See {@link ReAlertMode}. */
  reAlert: ReAlertMode;
  /** Score under which a fired alert re-arms; must be below `alertThreshold`. */
  rearmBelow: number;
  /** Most alerts per conversation (1–255). */
  maxAlerts: number;
  /** See {@link AnalysisPolicy}. */
  policy: AnalysisPolicy;
  /**
   * Half-life of signal evidence in milliseconds (default 14 days). Shorter forgets slow,
   * weeks-long grooming; longer keeps old banter alive.
   */
  halfLifeMs: number;
  /** Age from which a participant counts as an adult (default 18). */
  adultAge: number;
  /** Local hour (0–23) from which messages count as late-night (default 22). */
  lateNightStartHour: number;
  /** Local hour (0–23) at which late night ends (default 6). */
  lateNightEndHour: number;
  /** Offset of participants' local time from UTC in minutes when a message gives none (default 0). */
  utcOffsetMinutes: number;
  /** Per-signal weight overrides; see {@link DEFAULT_WEIGHTS}. */
  weights: Partial<Record<SignalId, number>>;
  /** Most evidence entries kept per conversation (default 24; bounds the state size: 2 KB worst case with 8 participants and 36-character ids). */
  maxEvidence: number;
  /** Most participants tracked individually; later senders share one overflow slot (default 8). */
  maxParticipants: number;
}

/**
 * Default weight of each risk signal (how much one occurrence adds to the sender's evidence).
 * Protective signals are handled separately (they divide the score) and age disclosure only
 * informs the participants' ages. Tuned on the tuning split of bench/grooming, never on test.
 */
export const DEFAULT_WEIGHTS: Readonly<Record<SignalId, number>> = Object.freeze({
  age_probe: 0.7,
  age_disclosure: 0,
  supervision_probe: 1.3,
  personal_probe: 0.5,
  flattery: 0.4,
  mature_for_age: 1.5,
  exclusivity: 0.9,
  secrecy: 1.5,
  deletion_request: 1.3,
  isolation: 1.2,
  gift_offer: 0.6,
  platform_move: 0.8,
  photo_request: 1.0,
  webcam_request: 1.0,
  pressure: 0.9,
  threat: 1.6,
  meeting_request: 0.9,
  sexualised_language: 1.2,
  parent_involvement: 0,
  safety_talk: 0,
});

/** Defaults for every {@link AnalyzerConfig} field. */
export const DEFAULT_CONFIG: Readonly<AnalyzerConfig> = Object.freeze({
  alertThreshold: 0.6,
  reAlert: 'on-stage-advance',
  rearmBelow: 0.3,
  maxAlerts: 3,
  policy: 'possible-minor',
  halfLifeMs: 14 * 24 * 3600 * 1000,
  adultAge: 18,
  lateNightStartHour: 22,
  lateNightEndHour: 6,
  utcOffsetMinutes: 0,
  weights: {},
  maxEvidence: 24,
  maxParticipants: 8,
});

/**
 * Merges `partial` over {@link DEFAULT_CONFIG} and validates the result.
 *
 * @throws GroomingInputError `config_invalid` for out-of-range values.
 */
export function resolveConfig(partial: Partial<AnalyzerConfig> = {}): AnalyzerConfig {
  const c: AnalyzerConfig = { ...DEFAULT_CONFIG, ...partial, weights: { ...(partial.weights ?? {}) } };
  const bad = (why: string): never => {
    throw new GroomingInputError('config_invalid', `grooming config: ${why}`);
  };
  if (!(c.alertThreshold > 0 && c.alertThreshold <= 1)) bad('alertThreshold must be in (0, 1]');
  if (!(c.rearmBelow >= 0 && c.rearmBelow < c.alertThreshold)) bad('rearmBelow must be in [0, alertThreshold)');
  if (!Number.isInteger(c.maxAlerts) || c.maxAlerts < 1 || c.maxAlerts > 255) bad('maxAlerts must be an integer 1..255');
  if (!['possible-minor', 'declared-minor', 'all'].includes(c.policy)) bad(`unknown policy "${c.policy}"`);
  if (!['never', 'on-stage-advance'].includes(c.reAlert)) bad(`unknown reAlert "${c.reAlert}"`);
  if (!(c.halfLifeMs > 0)) bad('halfLifeMs must be > 0');
  if (!(c.adultAge >= 1 && c.adultAge <= 99)) bad('adultAge must be 1..99');
  for (const h of [c.lateNightStartHour, c.lateNightEndHour]) if (!(Number.isInteger(h) && h >= 0 && h <= 23)) bad('late-night hours must be integers 0..23');
  if (!(Math.abs(c.utcOffsetMinutes) <= 14 * 60)) bad('utcOffsetMinutes must be within ±840');
  if (!(Number.isInteger(c.maxEvidence) && c.maxEvidence >= 1 && c.maxEvidence <= 64)) bad('maxEvidence must be 1..64');
  if (!(Number.isInteger(c.maxParticipants) && c.maxParticipants >= 2 && c.maxParticipants <= 32)) bad('maxParticipants must be 2..32');
  for (const [k, v] of Object.entries(c.weights)) {
    if (!(SIGNALS as readonly string[]).includes(k)) bad(`unknown signal "${k}" in weights`);
    if (!(typeof v === 'number' && v >= 0 && v <= 10)) bad(`weight of ${k} must be 0..10`);
  }
  return c;
}
