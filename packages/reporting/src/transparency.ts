import type { Case, ReportCategory } from './case';
import type { Complaint } from './complaints';
import { addMonthsUtc } from './retention';
import type { ReviewDecision } from './review';
import type { OutboxRecord } from './store/types';

/** Inputs of {@link transparencyReport}: everything stored (the function filters by date). */
export interface TransparencyInput {
  cases: readonly Case[];
  decisions: readonly ReviewDecision[];
  complaints: readonly Complaint[];
  outbox: readonly OutboxRecord[];
}

/** Error-rate row per detector (bank + algorithm, or grooming stage). */
export interface DetectorErrorRate {
  /** `bank:<name>` or `grooming:<stage>`. */
  detector: string;
  algorithm: string;
  /** Human final decisions (confirm + false positive) about cases involving this detector. */
  reviewed: number;
  falsePositives: number;
  /** Upheld complaints attributed to this detector. */
  upheldComplaints: number;
  /** falsePositives / reviewed (0 when nothing was reviewed). */
  falsePositiveRate: number;
  /** (falsePositives + upheldComplaints) / reviewed. */
  errorRate: number;
}

/** A transparency report for a period (Art. 83 data). Counts only: no ids of users or content. */
export interface TransparencyReport {
  fromMs: number;
  toMs: number;
  reports: {
    /** Cases whose reports were all delivered in the period, by Art. 13(e) category. */
    byCategory: Record<ReportCategory, number>;
    /** Delivered reports in the period, by destination. */
    byDestination: Record<string, number>;
    /** Reports that failed for good in the period. */
    failed: number;
  };
  cases: { opened: number; byPolicyAction: Record<string, number>; byPolicyRule: Record<string, number> };
  reviewOutcomes: { confirm: number; false_positive: number; escalate: number };
  errorRates: DetectorErrorRate[];
  complaints: {
    filed: number;
    byGrounds: Record<string, number>;
    byOutcome: { open: number; upheld: number; rejected: number };
    decided: number;
    medianTimeToDecisionMs: number | null;
    reversals: number;
  };
  /** Median time from case opening to the first human decision, for decisions in the period. */
  medianTimeToDecisionMs: number | null;
  /**
   * Users to inform about a report (three months after it, unless the authority asked to wait):
   * cases whose notification falls due in the period. Case ids only; the service looks up whom to notify.
   */
  notificationsDue: { count: number; caseIds: string[] };
}

/** Months after a report before the user is informed, unless an authority asks otherwise. */
export const NOTIFICATION_DELAY_MONTHS = 3;

const inRange = (t: number | undefined, from: number, to: number): t is number => t !== undefined && t >= from && t < to;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

const inc = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};

/** When the user of a reported case must be informed. */
export function notificationDueAtMs(c: Case): number | undefined {
  if (c.reportedAtMs === undefined) return undefined;
  const due = addMonthsUtc(c.reportedAtMs, NOTIFICATION_DELAY_MONTHS);
  return Math.max(due, c.notificationHoldUntilMs ?? 0);
}

/**
 * Transparency figures for `[fromMs, toMs)`. Pure: give it everything the store holds (purged
 * cases keep their categories, timestamps and detectors, so the figures survive retention).
 */
