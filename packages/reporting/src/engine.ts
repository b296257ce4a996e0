import { AuditLog, type AuditActor, type AuditValue } from './audit';
import {
  acceptsEvent,
  caseItemKey,
  DEFAULT_CASE_WINDOW_MS,
  defaultCategory,
  eventIdOf,
  itemKeyOf,
  mergeEvent,
  openCase,
  type Case,
} from './case';
import { decideComplaint, fileComplaint, type Complaint, type ComplaintSubject } from './complaints';
import { isSafeguardError } from '@safeguard/domain';
import { ConflictError, ReportingInputError } from './errors';
import { parseGroomingAlertEvent, parseMatchEvent, type ReportingEvent } from './events';
import { evaluatePolicy, type Destination, type PolicyConfig } from './policy';
import { buildEuReport, reportIdFor, serializeEuReport, signEuReport } from './reports/eu-report';
import { buildNcmecReportXml, ncmecFilePlans } from './reports/ncmec-report';
import type { ProviderProfile, ReportEnrichment } from './reports/profile';
import { isPurgeDue, parseRetentionConfig, purgeCase, purgeComplaint, purgeOutboxRecord, type RetentionConfig } from './retention';
import { applyReview, confirmationFeedbackOf, type Actor, type FeedbackRecord, type ReviewCommand, type ReviewDecision } from './review';
import type { SigningKey } from './keys';
import type { OutboxRecord, ReportingStore } from './store/types';

/** Dependencies and settings of a {@link ReportingEngine}. */
export interface ReportingEngineOptions {
  store: ReportingStore;
  policy: PolicyConfig;
  provider: ProviderProfile;
  /** Provider key that signs EU reports. */
  signingKey: SigningKey;
  /** Clock in ms since the epoch (injected for tests). */
  clock: () => number;
  /** Grouping window for cases. Default 24 h. */
  caseWindowMs?: number;
  /** Retention (default and maximum 12 months). */
  retention?: Partial<RetentionConfig>;
  /** Platform data added to reports (IP events, file facts, removal). */
  enrich?: (c: Case) => Promise<ReportEnrichment | undefined>;
  /** Audit log; defaults to one over `store.audit`. */
  audit?: AuditLog;
}

/** What {@link ReportingEngine.repairUnqueuedReports} did, by case id. */
export interface RepairSummary {
  /** Confirmed cases that had no queued report and now have them. */
  queued: string[];
  /**
   * Cases found confirmed without a recorded confirm decision (the process stopped between saving
   * the case and recording the decision): back in the review queue, since only a recorded human
   * decision may lead to a report.
   */
  requeued: string[];
  /** Cases the pass could not repair (the error is retried on the next pass; other cases go on). */
  failed: Array<{ caseId: string; code: string }>;
}

/** What happened to an ingested event. */
export interface IngestResult {
  caseId: string;
  outcome: 'opened' | 'merged' | 'duplicate';
  state: Case['state'];
}

const SYSTEM: AuditActor = { kind: 'system', id: 'reporter' };
const MAX_CONFLICT_RETRIES = 5;

/**
 * The reporting library's entry point for the reporter service: events in, cases, policy,
 * review, report queueing, complaints and retention out, every decision audited. Stateless
 * apart from the store, so several replicas can share one store (optimistic versioning;
 * conflicting writes are retried).
 */
export class ReportingEngine {
  readonly audit: AuditLog;
  private readonly retention: RetentionConfig;
  /** Cases with an operation of this engine under way (see {@link ReportingEngine.repairUnqueuedReports}). */
  private readonly inflight = new Map<string, number>();

  /** @throws ReportingInputError `invalid_config` (NCMEC routing without an NCMEC reporter profile, retention > 12 months) */
  constructor(private readonly opts: ReportingEngineOptions) {
    this.audit = opts.audit ?? new AuditLog(opts.store.audit);
    this.retention = parseRetentionConfig(opts.retention ?? {});
    const routes = new Set<Destination>([...opts.policy.defaultDestinations, ...opts.policy.rules.flatMap((r) => r.destinations ?? [])]);
    if (routes.has('ncmec') && !opts.provider.ncmec) {
      throw new ReportingInputError('invalid_config', 'policy routes to ncmec but the provider profile has no ncmec reporter section');
    }
  }

  private now(): number {
    return this.opts.clock();
  }

