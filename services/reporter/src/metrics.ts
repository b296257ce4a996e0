import { Counter, Gauge, Histogram, type Registry } from '@safeguard/observability';
import type { ReportingStore } from '@safeguard/reporting';

/** Every metric the reporter owns (transport metrics come from @safeguard/kafka). Labels are closed sets. */
export interface ReporterMetrics {
  /** Input events by kind (`match`, `grooming`) and outcome (opened, merged, duplicate, rejected). */
  events: Counter<'kind' | 'outcome'>;
  /** Review decisions by outcome (confirm, false_positive, escalate). */
  decisions: Counter<'outcome'>;
  /** Finished deliveries by destination (ncmec, eu_centre) and outcome (delivered, failed, retracted). */
  reports: Counter<'destination' | 'outcome'>;
  /** Time from a report being queued to the authority acknowledging it, by destination. */
  deliverySeconds: Histogram<'destination'>;
  /** Review API requests by route (pattern) and status code. */
  apiRequests: Counter<'route' | 'status'>;
  /**
   * Review API request duration, all routes together: per route (12 patterns) × 14 series per
   * histogram it would exceed 100 series per pod; requests per route are in `apiRequests`.
   */
  apiRequestSeconds: Histogram<string>;
  /** Periodic task failures by task (delivery, retention, audit_relay, report_repair). */
  taskFailures: Counter<'task'>;
  /** Cases purged by retention. */
  purgedCases: Counter<string>;
  /** Media not uploaded to NCMEC, by reason. */
  mediaSkipped: Counter<'reason'>;
  /** Audit records on the topic (the relay's position). */
  auditPublished: Gauge<string>;
  /** Malformed upload-context fields left out of a case, by reason (ip_address_invalid, country_code_invalid, uploaded_at_invalid); the match is kept. */
  uploadFieldsDropped: Counter<'reason'>;
  /**
   * Feedback records by action (none, disable_entry, propose_allow_list) and outcome (published,
   * published_without_entry_hash, skipped_entry_hash_unknown).
   */
  feedbackEvents: Counter<'action' | 'outcome'>;
  /** Confirmed cases found without queued reports by the repair task, by what it did (queued, requeued, failed: retried next pass). */
  repairedCases: Counter<'action'>;
}

/**
 * Declares the reporter metrics on `registry`. Gauges over the store (cases by state, review
 * backlog age, outbox by destination and state, ambiguous submits, audit chain length) are read
 * from the store when scraped, so they are right after a restart. `now` is the clock.
 */
export function createReporterMetrics(registry: Registry, store: ReportingStore, now: () => number = Date.now): ReporterMetrics {
  // A scrape while the store closes (shutdown) keeps the last values instead of failing /metrics.
  const quietly = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch {
      // store closed or busy: keep the previous values
    }
  };
  new Gauge({
    name: 'safeguard_reporter_cases',
    help: 'Cases by state (from the store).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const stats = await store.caseStats();
        this.reset();
        for (const [state, n] of Object.entries(stats.byState)) this.set({ state }, n);
      });
    },
  });
  new Gauge({
    name: 'safeguard_reporter_review_backlog_age_seconds',
    help: 'Age of the oldest case waiting for a human (pending, claimed or escalated); 0 when none waits.',
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const oldest = (await store.caseStats()).oldestAwaitingReviewOpenedAtMs;
        this.set(oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
      });
    },
  });
  new Gauge({
    name: 'safeguard_reporter_outbox_reports',
    help: 'Reports in the delivery outbox by destination and state (from the store).',
    labelNames: ['destination', 'state'],
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const rows = (await store.outboxStats()).byDestinationState;
        this.reset();
        for (const row of rows) this.set({ destination: row.destination, state: row.state }, row.count);
      });
    },
  });
  new Gauge({
    name: 'safeguard_reporter_ambiguous_submits',
    help: 'Reports whose NCMEC submit may have arrived twice (answer lost or process stopped mid-call): reconcile by hand.',
    registers: [registry],
    async collect() {
      await quietly(async () => this.set((await store.outboxStats()).ambiguous));
    },
  });
  new Gauge({
    name: 'safeguard_reporter_audit_chain_length',
    help: 'Records in the audit chain (in the store).',
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const head = await store.audit.head();
        this.set(head ? head.seq + 1 : 0);
      });
    },
  });
  return {
    events: new Counter({
      name: 'safeguard_reporter_events_total',
      help: 'Match results and grooming alerts by outcome.',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'safeguard_reporter_decisions_total',
      help: 'Review decisions by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    reports: new Counter({
      name: 'safeguard_reporter_reports_total',
      help: 'Finished report deliveries by destination and outcome.',
      labelNames: ['destination', 'outcome'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'safeguard_reporter_delivery_seconds',
      help: 'Time from queueing a report to its acknowledgement by the authority.',
      labelNames: ['destination'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'safeguard_reporter_api_requests_total',
      help: 'Review API requests by route and status code.',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    apiRequestSeconds: new Histogram({
      name: 'safeguard_reporter_api_request_seconds',
      help: 'Review API request duration (all routes), including the audit record, seconds.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    taskFailures: new Counter({
      name: 'safeguard_reporter_task_failures_total',
      help: 'Failed runs of the periodic tasks (delivery, retention, audit_relay, report_repair).',
      labelNames: ['task'],
      registers: [registry],
    }),
    purgedCases: new Counter({
      name: 'safeguard_reporter_purged_cases_total',
      help: 'Cases whose data retention purged.',
      registers: [registry],
    }),
    mediaSkipped: new Counter({
      name: 'safeguard_reporter_media_skipped_total',
      help: 'Media not uploaded to NCMEC (the report carries its hashes only), by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    auditPublished: new Gauge({
      name: 'safeguard_reporter_audit_published_length',
      help: 'Audit records published to the audit topic (the relay position); chain length minus this is the backlog.',
      registers: [registry],
    }),
    uploadFieldsDropped: new Counter({
      name: 'safeguard_reporter_upload_fields_dropped_total',
      help: 'Malformed upload-context fields (IP address, country code, upload time) left out of a case, by reason; the match itself is kept.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    feedbackEvents: new Counter({
      name: 'safeguard_reporter_feedback_events_total',
      help: 'Indicator feedback records by action and outcome (published, published_without_entry_hash, skipped_entry_hash_unknown).',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    repairedCases: new Counter({
      name: 'safeguard_reporter_repaired_cases_total',
      help: 'Confirmed cases found without queued reports after a crash: reports queued, or returned to review when no decision was recorded.',
      labelNames: ['action'],
      registers: [registry],
    }),
  };
}