export function transparencyReport(input: TransparencyInput, fromMs: number, toMs: number): TransparencyReport {
  const casesById = new Map(input.cases.map((c) => [c.caseId, c]));
  const byCategory: Record<ReportCategory, number> = { known_material: 0, new_material: 0, solicitation: 0 };
  const byDestination: Record<string, number> = {};
  let failed = 0;
  for (const r of input.outbox) {
    if (r.state === 'delivered' && inRange(r.deliveredAtMs, fromMs, toMs)) inc(byDestination, r.destination);
    if (r.state === 'failed' && inRange(r.updatedAtMs, fromMs, toMs)) failed++;
  }
  const byPolicyAction: Record<string, number> = {};
  const byPolicyRule: Record<string, number> = {};
  let opened = 0;
  for (const c of input.cases) {
    if (c.reportedAtMs !== undefined && inRange(c.reportedAtMs, fromMs, toMs) && c.category) byCategory[c.category]++;
    if (inRange(c.openedAtMs, fromMs, toMs)) {
      opened++;
      if (c.policy) {
        inc(byPolicyAction, c.policy.action);
        inc(byPolicyRule, c.policy.ruleId);
      }
    }
  }

  const reviewOutcomes = { confirm: 0, false_positive: 0, escalate: 0 };
  const firstDecision = new Map<string, number>();
  const rates = new Map<string, DetectorErrorRate>();
  const rowFor = (detector: string, algorithm: string): DetectorErrorRate => {
    const k = `${detector}|${algorithm}`;
    let row = rates.get(k);
    if (!row) {
      row = { detector, algorithm, reviewed: 0, falsePositives: 0, upheldComplaints: 0, falsePositiveRate: 0, errorRate: 0 };
      rates.set(k, row);
    }
    return row;
  };
  const keysOf = (ds: Case['detectors']): Array<[string, string]> => {
    const out = new Map<string, [string, string]>();
    for (const d of ds) {
      const pair: [string, string] = d.kind === 'bank' ? [`bank:${d.bankName}`, d.algorithm] : [`grooming:${d.stage}`, 'grooming'];
      out.set(pair.join('|'), pair);
    }
    return [...out.values()];
  };
  for (const d of input.decisions) {
    if (!inRange(d.atMs, fromMs, toMs)) continue;
    reviewOutcomes[d.decision]++;
    const c = casesById.get(d.caseId);
    if (c) firstDecision.set(d.caseId, Math.min(firstDecision.get(d.caseId) ?? Number.POSITIVE_INFINITY, d.atMs - c.openedAtMs));
    if (d.decision === 'escalate') continue;
    for (const [det, alg] of keysOf(d.detectors)) {
      const row = rowFor(det, alg);
      row.reviewed++;
      if (d.decision === 'false_positive') row.falsePositives++;
    }
  }

  const byGrounds: Record<string, number> = {};
  const byOutcome = { open: 0, upheld: 0, rejected: 0 };
  const complaintTimes: number[] = [];
  let filed = 0;
  let decided = 0;
  let reversals = 0;
  for (const cp of input.complaints) {
    if (inRange(cp.filedAtMs, fromMs, toMs)) {
      filed++;
      inc(byGrounds, cp.groundsCode);
      byOutcome[cp.state]++;
    }
    if (cp.state !== 'open' && inRange(cp.decidedAtMs, fromMs, toMs)) {
      decided++;
      complaintTimes.push(cp.decidedAtMs - cp.filedAtMs);
      if (cp.reversal?.reversed) reversals++;
      if (cp.state === 'upheld' && cp.subject !== 'removal') {
        for (const [det, alg] of keysOf(cp.attributedTo ?? [])) rowFor(det, alg).upheldComplaints++;
      }
    }
  }
  for (const row of rates.values()) {
    row.falsePositiveRate = row.reviewed ? row.falsePositives / row.reviewed : 0;
    row.errorRate = row.reviewed ? (row.falsePositives + row.upheldComplaints) / row.reviewed : 0;
  }

  const due = input.cases
    .filter((c) => c.state === 'reported' || c.reportedAtMs !== undefined)
    .filter((c) => inRange(notificationDueAtMs(c), fromMs, toMs))
    .map((c) => c.caseId)
    .sort();

  return {
    fromMs,
    toMs,
    reports: { byCategory, byDestination, failed },
    cases: { opened, byPolicyAction, byPolicyRule },
    reviewOutcomes,
    errorRates: [...rates.values()].sort((a, b) => (a.detector + a.algorithm < b.detector + b.algorithm ? -1 : 1)),
    complaints: { filed, byGrounds, byOutcome, decided, medianTimeToDecisionMs: median(complaintTimes), reversals },
    medianTimeToDecisionMs: median([...firstDecision.values()]),
    notificationsDue: { count: due.length, caseIds: due },
  };
}
