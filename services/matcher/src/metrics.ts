import { Counter, Gauge, Histogram, type Registry } from '@safeguard/observability';

/**
 * Every metric the matcher owns (consumed/processing/lag/dead-letter/produced come from the
 * transport). Labels come from closed sets: algorithm ids, decisions, reason and outcome codes,
 * and bank names (configured by the operator, a handful per deployment; never entry ids or hashes).
 */
export interface MatcherMetrics {
  /** Entries held, by algorithm and bank (all states). Set at scrape time. */
  indexEntries: Gauge<'algorithm' | 'bank'>;
  /** Disabled and quarantined entries, by bank and state. Set at scrape time. */
  indexInactiveEntries: Gauge<'bank' | 'state'>;
  /** Seconds since the last indicator record was applied. Set at scrape time. */
  indexAgeSeconds: Gauge<string>;
  /** 1 once the index has read the indicator topic to its end (the replica is ready), else 0. */
  indexReady: Gauge<string>;
  /** Records the index is behind the end of the indicator topic (refreshed periodically). */
  indexLagRecords: Gauge<string>;
  /** Indicator records applied, by outcome (added, updated, unchanged, deleted, stale, not_found, invalid). */
  indexUpdates: Counter<'outcome'>;
  /** Record timestamp → applied on this replica, seconds (records arriving after the initial load only). */
  updateApplySeconds: Histogram<string>;
  /** Seconds from start until the index had read the indicator topic to its end. */
  indexLoadSeconds: Gauge<string>;
  /** Match results by channel (`stream`, `check`) and decision (block, review, allow, none). */
  matches: Counter<'channel' | 'decision'>;
  /** Matches found but not reported, by reason (allow_list, quarantined). */
  suppressed: Counter<'reason'>;
  /** Query hashes not matched, by reason (low_quality, algorithm_unsupported). */
  skippedQueries: Counter<'reason'>;
  /** Time to match one content's hashes against every bank, seconds. */
  matchSeconds: Histogram<'channel'>;
  /** MatchFound events published. */
  matchEventsPublished: Counter<string>;
  /** Entries quarantined for flooding, by bank. */
  floodQuarantines: Counter<'bank'>;
  /** Quarantine updates waiting to be published (after a failed publication). */
  pendingIndicatorUpdates: Gauge<string>;
  /** Feedback events by vote, action (disable_entry, propose_allow_list, none) and outcome. */
  feedback: Counter<'vote' | 'action' | 'outcome'>;
  /** Check API requests by outcome (ok, rejected, unauthorized, at_capacity, not_ready, error). */
  checkRequests: Counter<'outcome'>;
  /** Check API time by phase: `hash` (queue + decode + hash on a worker), `match`, `total`. */
  checkSeconds: Histogram<'phase'>;
  /** Check requests admitted (hashing or waiting for a worker). */
  checkInFlight: Gauge<string>;
  /** Sets the function that refreshes the scrape-time index gauges (called on every scrape). */
  setIndexCollector(collect: () => void): void;
}

/** Declares the matcher metrics on `registry`. */
export function createMatcherMetrics(registry: Registry): MatcherMetrics {
  const r = [registry];
  let indexCollector: (() => void) | undefined;
  return {
    setIndexCollector: (collect) => {
      indexCollector = collect;
    },
    indexEntries: new Gauge({
      name: 'safeguard_matcher_index_entries',
      help: 'Bank entries held in the index, by algorithm and bank (all states).',
      labelNames: ['algorithm', 'bank'],
      registers: r,
      // Refreshes this gauge, the inactive-entries gauge and the index age, once per scrape.
      collect: () => indexCollector?.(),
    }),
    indexInactiveEntries: new Gauge({
      name: 'safeguard_matcher_index_inactive_entries',
      help: 'Disabled and quarantined bank entries, by bank and state.',
      labelNames: ['bank', 'state'],
      registers: r,
    }),
    indexAgeSeconds: new Gauge({ name: 'safeguard_matcher_index_age_seconds', help: 'Seconds since the last indicator record was applied to the index.', registers: r }),
    indexReady: new Gauge({ name: 'safeguard_matcher_index_ready', help: '1 once the index has read the indicator topic to its end, else 0.', registers: r }),
    indexLagRecords: new Gauge({ name: 'safeguard_matcher_index_lag_records', help: 'Indicator records not yet applied (end of the topic minus position), refreshed periodically.', registers: r }),
    indexUpdates: new Counter({ name: 'safeguard_matcher_index_updates_total', help: 'Indicator records applied to the index, by outcome.', labelNames: ['outcome'], registers: r }),
    updateApplySeconds: new Histogram({
      name: 'safeguard_matcher_update_apply_seconds',
      help: 'Indicator record timestamp to applied on this replica, seconds (after the initial load).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: r,
    }),
    indexLoadSeconds: new Gauge({ name: 'safeguard_matcher_index_load_seconds', help: 'Seconds the initial load of the indicator topic took.', registers: r }),
    matches: new Counter({ name: 'safeguard_matcher_matches_total', help: 'Match results by channel and decision.', labelNames: ['channel', 'decision'], registers: r }),
    suppressed: new Counter({ name: 'safeguard_matcher_suppressed_total', help: 'Matches found but suppressed, by reason.', labelNames: ['reason'], registers: r }),
    skippedQueries: new Counter({ name: 'safeguard_matcher_skipped_queries_total', help: 'Query hashes not matched, by reason.', labelNames: ['reason'], registers: r }),
    matchSeconds: new Histogram({
      name: 'safeguard_matcher_match_seconds',
      help: 'Time to match one content against every bank, seconds.',
      labelNames: ['channel'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: r,
    }),
    matchEventsPublished: new Counter({ name: 'safeguard_matcher_match_events_total', help: 'MatchFound events published.', registers: r }),
    floodQuarantines: new Counter({ name: 'safeguard_matcher_flood_quarantines_total', help: 'Entries quarantined for flooding, by bank.', labelNames: ['bank'], registers: r }),
    pendingIndicatorUpdates: new Gauge({ name: 'safeguard_matcher_pending_indicator_updates', help: 'Quarantine updates waiting to be published after a failed publication.', registers: r }),
    feedback: new Counter({ name: 'safeguard_matcher_feedback_total', help: 'Indicator feedback events by vote, action and outcome.', labelNames: ['vote', 'action', 'outcome'], registers: r }),
    checkRequests: new Counter({ name: 'safeguard_matcher_check_requests_total', help: 'Check API requests by outcome.', labelNames: ['outcome'], registers: r }),
    checkSeconds: new Histogram({
      name: 'safeguard_matcher_check_seconds',
      help: 'Check API time by phase (hash: queue + decode + hash; match; total), seconds.',
      labelNames: ['phase'],
      buckets: [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    checkInFlight: new Gauge({ name: 'safeguard_matcher_check_in_flight', help: 'Check requests admitted (hashing or waiting for a worker).', registers: r }),
  };
}
