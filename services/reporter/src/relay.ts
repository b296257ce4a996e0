import { SafeguardError } from '@safeguard/domain';
import { toAuditEventRecord, type AuditEventRecord, type AuditRecord, type Case, type ReportingStore } from '@safeguard/reporting';
import type { AuditRecord as AuditRecordEvent, IndicatorFeedback, ReportEmitted, ReviewDecision } from '@safeguard/schemas';
import { feedbackActionOf, feedbackOutcomeOf, indicatorFeedbackEvent, reportEmittedEvent, reviewDecisionEvent, type FeedbackOutcome } from './mapping';

/**
 * Where the relay publishes. Each call resolves once the broker acknowledged every record of
 * the call (in order). Injected, so the relay knows no Kafka types.
 */
export interface RelayPublisher {
  decisions(events: ReviewDecision[]): Promise<void>;
  feedback(events: IndicatorFeedback[]): Promise<void>;
  reports(events: ReportEmitted[]): Promise<void>;
  audit(events: AuditRecordEvent[]): Promise<void>;
  /** Reads the whole audit topic from the beginning, in order, handing every record to `visit`. */
  scanAudit(visit: (event: AuditRecordEvent) => void): Promise<void>;
}

/** What the relay reports for metrics (closed label sets only). */
export interface RelayObserver {
  /** A finished delivery was published (its ReportEmitted event is on the topic). */
  reportFinished?(info: {
    reportId: string;
    destination: 'ncmec' | 'eu_centre';
    outcome: 'delivered' | 'failed' | 'retracted';
    /** Queue to acknowledgement, for delivered reports. */
    deliverySeconds?: number;
    ambiguousSubmits: number;
  }): void;
  /** A feedback record was handled (published, or left off the topic: see `feedbackOutcomeOf`). */
  feedback?(info: { action: 'none' | 'disable_entry' | 'propose_allow_list'; outcome: FeedbackOutcome }): void;
  /** The topic now holds `auditLength` records. */
  published?(auditLength: number): void;
}

/** The relay found the topic and the store disagree: publishing would fork the chain. */
export class AuditDivergenceError extends SafeguardError {
  constructor(message: string) {
    super('audit_chain_diverged', message, { retriable: false });
  }
}

/** Options of {@link AuditRelay}. */
export interface AuditRelayOptions {
  store: ReportingStore;
  publisher: RelayPublisher;
  chainId: string;
  /** Records published per round. Default 500. */
  batchSize?: number;
  observer?: RelayObserver;
}

/**
 * Publishes the store's audit chain to the audit topic, in order, exactly once per sequence
 * number, and with each record the events it stands for (review decisions, indicator feedback
 * except plain votes on an entry whose hash is unknown, finished reports). Why a relay over the store's chain rather than writing to Kafka inside the
 * engine: the store is the transaction (case, outbox and audit record are written together by
 * one process); the topic follows. What survives a crash is decided by the store alone.
 *
 * Invariant: the audit topic holds exactly records 0..n-1 of the chain, in order. On start (and
 * after any failed send, whose outcome is unknown) the relay reads the topic to learn n, checks
 * that the topic's last record is the store's record n-1 (else the chain forked: it refuses with
 * `audit_chain_diverged`), and publishes from n on. For every batch the derived events go first
 * and the audit records last: a crash between them re-publishes the derived events (consumers
 * de-duplicate on their deterministic ids) but never an audit record. One writer per chain: the
 * reporter runs as one active replica.
 */
export class AuditRelay {
  private nextSeq: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly batchSize: number;

  constructor(private readonly opts: AuditRelayOptions) {
    this.batchSize = opts.batchSize ?? 500;
  }

  /** True once the relay knows where the topic ends. */
  get synced(): boolean {
    return this.nextSeq !== undefined;
  }

  /** Sequence number of the next record to publish (the topic's length), when synced. */
  get publishedLength(): number | undefined {
    return this.nextSeq;
  }

