import { performance } from 'node:perf_hooks';
import { TransientError } from '@safeguard/domain';
import type { FloodAlert, MatchResult } from '@safeguard/domain/matching';
import type { Logger } from '@safeguard/observability';
import type { ContentHashed, HashValue, IndicatorFeedback, IndicatorUpdated, MatchDetail, MatchFound } from '@safeguard/schemas';
import type { IndicatorIndex } from './indicator-index';
import { indicatorUpdatedOf } from './indicator-mapping';
import { closestPerEntry, distinctSuppressed, matchDetailOf, matchFoundOf, prepareQueries } from './match-found';
import type { MatcherMetrics } from './metrics';

/** Where a match request came from (metric label). */
export type MatchChannel = 'stream' | 'check';

/** What the handler needs; no Kafka or HTTP types, so the consumer, the check API and tests share it. */
export interface MatcherDependencies {
  index: IndicatorIndex;
  /** Publishes a MatchFound; resolves once the broker acknowledged it. */
  publishMatch: (event: MatchFound) => Promise<void>;
  /** Publishes an entry's new state to the compacted indicator topic; resolves once acknowledged. */
  publishIndicator: (key: string, update: IndicatorUpdated) => Promise<void>;
  metrics: MatcherMetrics;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Opaque id written as `updatedBy` on the updates this service publishes. Default `matcher`. */
  serviceId?: string;
}

/** A content's hashes matched against every bank, with the details the outputs need. */
export interface ContentMatch {
  /** The library's result (decision, matches, suppressed, skipped, alerts). */
  result: MatchResult;
  /** One schema detail per reported entry (allow-bank matches included), closest query first. */
  details: MatchDetail[];
  /** Distinct entries whose matches were suppressed (allow-listed or quarantined). */
  suppressedCount: number;
  /** `sources[queryIndex]` is the content hash a library match's query came from. */
  sources: HashValue[];
  /** Time spent matching, seconds. */
  matchSeconds: number;
}

/** What became of one feedback event (metric label `outcome`). */
export type FeedbackOutcome = 'recorded' | 'disabled' | 'already_disabled' | 'entry_not_found' | 'entry_changed' | 'proposal_recorded';

const FEEDBACK_ACTIONS = new Set(['disable_entry', 'propose_allow_list']);

/**
 * Matches hashed content against the banks and turns the results into events: MatchFound when an
 * actionable match remains, quarantine updates for flooding entries, disable updates from reviewer
 * feedback. State changes go to the compacted indicator topic, never straight into the local
 * index: every replica (this one included) applies them from there, so all stay alike.
 */
export class MatchHandler {
  private readonly now: () => number;
  private readonly serviceId: string;
  /** Quarantine updates not yet acknowledged by the broker, by entry key. */
  private readonly pending = new Map<string, IndicatorUpdated>();
  private flushing: Promise<void> | undefined;

  constructor(private readonly deps: MatcherDependencies) {
    this.now = deps.now ?? Date.now;
    this.serviceId = deps.serviceId ?? 'matcher';
  }

  /** Quarantine updates waiting for publication (after a failed attempt). */
  get pendingUpdates(): number {
    return this.pending.size;
  }

  /**
   * Matches a content's hashes and records the outcome in the metrics. Flood alerts are queued
   * for publication (call {@link MatchHandler.flushPending}).
   * @throws InvalidInputError `hash_length_invalid` / `hash_charset_invalid` for a malformed hash.
   */
  matchHashes(hashes: readonly HashValue[], channel: MatchChannel): ContentMatch {
    const { metrics } = this.deps;
    const prepared = prepareQueries(hashes);
    const started = performance.now();
    const result = this.deps.index.banks.match(prepared.queries);
    const matchSeconds = (performance.now() - started) / 1000;
    metrics.matchSeconds.observe({ channel }, matchSeconds);
    metrics.matches.inc({ channel, decision: result.decision });
    if (prepared.unsupported > 0) metrics.skippedQueries.inc({ reason: 'algorithm_unsupported' }, prepared.unsupported);
    for (const s of result.skipped) metrics.skippedQueries.inc({ reason: s.reason });
    const suppressed = distinctSuppressed(result.suppressed);
    for (const s of suppressed) metrics.suppressed.inc({ reason: s.reason });
    for (const alert of result.alerts) this.quarantined(alert);
    const details = closestPerEntry(result.matches).map((m) => matchDetailOf(m, prepared.sources[m.queryIndex]!));
    return { result, details, suppressedCount: suppressed.length, sources: prepared.sources, matchSeconds };
  }