  /** Runs `fn` with `caseId` marked as in flight, so the repair pass leaves the case alone meanwhile. */
  private async track<T>(caseId: string, fn: () => Promise<T>): Promise<T> {
    this.inflight.set(caseId, (this.inflight.get(caseId) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = (this.inflight.get(caseId) ?? 1) - 1;
      if (n > 0) this.inflight.set(caseId, n);
      else this.inflight.delete(caseId);
    }
  }

  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ConflictError && err.code === 'version_conflict' && i < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  /**
   * Ingests a match event (validated). Same content already in a case → merged into that item
   * (a new bank or a plain duplicate); else joins the uploader's open case within the window;
   * else opens a case. Policy is (re)applied to open cases.
   * @throws ReportingInputError `invalid_event`
   */
  ingestMatch(value: unknown): Promise<IngestResult> {
    return this.ingest([{ type: 'match', event: parseMatchEvent(value) }]);
  }

  /**
   * Ingests every match of one content at once (e.g. all entries one matcher result hit), so
   * policy sees them together: the case and its policy outcome do not depend on the order in
   * which the matches are listed. All events must share platform, content and uploader; the
   * case id derives from the first one (keep the order stable for replays).
   * @throws ReportingInputError `invalid_event` (also for an empty or mixed group)
   */
  async ingestMatches(values: readonly unknown[]): Promise<IngestResult> {
    if (values.length === 0) throw new ReportingInputError('invalid_event', 'a match group needs at least one match');
    const events = values.map((v) => ({ type: 'match' as const, event: parseMatchEvent(v) }));
    const first = events[0]!.event;
    if (events.some(({ event: e }) => e.platformId !== first.platformId || e.contentId !== first.contentId || e.uploaderAccountId !== first.uploaderAccountId)) {
      throw new ReportingInputError('invalid_event', 'a match group must be about one content of one uploader on one platform');
    }
    return this.ingest(events);
  }

  /** Ingests a grooming alert (validated); grouped per conversation. Grooming always goes to review. */
  ingestAlert(value: unknown): Promise<IngestResult> {
    return this.ingest([{ type: 'grooming', event: parseGroomingAlertEvent(value) }]);
  }

  private openWith(evs: readonly ReportingEvent[], now: number): Case {
    let c = openCase(evs[0]!, now, this.opts.caseWindowMs ?? DEFAULT_CASE_WINDOW_MS);
    for (const ev of evs.slice(1)) c = mergeEvent(c, ev, now).case;
    return c;
  }

  private mergeAll(c: Case, evs: readonly ReportingEvent[], now: number): { case: Case; duplicate: boolean; newItem: boolean; perEvent: boolean[] } {
    let cur = c;
    let newItem = false;
    const perEvent: boolean[] = [];
    for (const ev of evs) {
      const m = mergeEvent(cur, ev, now);
      cur = m.case;
      newItem ||= m.newItem;
      perEvent.push(m.duplicate);
    }
    return { case: cur, duplicate: perEvent.every(Boolean), newItem, perEvent };
  }

  /** `evs` share one item key and subject (see {@link ReportingEngine.ingestMatches}). */
  private ingest(evs: readonly ReportingEvent[]): Promise<IngestResult> {
    const ev = evs[0]!;
    return this.retrying(async () => {
      const now = this.now();
      const platformId = ev.event.platformId;
      let target = await this.opts.store.findCaseByItem(platformId, itemKeyOf(ev));
      if (target?.state === 'purged') target = undefined;
      if (target?.state === 'dropped' && !this.mergeAll(target, evs, now).duplicate) {
        // Nobody looked at a dropped case: a new match of the same content that policy would not
        // drop (e.g. an exact hit after a low-quality one) must not vanish into it.
        const probe = this.openWith(evs, now);
        if (evaluatePolicy(probe.items, this.opts.policy, now).action !== 'drop') target = undefined;
      }
      if (!target) {
        const open = await this.opts.store.findOpenCase(ev.type === 'match' ? 'match' : 'grooming', platformId, ev.type === 'match' ? ev.event.uploaderAccountId : ev.event.conversationId);
        if (open && acceptsEvent(open, ev)) target = open;
      }
      const receivedType = ev.type === 'match' ? 'match_received' : 'alert_received';
      if (!target) {
        const fresh = this.openWith(evs, now);
        return this.track(fresh.caseId, () => this.openOrReplay(fresh, evs, receivedType, now));
      }
      const into = target;
      return this.track(into.caseId, () => this.mergeInto(into, evs, receivedType, now));
    });
  }

  private async openOrReplay(fresh: Case, evs: readonly ReportingEvent[], receivedType: 'match_received' | 'alert_received', now: number): Promise<IngestResult> {
    const existing = await this.opts.store.getCase(fresh.caseId);
    if (existing) {
      // Replay of the event that opened a case: same deterministic id.
      for (const e of evs) await this.audit.record({ atMs: now, type: receivedType, actor: SYSTEM, caseId: existing.caseId, data: { eventId: eventIdOf(e), duplicate: true } });
      await this.finishInterruptedDirectReport(existing, now);
      return { caseId: existing.caseId, outcome: 'duplicate', state: existing.state };
    }
    const decided = this.applyPolicy(fresh, now);
    const saved = await this.opts.store.saveCase(decided, 0);
    for (const e of evs) await this.audit.record({ atMs: now, type: receivedType, actor: SYSTEM, caseId: saved.caseId, data: { eventId: eventIdOf(e), duplicate: false } });
    await this.audit.record({ atMs: now, type: 'case_opened', actor: SYSTEM, caseId: saved.caseId, data: { kind: saved.kind } });
    await this.recordPolicy(saved, now);
    if (saved.state === 'confirmed') await this.queueReports(saved.caseId);
    return { caseId: saved.caseId, outcome: 'opened', state: saved.state };
  }

  private async mergeInto(target: Case, evs: readonly ReportingEvent[], receivedType: 'match_received' | 'alert_received', now: number): Promise<IngestResult> {
    const merged = this.mergeAll(target, evs, now);
    let next = merged.case;
    const reevaluate = !merged.duplicate && (next.state === 'pending_review' || next.state === 'escalated' || next.state === 'claimed');
    if (reevaluate) {
      const policy = evaluatePolicy(next.items, this.opts.policy, now);
      next = { ...next, policy, urgent: next.urgent || policy.urgent };
    }
    const saved = await this.opts.store.saveCase(next, target.version);
    for (const [i, e] of evs.entries()) {
      await this.audit.record({
        atMs: now,
        type: receivedType,
        actor: SYSTEM,
        caseId: saved.caseId,
        data: { eventId: eventIdOf(e), duplicate: merged.perEvent[i]!, newItem: merged.newItem },
      });
    }
    if (reevaluate) await this.recordPolicy(saved, now);
    if (merged.duplicate) await this.finishInterruptedDirectReport(saved, now);
    return { caseId: saved.caseId, outcome: merged.duplicate ? 'duplicate' : 'merged', state: saved.state };
  }

  /**
   * A case that policy confirmed for direct reporting but that has no queued report: the process
   * stopped between saving the case and queueing (the replayed event brought us back here).
   * Records the policy outcome again (it is the reason to report) and queues the reports. Cases
   * confirmed by a reviewer are left alone: they are reported only with a recorded decision.
   */
  private async finishInterruptedDirectReport(c: Case, now: number): Promise<void> {
    if (c.state !== 'confirmed' || c.policy?.action !== 'report') return;
    if ((await this.opts.store.listOutbox(c.caseId)).length > 0) return;
    await this.recordPolicy(c, now);
    await this.queueReports(c.caseId);
  }

  private applyPolicy(c: Case, now: number): Case {
    const policy = evaluatePolicy(c.items, this.opts.policy, now);
    const direct = policy.items.find((o) => o.action === 'report' && o.industryClassification);
    const base: Case = { ...c, policy, urgent: policy.urgent };
    if (policy.action === 'drop') return { ...base, state: 'dropped', decidedAtMs: now };
    if (policy.action === 'report') {
      return {
        ...base,
        state: 'confirmed',
        category: defaultCategory(c),
        decidedAtMs: now,
        ...(direct?.industryClassification ? { industryClassification: direct.industryClassification } : {}),
      };
    }
    return { ...base, state: 'pending_review' };
  }

  private async recordPolicy(c: Case, now: number): Promise<void> {
    if (!c.policy) return;
    await this.audit.record({
      atMs: now,
      type: 'policy_outcome',
      actor: SYSTEM,
      caseId: c.caseId,
      data: {
        action: c.policy.action,
        ruleId: c.policy.ruleId,
        destinations: c.policy.destinations,
        urgent: c.policy.urgent,
        items: c.policy.items.map((o) => ({ action: o.action, ruleId: o.ruleId, ...(o.overriddenRuleId ? { overriddenRuleId: o.overriddenRuleId } : {}) })),
        state: c.state,
      },
    });
  }

  /** A case by id. */
  getCase(caseId: string): Promise<Case | undefined> {
    return this.opts.store.getCase(caseId);
  }

  /**
   * Applies a review command (claim, release, confirm, false positive, escalate), persists the
   * decision and feedback, audits everything, and queues reports for confirmed cases.
   * @throws ReportingInputError `not_found`, `claim_required`, `forbidden_role`, `invalid_transition`
   * @throws ConflictError `claim_conflict`
   */
  review(caseId: string, cmd: ReviewCommand): Promise<{ case: Case; decision?: ReviewDecision; feedback: FeedbackRecord[] }> {
    return this.track(caseId, () => this.reviewOnce(caseId, cmd));
  }

  private reviewOnce(caseId: string, cmd: ReviewCommand): Promise<{ case: Case; decision?: ReviewDecision; feedback: FeedbackRecord[] }> {
    return this.retrying(async () => {
      const now = this.now();
      const current = await this.opts.store.getCase(caseId);
      if (!current) throw new ReportingInputError('not_found', `case ${caseId} not found`);
      const result = applyReview(current, cmd, now);
      const saved = await this.opts.store.saveCase(result.case, current.version);
      const actor: AuditActor = { kind: cmd.actor.role, id: cmd.actor.id };
      if (cmd.type === 'claim') await this.audit.record({ atMs: now, type: 'case_claimed', actor, caseId, data: { leaseExpiresAtMs: saved.claim?.leaseExpiresAtMs ?? now } });
      if (cmd.type === 'release') await this.audit.record({ atMs: now, type: 'claim_released', actor, caseId, data: { state: saved.state } });
      if (result.decision) {
        await this.opts.store.addDecision(result.decision);
        await this.audit.record({
          atMs: now,
          type: 'review_decision',
          actor,
          caseId,
          data: {
            decisionId: result.decision.decisionId,
            decision: result.decision.decision,
            state: saved.state,
            urgent: result.decision.urgent,
            ...(result.decision.reasonCode ? { reasonCode: result.decision.reasonCode } : {}),
            ...(result.decision.category ? { category: result.decision.category } : {}),
            ...(result.decision.falsePositiveAction ? { falsePositiveAction: result.decision.falsePositiveAction } : {}),
          },
        });
      }
      await this.recordFeedback(result.feedback, actor, now);
      if (saved.state === 'confirmed') await this.queueReports(caseId);
      return { ...result, case: saved };
    });
  }

  private async recordFeedback(feedback: FeedbackRecord[], actor: AuditActor, now: number): Promise<void> {
    for (const f of feedback) {
      await this.opts.store.addFeedback(f);
      await this.auditFeedback(f, actor, now);
    }
  }

  private async auditFeedback(f: FeedbackRecord, actor: AuditActor, now: number, extra: { [key: string]: AuditValue } = {}): Promise<void> {
    const type = f.action === 'disable_entry' ? 'entry_disabled' : f.action === 'propose_allow' ? 'allow_list_proposed' : 'feedback_recorded';
    await this.audit.record({
      atMs: now,
      type,
      actor,
      caseId: f.caseId,
      data: { feedbackId: f.feedbackId, bankName: f.bankName, entryId: f.entryId, algorithm: f.algorithm, vote: f.vote, reasonCode: f.reasonCode, ...extra },
    });
  }

  /**
   * Self-healing for a crash between a case becoming `confirmed` and its reports being queued
   * (the decision or the case is stored, the outbox is not). For every confirmed case without
   * any outbox record, not in flight in this engine:
   * - confirmed by policy (`report`): the policy outcome is recorded again and the reports queued
   *   (as a replay of its event would);
   * - confirmed by a reviewer whose `confirm` decision is stored: what the crash cut off is
   *   completed (the decision's audit record and its feedback, each only if missing) and the
   *   reports are queued;
   * - confirmed without a stored decision (the stop came before the decision was written): the
   *   case goes back to `pending_review` (audit `case_requeued`), because only a recorded human
   *   decision may lead to a report.
   * Idempotent: reports are keyed by their deterministic report ids, feedback by its ids, and
   * audit records are added only where the chain lacks them. Escalated cases are left alone:
   * they wait for an admin's decision and have no reports to queue. Reads the audit chain once
   * when a reviewer-confirmed case needs completing (rare).
   */
  async repairUnqueuedReports(): Promise<RepairSummary> {
    const summary: RepairSummary = { queued: [], requeued: [], failed: [] };
    let audited: { decisions: Set<string>; feedback: Set<string> } | undefined;
    const auditIndex = async () => {
      if (!audited) {
        audited = { decisions: new Set(), feedback: new Set() };
        for (const r of await this.audit.list()) {
          if (r.type === 'review_decision' && typeof r.data.decisionId === 'string') audited.decisions.add(r.data.decisionId);
          if ((r.type === 'feedback_recorded' || r.type === 'entry_disabled' || r.type === 'allow_list_proposed') && typeof r.data.feedbackId === 'string') audited.feedback.add(r.data.feedbackId);
        }
      }
      return audited;
    };
    for (const listed of await this.opts.store.listCases({ states: ['confirmed'] })) {
      if (this.inflight.has(listed.caseId)) continue;
      await this.track(listed.caseId, () =>
        this.retrying(async () => {
          try {
            await this.repairCase(listed.caseId, summary, auditIndex);
          } catch (err) {
            if (err instanceof ConflictError && err.code === 'version_conflict') throw err; // retried
            summary.failed.push({ caseId: listed.caseId, code: isSafeguardError(err) ? err.code : 'unexpected_error' });
          }
        }),
      );
    }
    return summary;
  }

  private async repairCase(caseId: string, summary: RepairSummary, auditIndex: () => Promise<{ decisions: Set<string>; feedback: Set<string> }>): Promise<void> {
    const c = await this.opts.store.getCase(caseId);
    if (!c || c.state !== 'confirmed' || (await this.opts.store.listOutbox(c.caseId)).length > 0) return;
    const now = this.now();
    if (c.policy?.action === 'report') {
      await this.recordPolicy(c, now);
      await this.queueReports(c.caseId);
      summary.queued.push(c.caseId);
      return;
    }
    const decision = (await this.opts.store.listDecisions(c.caseId)).filter((d) => d.decision === 'confirm').at(-1);
    if (!decision) {
      const { decidedAtMs: _d, category: _c, industryClassification: _i, claim: _claim, ...rest } = c;
      await this.opts.store.saveCase({ ...rest, state: 'pending_review', updatedAtMs: now }, c.version);
      await this.audit.record({ atMs: now, type: 'case_requeued', actor: SYSTEM, caseId: c.caseId, data: { reason: 'decision_missing', previousState: 'confirmed' } });
      summary.requeued.push(c.caseId);
      return;
    }
    const index = await auditIndex();
    const actor: AuditActor = { kind: decision.role, id: decision.actorId };
    if (!index.decisions.has(decision.decisionId)) {
      await this.audit.record({
        atMs: now,
        type: 'review_decision',
        actor,
        caseId: c.caseId,
        data: {
          decisionId: decision.decisionId,
          decision: decision.decision,
          state: c.state,
          urgent: decision.urgent,
          ...(decision.reasonCode ? { reasonCode: decision.reasonCode } : {}),
          ...(decision.category ? { category: decision.category } : {}),
          decidedAtMs: decision.atMs,
          repaired: true,
        },
      });
      index.decisions.add(decision.decisionId);
    }
    for (const f of confirmationFeedbackOf(c, decision)) {
      await this.opts.store.addFeedback(f);
      if (index.feedback.has(f.feedbackId)) continue;
      await this.auditFeedback(f, actor, now, { repaired: true });
      index.feedback.add(f.feedbackId);
    }
    await this.queueReports(c.caseId);
    summary.queued.push(c.caseId);
  }

  /**
   * Queues one report per destination of a confirmed case (idempotent: the outbox key is the
   * deterministic report id of case + destination). EU reports are built and signed now, so a
   * resend carries the same bytes.
   */
  async queueReports(caseId: string): Promise<OutboxRecord[]> {
    const now = this.now();
    const c = await this.opts.store.getCase(caseId);
    if (!c) throw new ReportingInputError('not_found', `case ${caseId} not found`);
    if (c.state !== 'confirmed') throw new ReportingInputError('invalid_transition', `case ${caseId} is ${c.state}, not confirmed`);
    const destinations = c.policy?.destinations.length ? c.policy.destinations : this.opts.policy.defaultDestinations;
    const enrichment = (await this.opts.enrich?.(c)) ?? undefined;
    const out: OutboxRecord[] = [];
    for (const destination of [...destinations].sort((a, b) => (a === 'ncmec' ? -1 : b === 'ncmec' ? 1 : 0))) {
      const key = reportIdFor(c.caseId, destination);
      if (await this.opts.store.getOutbox(key)) continue;
      const base = {
        key,
        caseId: c.caseId,
        destination,
        version: 0,
        createdAtMs: now,
        updatedAtMs: now,
        state: 'pending' as const,
        attempts: 0,
        nextAttemptAtMs: now,
        ambiguousSubmits: 0,
      };
      let record: OutboxRecord;
      if (destination === 'ncmec') {
        const plans = ncmecFilePlans(c, enrichment);
        record = {
          ...base,
          ncmec: {
            reportXml: buildNcmecReportXml(c, { provider: this.opts.provider, ...(enrichment ? { enrichment } : {}) }),
            files: plans.map((p) => {
              const item = c.items.find((it) => caseItemKey(it) === p.itemKey);
              if (!item || item.type !== 'match') throw new ReportingInputError('invalid_case', 'file plan without item');
              return { itemKey: p.itemKey, fileName: p.fileName, ...(p.mediaUri ? { mediaUri: p.mediaUri } : {}), detailsSent: false, item: structuredClone(item) };
            }),
            fileViewedByEsp: c.policy?.action !== 'report',
            ...(c.industryClassification ? { industryClassification: c.industryClassification } : {}),
            uploaderAccountId: c.subjectId,
            ...(enrichment ? { enrichment } : {}),
          },
        };
      } else {
        const ncmecQueued = destinations.includes('ncmec');
        const eu = signEuReport(
          buildEuReport(c, { provider: this.opts.provider, ...(enrichment ? { enrichment } : {}), ...(ncmecQueued ? { ncmec: { status: 'queued' as const } } : {}), nowMs: now }),
          this.opts.signingKey,
        );
        record = { ...base, eu: { body: serializeEuReport(eu).toString('utf8') } };
      }
      if (await this.opts.store.enqueue(record)) {
        out.push(record);
        await this.audit.record({ atMs: now, type: 'report_queued', actor: SYSTEM, caseId: c.caseId, data: { reportKey: key, destination } });
      }
    }
    return out;
  }

  /** Opens a complaint about a case's detection, removal or report; audited. */
  async fileComplaint(input: { caseId: string; subject: ComplaintSubject; complainantRef: string; groundsCode: string }): Promise<Complaint> {
    const now = this.now();
    const c = await this.opts.store.getCase(input.caseId);
    if (!c) throw new ReportingInputError('not_found', `case ${input.caseId} not found`);
    const complaint = fileComplaint(input, now);
    const existing = await this.opts.store.getComplaint(complaint.complaintId);
    if (existing) return existing;
    const saved = await this.opts.store.saveComplaint(complaint, 0);
    await this.audit.record({ atMs: now, type: 'complaint_filed', actor: { kind: 'user', id: 'complainant' }, caseId: c.caseId, data: { complaintId: saved.complaintId, subject: saved.subject, groundsCode: saved.groundsCode } });
    return saved;
  }

  /**
   * An admin decides a complaint; an upheld one reverses the case where possible (cancelling
   * pending reports, retracting an unfinished NCMEC report) and down-votes the bank entries.
   */
  async decideComplaint(complaintId: string, decision: { actor: Actor; outcome: 'upheld' | 'rejected'; groundsCode: string }): Promise<Complaint> {
    const filed = await this.opts.store.getComplaint(complaintId);
    if (!filed) throw new ReportingInputError('not_found', `complaint ${complaintId} not found`);
    return this.track(filed.caseId, () => this.decideComplaintOnce(complaintId, decision));
  }

  private decideComplaintOnce(complaintId: string, decision: { actor: Actor; outcome: 'upheld' | 'rejected'; groundsCode: string }): Promise<Complaint> {
    return this.retrying(async () => {
      const now = this.now();
      const complaint = await this.opts.store.getComplaint(complaintId);
      if (!complaint) throw new ReportingInputError('not_found', `complaint ${complaintId} not found`);
      const c = await this.opts.store.getCase(complaint.caseId);
      if (!c) throw new ReportingInputError('not_found', `case ${complaint.caseId} not found`);
      const result = decideComplaint(complaint, c, decision, now);
      if (result.case !== c) await this.opts.store.saveCase(result.case, c.version);
      const saved = await this.opts.store.saveComplaint(result.complaint, complaint.version);
      const actor: AuditActor = { kind: decision.actor.role, id: decision.actor.id };
      await this.audit.record({
        atMs: now,
        type: 'complaint_decided',
        actor,
        caseId: c.caseId,
        data: { complaintId, outcome: saved.state, groundsCode: decision.groundsCode, reversed: saved.reversal?.reversed ?? false },
      });
      if (saved.reversal?.reversed) {
        await this.audit.record({ atMs: now, type: 'decision_reversed', actor, caseId: c.caseId, data: { complaintId, actions: saved.reversal.actions, state: result.case.state } });
        if (saved.reversal.actions.includes('cancel_pending_reports')) await this.cancelPendingReports(c.caseId, now);
      }
      await this.recordFeedback(result.feedback, actor, now);
      return saved;
    });
  }

  private async cancelPendingReports(caseId: string, now: number): Promise<void> {
    for (const r of await this.opts.store.listOutbox(caseId)) {
      if (r.state === 'pending') {
        await this.opts.store.saveOutbox({ ...r, state: 'cancelled', updatedAtMs: now }, r.version);
        await this.audit.record({ atMs: now, type: 'report_failed', actor: SYSTEM, caseId, data: { reportKey: r.key, destination: r.destination, code: 'cancelled' } });
      } else if (r.state === 'submitted') {
        // NCMEC holds an unfinished report: the delivery runner retracts it.
        await this.opts.store.saveOutbox({ ...r, state: 'retracting', nextAttemptAtMs: now, lastError: { code: 'cancelled', message: 'complaint upheld', atMs: now }, updatedAtMs: now }, r.version);
      }
    }
  }

  /**
   * Purges every case whose retention period ended (default 12 months after it opened): evidence,
   * subject ids, report payloads and complainant ids are removed, one `data_purged` audit
   * record per case. Returns the purged case ids.
   */
  async purgeExpired(): Promise<string[]> {
    const now = this.now();
    const purged: string[] = [];
    for (const c of await this.opts.store.listCases()) {
      if (!isPurgeDue(c, now, this.retention)) continue;
      await this.track(c.caseId, () => this.retrying(async () => {
        const fresh = await this.opts.store.getCase(c.caseId);
        if (!fresh || fresh.state === 'purged') return;
        await this.opts.store.saveCase(purgeCase(fresh, now), fresh.version);
        let reports = 0;
        for (const r of await this.opts.store.listOutbox(c.caseId)) {
          if (r.purgedAtMs !== undefined) continue;
          await this.opts.store.saveOutbox(purgeOutboxRecord(r, now), r.version);
          reports++;
        }
        let complaints = 0;
        for (const cp of await this.opts.store.listComplaints(c.caseId)) {
          await this.opts.store.saveComplaint(purgeComplaint(cp), cp.version);
          complaints++;
        }
        await this.audit.record({
          atMs: now,
          type: 'data_purged',
          actor: SYSTEM,
          caseId: c.caseId,
          data: { items: fresh.items.length, reports, complaints, retentionMonths: this.retention.months, previousState: fresh.state },
        });
        purged.push(c.caseId);
      }));
    }
    return purged;
  }

  /**
   * An authority asked the provider not to inform the user before `untilMs` (the default is
   * three months after the report); audited.
   */
  holdNotification(caseId: string, untilMs: number, authority: Destination): Promise<Case> {
    return this.retrying(async () => {
      const now = this.now();
      const c = await this.opts.store.getCase(caseId);
      if (!c) throw new ReportingInputError('not_found', `case ${caseId} not found`);
      const saved = await this.opts.store.saveCase({ ...c, notificationHoldUntilMs: untilMs, updatedAtMs: now }, c.version);
      await this.audit.record({ atMs: now, type: 'notification_hold', actor: SYSTEM, caseId, data: { untilMs, authority } });
      return saved;
    });
  }

  /** Records that the platform removed the material or disabled access (Art. 13(i)). */
  markRemoved(caseId: string, removed: boolean): Promise<Case> {
    return this.retrying(async () => {
      const now = this.now();
      const c = await this.opts.store.getCase(caseId);
      if (!c) throw new ReportingInputError('not_found', `case ${caseId} not found`);
      return this.opts.store.saveCase({ ...c, removal: { removed, atMs: now }, updatedAtMs: now }, c.version);
    });
  }
}
