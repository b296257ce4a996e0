/**
 * Evaluation metrics for early grooming detection: conversation-level precision, recall, F1,
 * F0.5 (the PAN-2012 ranking measure), false-positive rate on benign conversations,
 * latency-weighted F1 (Sadeque et al. 2018, as used in eRisk and early sexual-predator
 * detection: F1 × speed, speed = 1 − median penalty over true positives,
 * penalty(k) = −1 + 2 / (1 + e^(−p·(k − 1))), k = messages seen when the alert fired), alert delay
 * after the labelled first-flag message, and a ROC curve over the peak conversation score.
 */
import { ConversationAnalyzer, type AnalyzerConfig } from '@safeguard/grooming';
import type { CorpusItem } from './corpus/generate';

/** What the analyser did on one conversation. */
export interface Outcome {
  item: CorpusItem;
  /** 0-based index of the message at which the first alert fired, or null. */
  alertIndex: number | null;
  /** Highest score over the conversation. */
  peakScore: number;
  /** Score after each message. */
  scores: number[];
}

/** Runs the analyser over conversations, message by message. */
export function runAnalyzer(items: readonly CorpusItem[], config: Partial<AnalyzerConfig> = {}): Outcome[] {
  const analyzer = new ConversationAnalyzer({ config });
  return items.map((item) => {
    const c = item.conversation;
    let state = analyzer.createState({ conversationId: c.conversationId, language: c.language, participants: c.participants });
    let alertIndex: number | null = null;
    let peakScore = 0;
    const scores: number[] = [];
    c.messages.forEach((m, i) => {
      const r = analyzer.update(state, m);
      state = r.state;
      scores.push(r.score);
      if (r.score > peakScore) peakScore = r.score;
      if (alertIndex === null && r.alert !== undefined) alertIndex = i;
    });
    return { item, alertIndex, peakScore, scores };
  });
}

/** The eRisk/Sadeque latency penalty for an alert after `k` messages. */
export function latencyPenalty(k: number, p: number): number {
  return -1 + 2 / (1 + Math.exp(-p * (k - 1)));
}

/** p such that the penalty is 0.5 at `k` messages (the eRisk recipe: k = median length). */
export function pForMedianLength(k: number): number {
  return Math.log(3) / Math.max(1, k - 1);
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

/** Conversation-level detection metrics. */
export interface Metrics {
  conversations: number;
  grooming: number;
  benign: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  precision: number;
  recall: number;
  f1: number;
  f05: number;
  falsePositiveRate: number;
  /** Alerts on grooming conversations that fired before the labelled first-flag message. */
  earlyAlerts: number;
  /** Median of (alert index − first-flag index) over true positives, in messages. */
  medianAlertDelayMessages: number | null;
  p90AlertDelayMessages: number | null;
  /** Latency-weighted F1 with p chosen on the tuning split. */
  latencyWeightedF1: number;
  speed: number;
  p: number;
  /** Same with the eRisk 2017 constant p = 0.0078 (tuned for users with hundreds of posts). */
  latencyWeightedF1AtERiskP: number;
}

/** Computes {@link Metrics} from outcomes. */
export function metricsOf(outcomes: readonly Outcome[], p: number): Metrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let early = 0;
  const delays: number[] = [];
  const ks: number[] = [];
  for (const o of outcomes) {
    const alerted = o.alertIndex !== null;
    if (o.item.label.grooming) {
      if (alerted) {
        tp++;
        const d = (o.alertIndex as number) - (o.item.label.firstFlagIndex as number);
        delays.push(d);
        if (d < 0) early++;
        ks.push((o.alertIndex as number) + 1);
      } else fn++;
    } else if (alerted) fp++;
    else tn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const fb = (b: number): number => (precision + recall === 0 ? 0 : ((1 + b * b) * precision * recall) / (b * b * precision + recall));
  const f1 = fb(1);
  const speedAt = (pp: number): number => 1 - (median(ks.map((k) => latencyPenalty(k, pp))) ?? 1);
  const speed = speedAt(p);
  return {
    conversations: outcomes.length,
    grooming: tp + fn,
    benign: fp + tn,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    trueNegatives: tn,
    precision: round(precision),
    recall: round(recall),
    f1: round(f1),
    f05: round(fb(0.5)),
    falsePositiveRate: round(fp + tn === 0 ? 0 : fp / (fp + tn)),
    earlyAlerts: early,
    medianAlertDelayMessages: median(delays),
    p90AlertDelayMessages: percentile(delays, 0.9),
    latencyWeightedF1: round(f1 * speed),
    speed: round(speed),
    p: round(p, 5),
    latencyWeightedF1AtERiskP: round(f1 * speedAt(0.0078)),
  };
}

/** ROC over the peak conversation score: one point per distinct threshold. */
export function rocOf(outcomes: readonly Outcome[]): { points: Array<{ threshold: number; fpr: number; tpr: number }>; auc: number } {
  const pos = outcomes.filter((o) => o.item.label.grooming).map((o) => o.peakScore);
  const neg = outcomes.filter((o) => !o.item.label.grooming).map((o) => o.peakScore);
  const thresholds = [...new Set([...pos, ...neg, 0, 1.0001])].sort((a, b) => b - a);
  const points = thresholds.map((t) => ({
    threshold: round(Math.min(t, 1)),
    fpr: round(neg.filter((s) => s >= t).length / Math.max(1, neg.length)),
    tpr: round(pos.filter((s) => s >= t).length / Math.max(1, pos.length)),
  }));
  let auc = 0;
  for (let i = 1; i < points.length; i++) auc += ((points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr)) / 2;
  return { points, auc: round(auc) };
}