  /**
   * Handles one ContentHashed event: publishes pending quarantines, then the MatchFound (if an
   * actionable match remains). Resolves once both are acknowledged.
   * @returns the published event, or null.
   * @throws InvalidInputError for malformed hashes (dead letter); TransientError
   *   `indicator_publish_failed` when a quarantine could not be published (retried).
   */
  async handleHashed(event: ContentHashed): Promise<MatchFound | null> {
    const match = this.matchHashes(event.hashes, 'stream');
    await this.flushPending();
    const out = matchFoundOf(event, match.details, match.suppressedCount, this.now());
    if (out === null) return null;
    await this.deps.publishMatch(out);
    this.deps.metrics.matchEventsPublished.inc();
    return out;
  }

  /**
   * Applies reviewer feedback. A DOWN vote with action `disable_entry` publishes the entry as
   * DISABLED (reason `false_positive`), unless it is gone, already disabled, or its hash changed
   * since (the vote was about other content). `propose_allow_list` is only recorded: adding to
   * an allow-list needs a person (`safeguard bank proposals` lists them). UP votes are counted.
   */
  async handleFeedback(f: IndicatorFeedback): Promise<FeedbackOutcome> {
    const action = f.action === null ? 'none' : FEEDBACK_ACTIONS.has(f.action) ? f.action : 'other';
    const vote = f.vote === 'UP' ? 'up' : 'down';
    let outcome: FeedbackOutcome = 'recorded';
    if (vote === 'down' && action === 'disable_entry') {
      outcome = await this.disableFromFeedback(f);
    } else if (vote === 'down' && action === 'propose_allow_list') {
      outcome = 'proposal_recorded';
      this.deps.logger.info({ feedbackId: f.feedbackId, bank: f.bank.name, entryId: f.entryId, caseId: f.caseId }, 'allow-list proposal recorded for human review');
    }
    this.deps.metrics.feedback.inc({ vote, action, outcome });
    return outcome;
  }

  /**
   * Publishes queued quarantine updates. Concurrent callers share one pass.
   * @throws TransientError `indicator_publish_failed` (the updates stay queued).
   */
  async flushPending(): Promise<void> {
    while (this.pending.size > 0) {
      this.flushing ??= this.publishPending().finally(() => {
        this.flushing = undefined;
      });
      await this.flushing;
    }
  }

  private async publishPending(): Promise<void> {
    for (const [key, update] of [...this.pending]) {
      try {
        await this.deps.publishIndicator(key, update);
      } catch (err) {
        throw new TransientError('indicator_publish_failed', 'a quarantine update could not be published', { cause: err });
      }
      if (this.pending.get(key) === update) this.pending.delete(key);
      this.deps.metrics.pendingIndicatorUpdates.set(this.pending.size);
    }
  }

  private quarantined(alert: FloodAlert): void {
    this.deps.metrics.floodQuarantines.inc({ bank: alert.bank });
    this.deps.logger.warn(
      { bank: alert.bank, entryId: alert.entryId, windowCount: alert.windowCount, expectedPerWindow: alert.expectedPerWindow },
      'entry quarantined for flooding; a person must review and clear it',
    );
    this.pending.set(`${alert.bank}/${alert.entryId}`, indicatorUpdatedOf(alert.update, 'flood_quarantine', this.serviceId));
    this.deps.metrics.pendingIndicatorUpdates.set(this.pending.size);
  }

  private async disableFromFeedback(f: IndicatorFeedback): Promise<FeedbackOutcome> {
    const { banks } = this.deps.index;
    const entry = banks.getEntry(f.bank.name, f.entryId);
    if (!entry) return 'entry_not_found';
    if (f.hashValue !== '' && f.hashValue.toLowerCase() !== entry.hashHex) return 'entry_changed';
    if (entry.disabled) return 'already_disabled';
    const update = banks.setDisabled(f.bank.name, f.entryId, true)!;
    await this.deps.publishIndicator(`${f.bank.name}/${f.entryId}`, indicatorUpdatedOf(update, 'false_positive', `feedback:${f.feedbackId}`));
    this.deps.logger.info({ feedbackId: f.feedbackId, bank: f.bank.name, entryId: f.entryId, caseId: f.caseId }, 'entry disabled after a false positive');
    return 'disabled';
  }
}