  /**
   * Publishes everything not yet on the topic. Concurrent calls share one run; a call made
   * while a run is under way makes it run once more, so nothing recorded before the call is
   * left behind when it resolves.
   * @throws AuditDivergenceError; the publisher's errors (the next call re-syncs first)
   */
  drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          await this.publishPending();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    return run;
  }

  private async sync(): Promise<number> {
    let count = 0;
    let last: AuditRecordEvent | undefined;
    await this.opts.publisher.scanAudit((e) => {
      count++;
      last = e;
    });
    if (!last) return 0;
    if (last.chainId !== this.opts.chainId) throw new AuditDivergenceError(`the audit topic holds chain ${last.chainId}, this reporter writes ${this.opts.chainId}`);
    if (last.sequence !== count - 1) throw new AuditDivergenceError(`the audit topic holds ${count} records but ends at sequence ${last.sequence}`);
    const [mine] = await this.opts.store.audit.list(last.sequence);
    if (!mine || mine.seq !== last.sequence) throw new AuditDivergenceError(`the audit topic is ahead of the store (topic ends at ${last.sequence}): the store was replaced or lost`);
    if (mine.hash !== last.hash) throw new AuditDivergenceError(`the audit topic and the store differ at sequence ${last.sequence}`);
    return count;
  }

  private async publishPending(): Promise<void> {
    if (this.nextSeq === undefined) this.nextSeq = await this.sync();
    for (;;) {
      const pending = (await this.opts.store.audit.list(this.nextSeq)).slice(0, this.batchSize);
      if (pending.length === 0) return;
      if (pending[0]!.seq !== this.nextSeq) throw new AuditDivergenceError(`the store's chain has a gap at ${this.nextSeq}`);
      try {
        await this.publishBatch(pending);
      } catch (err) {
        // The outcome of the failed send is unknown: learn the topic's end again before the next try.
        this.nextSeq = undefined;
        throw err;
      }
      this.nextSeq = pending[pending.length - 1]!.seq + 1;
      this.opts.observer?.published?.(this.nextSeq);
    }
  }

  private async publishBatch(records: AuditRecord[]): Promise<void> {
    const decisions: ReviewDecision[] = [];
    const feedback: IndicatorFeedback[] = [];
    const reports: ReportEmitted[] = [];
    const finished: Array<() => void> = [];
    const cases = new Map<string, Case | undefined>();
    const caseOf = async (id: string): Promise<Case | undefined> => {
      if (!cases.has(id)) cases.set(id, await this.opts.store.getCase(id));
      return cases.get(id);
    };
    for (const r of records) {
      const caseId = r.caseId;
      if (caseId === undefined) continue;
      const d = r.data;
      switch (r.type) {
        case 'review_decision': {
          const decision = (await this.opts.store.listDecisions(caseId)).find((x) => x.decisionId === d.decisionId);
          const c = await caseOf(caseId);
          if (decision && c) decisions.push(reviewDecisionEvent(decision, c));
          break;
        }
        case 'entry_disabled':
        case 'allow_list_proposed':
        case 'feedback_recorded': {
          const f = (await this.opts.store.listFeedback(caseId)).find((x) => x.feedbackId === d.feedbackId);
          if (!f) break;
          const outcome = feedbackOutcomeOf(f);
          if (outcome !== 'skipped_entry_hash_unknown') feedback.push(indicatorFeedbackEvent(f));
          const action = feedbackActionOf(f);
          finished.push(() => this.opts.observer?.feedback?.({ action, outcome }));
          break;
        }
        case 'report_sent':
        case 'report_failed':
        case 'report_retracted': {
          // A failure that leads to a retraction is reported by the retraction.
          if (r.type === 'report_failed' && d.willRetract === true) break;
          const out = typeof d.reportKey === 'string' ? await this.opts.store.getOutbox(d.reportKey) : undefined;
          const c = await caseOf(caseId);
          if (!out || !c) break;
          const status = r.type === 'report_sent' ? 'DELIVERED' : r.type === 'report_retracted' ? 'RETRACTED' : 'FAILED';
          reports.push(reportEmittedEvent(out, c, status, r.atMs, status === 'FAILED' && typeof d.code === 'string' ? d.code : undefined));
          const outcome = status === 'DELIVERED' ? 'delivered' : status === 'RETRACTED' ? 'retracted' : 'failed';
          const seconds = status === 'DELIVERED' ? Math.max(0, (r.atMs - out.createdAtMs) / 1000) : undefined;
          finished.push(() =>
            this.opts.observer?.reportFinished?.({ reportId: out.key, destination: out.destination, outcome, ...(seconds !== undefined ? { deliverySeconds: seconds } : {}), ambiguousSubmits: out.ambiguousSubmits }),
          );
          break;
        }
        default:
          break;
      }
    }
    if (decisions.length > 0) await this.opts.publisher.decisions(decisions);
    if (feedback.length > 0) await this.opts.publisher.feedback(feedback);
    if (reports.length > 0) await this.opts.publisher.reports(reports);
    await this.opts.publisher.audit(records.map((r) => toAuditEventRecord(r, this.opts.chainId) satisfies AuditEventRecord));
    for (const f of finished) f();
  }
}
