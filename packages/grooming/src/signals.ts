/**
 * The closed set of grooming signals and conversation stages.
 *
 * Why a closed set: signal ids are stored as bit positions in the compact conversation state,
 * written into alerts and used as metric label values, so they must be stable lowercase strings
 * and their order must never change (append only; bump the state version if you must reorder).
 */

/**
 * Every signal the lexicons can raise, in state bit order. Risk signals first, then the
 * protective signals (`parent_involvement`, `safety_talk`) that lower a sender's score.
 */
export const SIGNALS = [
  'age_probe',
  'age_disclosure',
  'supervision_probe',
  'personal_probe',
  'flattery',
  'mature_for_age',
  'exclusivity',
  'secrecy',
  'deletion_request',
  'isolation',
  'gift_offer',
  'platform_move',
  'photo_request',
  'webcam_request',
  'pressure',
  'threat',
  'meeting_request',
  'sexualised_language',
  'parent_involvement',
  'safety_talk',
] as const;

/** A signal id, e.g. `secrecy`. Stable: used in serialised state, alerts and metric labels. */
export type SignalId = (typeof SIGNALS)[number];

/** Number of signals (bit width of a signal mask). */
export const SIGNAL_COUNT = SIGNALS.length;

/** Bit position of each signal in a mask and index in per-signal arrays. */
export const SIGNAL_INDEX: Readonly<Record<SignalId, number>> = Object.freeze(
  Object.fromEntries(SIGNALS.map((s, i) => [s, i])) as Record<SignalId, number>,
);

/** True when `value` is a known signal id. */
export function isSignalId(value: string): value is SignalId {
  return Object.prototype.hasOwnProperty.call(SIGNAL_INDEX, value);
}

/** Signals that make a conversation safer, not riskier (they dampen the sender's score). */
export const PROTECTIVE_SIGNALS: readonly SignalId[] = ['parent_involvement', 'safety_talk'];

/**
 * Grooming stages in the order they usually unfold (after the stage models in the grooming
 * literature: friendship/trust, risk assessment, exclusivity, escalation, meeting). `none` means
 * no stage evidence is live (never seen, or decayed).
 */
export const STAGES = ['none', 'trust_building', 'risk_assessment', 'exclusivity', 'escalation', 'meeting'] as const;

/** A stage id, e.g. `exclusivity`. */
export type Stage = (typeof STAGES)[number];

/** Which stage each risk signal is evidence of. Protective and disclosure signals have none. */
export const SIGNAL_STAGE: Readonly<Partial<Record<SignalId, Exclude<Stage, 'none'>>>> = Object.freeze({
  flattery: 'trust_building',
  personal_probe: 'trust_building',
  gift_offer: 'trust_building',
  age_probe: 'risk_assessment',
  supervision_probe: 'risk_assessment',
  mature_for_age: 'exclusivity',
  exclusivity: 'exclusivity',
  secrecy: 'exclusivity',
  deletion_request: 'exclusivity',
  isolation: 'exclusivity',
  platform_move: 'exclusivity',
  photo_request: 'escalation',
  webcam_request: 'escalation',
  pressure: 'escalation',
  threat: 'escalation',
  sexualised_language: 'escalation',
  meeting_request: 'meeting',
});

/** Converts a bit mask of signals into their ids, in {@link SIGNALS} order. */
export function signalsOfMask(mask: number): SignalId[] {
  const out: SignalId[] = [];
  for (let i = 0; i < SIGNAL_COUNT; i++) if (mask & (1 << i)) out.push(SIGNALS[i]);
  return out;
}
