import { isSafeguardError } from '@safeguard/domain';
import type { IngestResult, ReportingEngine } from '@safeguard/reporting';
import type { GroomingAlert, MatchFound } from '@safeguard/schemas';
import { groomingEventOf, matchEventsOf } from './mapping';
import type { ReporterMetrics } from './metrics';

/** What the input handler needs; no Kafka types, so tests drive it directly. */
export interface InputDependencies {
  engine: ReportingEngine;
  /** Bank sources whose lists count as authority-verified. */
  verifiedSources: ReadonlySet<string>;
  metrics: ReporterMetrics;
  /** Called after every change: wakes the audit relay (and delivery when a case was confirmed). */
  changed: (result: IngestResult) => void;
}

/**
 * Turns matcher results and grooming alerts into cases (grouped per uploader or conversation,
 * de-duplicated, policy applied, reports queued for direct-report cases). Idempotent: a
 * re-delivered event is recognised as a duplicate by its deterministic ids. Resolves once the
 * store holds the outcome; publishing the resulting audit records and events is the audit
 * relay's job (the store is the outbox). Throws `ReportingInputError` (dead-letter now) for events
 * the library refuses, a retriable `version_conflict` when writers collide for too long.
 */
export class InputHandler {
  constructor(private readonly deps: InputDependencies) {}

  /** One matcher result: every match of one content, ingested together. */
  async match(m: MatchFound): Promise<IngestResult> {
    return this.count('match', () => this.deps.engine.ingestMatches(matchEventsOf(m, this.deps.verifiedSources, (reason) => this.deps.metrics.uploadFieldsDropped.inc({ reason }))));
  }

  /** One grooming alert: always goes to human review. */
  async alert(a: GroomingAlert): Promise<IngestResult> {
    return this.count('grooming', () => this.deps.engine.ingestAlert(groomingEventOf(a)));
  }

  private async count(kind: 'match' | 'grooming', fn: () => Promise<IngestResult>): Promise<IngestResult> {
    let result: IngestResult;
    try {
      result = await fn();
    } catch (err) {
      if (isSafeguardError(err) && !err.retriable) this.deps.metrics.events.inc({ kind, outcome: 'rejected' });
      throw err;
    }
    this.deps.metrics.events.inc({ kind, outcome: result.outcome });
    this.deps.changed(result);
    return result;
  }
}
