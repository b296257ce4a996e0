import { createHash } from 'node:crypto';
import avro from 'avsc';
import { InvalidInputError } from '@safeguard/domain';
import {
  DEFAULT_WEIGHTS,
  SIGNAL_INDEX,
  type AnalyzerConfig,
  type ConversationState,
  type GroomingAlert as LibraryAlert,
  type Stage,
} from '@safeguard/grooming';
import { GroomingAlertSchema, type GroomingAlert, type GroomingSignal, type GroomingStage } from '@safeguard/schemas';

const STAGE_SYMBOL: Readonly<Record<Stage, GroomingStage>> = {
  none: 'NONE',
  trust_building: 'TRUST_BUILDING',
  risk_assessment: 'RISK_ASSESSMENT',
  exclusivity: 'EXCLUSIVITY',
  escalation: 'ESCALATION',
  meeting: 'MEETING',
};

/** The schema's stage symbol of a library stage. */
export function stageSymbol(stage: Stage): GroomingStage {
  return STAGE_SYMBOL[stage];
}

/**
 * The deterministic id of an alert: the first 128 bits of sha256 over the conversation key, the
 * alert's sequence number in the conversation and the id of the message that raised it, as 32
 * hex digits. Re-processing the same message from the same state gives the same id (downstream
 * de-duplicates on it); a conversation that expired and started over gets new ids because its
 * messages differ.
 */
export function alertIdOf(conversationKey: string, alertNumber: number, messageId: string): string {
  return createHash('sha256').update(`${conversationKey}\n${alertNumber}\n${messageId}`, 'utf8').digest('hex').slice(0, 32);
}

/** What {@link buildAlertEvent} needs. */
export interface AlertInput {
  platformId: string;
  conversationId: string;
  /** `<platformId>/<conversationId>`. */
  conversationKey: string;
  /** The library's alert. */
  alert: LibraryAlert;
  /** The state right after the message that raised the alert. */
  state: ConversationState;
  /** sentAtMs of that message. */
  raisedAtMs: number;
  /** The analyser's resolved configuration (threshold, weights, half-life, adult age). */
  config: Readonly<AnalyzerConfig>;
  detectorVersion: string;
}

/**
 * Turns the library's alert into the GroomingAlert event: ids, score, stage, signals with the
 * message ids that raised them, evidence message ids in conversation order. No message text
 * exists in the state, so none can reach the event.
 *
 * `signals[].weight` is the suspect's evidence for that signal before the context multipliers:
 * the signal's weight × the repeat factor (1 + 0.35 per repeat, up to 4) × its decay since last
 * seen, 0 for signals only others raised (e.g. the child's age disclosure). `count` sums every
 * participant's occurrences.
 */
export function buildAlertEvent(input: AlertInput): GroomingAlert {
  const { alert, state, config } = input;
  const suspect = state.participants.find((p) => p.id === alert.suspectId);
  const nowSec = state.startMs < 0 ? 0 : Math.max(0, (state.lastMs - state.startMs) / 1000);
  const halfLifeSec = config.halfLifeMs / 1000;
  const evidence = [...alert.evidence].sort((a, b) => a.messageIndex - b.messageIndex);
  const bySignal = new Map<string, string[]>();
  for (const e of evidence) {
    const ids = bySignal.get(e.signal) ?? [];
    if (!ids.includes(e.messageId)) ids.push(e.messageId);
    bySignal.set(e.signal, ids);
  }
  const signals: GroomingSignal[] = [...bySignal].map(([kind, messageIds]) => {
    const bit = SIGNAL_INDEX[kind as keyof typeof SIGNAL_INDEX];
    let weight = 0;
    if (suspect !== undefined && suspect.counts[bit]! > 0) {
      const base = config.weights[kind as keyof typeof SIGNAL_INDEX] ?? DEFAULT_WEIGHTS[kind as keyof typeof SIGNAL_INDEX];
      const repeats = 1 + 0.35 * (Math.min(suspect.counts[bit]!, 4) - 1);
      const decay = Math.pow(0.5, Math.max(0, nowSec - suspect.lastSec[bit]!) / halfLifeSec);
      weight = Math.round(base * repeats * decay * 10_000) / 10_000;
    }
    const count = state.participants.reduce((n, p) => n + p.counts[bit]!, 0);
    return { kind, weight, count, messageIds };
  });
  const evidenceMessageIds: string[] = [];
  for (const e of evidence) if (!evidenceMessageIds.includes(e.messageId)) evidenceMessageIds.push(e.messageId);
  const ages = state.participants.filter((p) => p.id !== '*').map((p) => (p.declaredAge >= 0 ? p.declaredAge : p.inferredAge));
  const minorInvolved = ages.some((a) => a >= 0 && a < config.adultAge) ? true : ages.length > 0 && ages.every((a) => a >= 0) ? false : null;
  return {
    alertId: alertIdOf(input.conversationKey, alert.alertNumber, alert.messageId),
    platformId: input.platformId,
    conversationId: input.conversationId,
    suspectedAccountId: alert.suspectId,
    participantIds: state.participants.filter((p) => p.id !== '*').map((p) => p.id),
    score: alert.score,
    threshold: config.alertThreshold,
    stage: stageSymbol(alert.stage),
    signals,
    evidenceMessageIds,
    messagesAnalyzed: state.messages,
    minorInvolved,
    detectorVersion: input.detectorVersion,
    firstMessageAtMs: state.startMs < 0 ? input.raisedAtMs : state.startMs,
    raisedAtMs: input.raisedAtMs,
  };
}

const alertType = avro.Type.forSchema(GroomingAlertSchema as avro.Schema);

/** Avro binary of an alert (this build's GroomingAlert schema, no framing): the changelog's `pendingAlert`. */
export function encodePendingAlert(alert: GroomingAlert): Buffer {
  return alertType.toBuffer(alert);
}

/**
 * Decodes a changelog `pendingAlert`.
 * @throws InvalidInputError `pending_alert_unreadable` when the bytes do not decode with this build's schema.
 */
export function decodePendingAlert(bytes: Buffer): GroomingAlert {
  try {
    return alertType.fromBuffer(bytes) as GroomingAlert;
  } catch (err) {
    throw new InvalidInputError('pending_alert_unreadable', 'pending alert does not decode with this build\'s GroomingAlert schema', { cause: err });
  }
}
