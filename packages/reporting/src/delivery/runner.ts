import { AuditLog, type AuditActor } from '../audit';
import { ConflictError, DeliveryRejectedError, ReportingInputError } from '../errors';
import { isSafeguardError } from '@safeguard/domain';
import { buildNcmecFileDetailsXml, NCMEC_RESPONSE } from '../reports/ncmec-report';
import type { OutboxError, OutboxRecord, ReportingStore } from '../store/types';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import type { EuCentreClient } from './eu-client';
import { AmbiguousDeliveryError } from './http';
import type { NcmecClient } from './ncmec-client';

/**
 * Reads media bytes for NCMEC uploads from the platform's storage. Why injected: the library
 * never fetches content itself; the service decides where bytes come from (and may return
 * `undefined`, in which case the report goes without that file).
 */
export interface MediaSource {
  read(mediaUri: string, contentId: string): Promise<Uint8Array | undefined>;
}

/** Dependencies of a {@link DeliveryRunner}. */
export interface DeliveryRunnerOptions {
  store: ReportingStore;
  clock: () => number;
  ncmec?: NcmecClient;
  euCentre?: EuCentreClient;
  media?: MediaSource;
  backoff?: Partial<BackoffPolicy>;
  random?: () => number;
  audit?: AuditLog;
}

/** Options of {@link DeliveryRunner.runDue} and {@link DeliveryRunner.deliver}. */
export interface DeliveryRunOptions {
  /**
   * Stops the pass between steps: once aborted, no further step starts (the step in flight
   * finishes and is persisted), so a shutdown never leaves a half-recorded step.
   */
  signal?: AbortSignal;
}

/** Counts of one {@link DeliveryRunner.runDue} pass. */
export interface DeliverySummary {
  processed: number;
  delivered: number;
  retryScheduled: number;
  failed: number;
  retracted: number;
}

const SYSTEM: AuditActor = { kind: 'system', id: 'reporter' };

/** What one step produced. */
type StepOutcome = { kind: 'continue'; record: OutboxRecord } | { kind: 'stop'; record: OutboxRecord };

/**
 * Drives outbox records to their authorities, step by step, persisting after every step so a
 * restart resumes where it stopped and never repeats a completed step: NCMEC
 * `submit` (reportId stored at once) → per file `upload` (fileId stored at once) → `fileinfo`
 * → `finish` (NCMEC's "already finished" answer to a repeated `/finish` of our report counts as
 * delivered); a permanent failure after submit retracts the unfinished report. Transient
 * failures are retried with bounded exponential backoff; 4100 validation failures and other
 * rejections are not. EU reports are one idempotent POST.
 */
export class DeliveryRunner {
  private readonly backoff: BackoffPolicy;
  private readonly audit: AuditLog;

  constructor(private readonly opts: DeliveryRunnerOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.audit = opts.audit ?? new AuditLog(opts.store.audit);
  }

  /** Processes every due record once (sequentially); stops early when `options.signal` aborts. */
  async runDue(limit = 100, options: DeliveryRunOptions = {}): Promise<DeliverySummary> {
    const summary: DeliverySummary = { processed: 0, delivered: 0, retryScheduled: 0, failed: 0, retracted: 0 };
    for (const r of await this.opts.store.listDue(this.opts.clock(), limit)) {
      if (options.signal?.aborted) break;
      const done = await this.deliver(r.key, options);
      summary.processed++;
      if (done.state === 'delivered') summary.delivered++;
      else if (done.state === 'failed') {
        if (done.ncmec?.retractedAtMs !== undefined) summary.retracted++;
        else summary.failed++;
      } else summary.retryScheduled++;
    }
    return summary;
  }

  /**
   * Advances one record as far as it goes now (or until `options.signal` aborts, between
   * steps); resolves to its stored state.
   */
  async deliver(key: string, options: DeliveryRunOptions = {}): Promise<OutboxRecord> {
    let record = await this.opts.store.getOutbox(key);
    if (!record) throw new ReportingInputError('not_found', `outbox record ${key} not found`);
    for (let guard = 0; guard < 1000; guard++) {
      if (!['pending', 'submitted', 'retracting'].includes(record.state)) return record;
      if (options.signal?.aborted) return record;
      let outcome: StepOutcome;
      try {
        outcome = await this.step(record);
      } catch (err) {
        if (err instanceof ConflictError) {
          const fresh = await this.opts.store.getOutbox(key);
          if (!fresh) throw err;
          record = fresh;
          continue;
        }
        // A step may have persisted a marker before failing (NCMEC submit): fail from the stored record.
        return this.onFailure((await this.opts.store.getOutbox(key)) ?? record, err);
      }
      record = outcome.record;
      if (outcome.kind === 'stop') return record;
    }
    return record;
  }

  private async save(r: OutboxRecord, patch: Partial<OutboxRecord>): Promise<OutboxRecord> {
    return this.opts.store.saveOutbox({ ...r, ...patch, updatedAtMs: this.opts.clock() }, r.version);
  }

  private async step(r: OutboxRecord): Promise<StepOutcome> {
    const now = this.opts.clock();
    if (r.destination === 'eu_centre') {
      if (!this.opts.euCentre) throw new ReportingInputError('delivery_unconfigured', 'no EU Centre endpoint configured');
      if (!r.eu) throw new DeliveryRejectedError('EU outbox record has no payload');
      const receiptId = await this.opts.euCentre.send(r.eu.body, r.key);
      const saved = await this.save(r, { state: 'delivered', deliveredAtMs: now, attempts: 0, eu: { ...r.eu, receiptId } });
      await this.onDelivered(saved, receiptId);
      return { kind: 'stop', record: saved };
    }
    const client = this.opts.ncmec;
    const n = r.ncmec;
    if (!n) throw new DeliveryRejectedError('NCMEC outbox record has no payload');
    if (!client) throw new ReportingInputError('delivery_unconfigured', 'no NCMEC endpoint configured');
    if (r.state === 'retracting') {
      if (!n.reportId) return { kind: 'stop', record: await this.save(r, { state: 'failed' }) };
      await client.retract(n.reportId);
      const saved = await this.save(r, { state: 'failed', ncmec: { ...n, retractedAtMs: now } });
      await this.audit.record({ atMs: now, type: 'report_retracted', actor: SYSTEM, caseId: r.caseId, data: { reportKey: r.key, destination: 'ncmec', authorityReportId: n.reportId } });
      return { kind: 'stop', record: saved };
    }
    if (r.state === 'pending') {
      let cur = r;
      if (n.submitStartedAtMs !== undefined) {
        // A submit was sent and the process stopped before its answer was stored: NCMEC may hold
        // an unfinished report from it. It cannot be asked (no idempotency key), so count it for
        // an operator to reconcile, and submit again.
        const { submitStartedAtMs: _prev, ...rest } = n;
        cur = await this.save(r, { ambiguousSubmits: r.ambiguousSubmits + 1, ncmec: rest });
        await this.audit.record({ atMs: now, type: 'delivery_ambiguous', actor: SYSTEM, caseId: r.caseId, data: { reportKey: r.key, destination: 'ncmec', step: 'submit', ambiguousSubmits: cur.ambiguousSubmits } });
      }
      // Marked before the call: a restart that finds the mark knows the outcome is unknown.
      const marked = await this.save(cur, { ncmec: { ...cur.ncmec!, submitStartedAtMs: now } });
      const reportId = await client.submit(n.reportXml);
      const { submitStartedAtMs: _done, ...after } = marked.ncmec!;
      // Stored before anything else happens: from now on a restart never submits again.
      return { kind: 'continue', record: await this.save(marked, { state: 'submitted', attempts: 0, ncmec: { ...after, reportId } }) };
    }
    const reportId = n.reportId;
    if (!reportId) return { kind: 'continue', record: await this.save(r, { state: 'pending' }) };
    const idx = n.files.findIndex((f) => !f.detailsSent);
    if (idx >= 0) {
      const file = n.files[idx]!;
      if (!file.fileId) {
        const bytes = file.mediaUri && this.opts.media ? await this.opts.media.read(file.mediaUri, file.item.contentId) : undefined;
        const files = [...n.files];
        if (!bytes) {
          // Nothing to upload: report without this file (its hashes are in the report text).
          files[idx] = { ...file, detailsSent: true };
          return { kind: 'continue', record: await this.save(r, { ncmec: { ...n, files } }) };
        }
        const fileId = await client.upload(reportId, file.fileName, bytes);
        files[idx] = { ...file, fileId };
        return { kind: 'continue', record: await this.save(r, { attempts: 0, ncmec: { ...n, files } }) };
      }
      await client.fileInfo(
        buildNcmecFileDetailsXml({
          reportId,
          fileId: file.fileId,
          item: file.item,
          fileName: file.fileName,
          fileViewedByEsp: n.fileViewedByEsp,
          ...(n.industryClassification ? { industryClassification: n.industryClassification } : {}),
          uploaderAccountId: n.uploaderAccountId,
          ...(n.enrichment ? { enrichment: n.enrichment } : {}),
        }),
      );
      const files = [...n.files];
      files[idx] = { ...file, detailsSent: true };
      return { kind: 'continue', record: await this.save(r, { attempts: 0, ncmec: { ...n, files } }) };
    }
    let alreadyFinished = false;
    try {
      await client.finish(reportId);
    } catch (err) {
      // "Already finished" for the report id we submitted: an earlier /finish of ours completed
      // and its answer was lost (connection cut, process killed). The report is delivered.
      if (!(err instanceof DeliveryRejectedError && err.authorityCode === NCMEC_RESPONSE.REPORT_ALREADY_FINISHED)) throw err;
      alreadyFinished = true;
    }
    const saved = await this.save(r, { state: 'delivered', deliveredAtMs: now, attempts: 0 });
    await this.onDelivered(saved, reportId, alreadyFinished);
    return { kind: 'stop', record: saved };
  }

  private async onFailure(r: OutboxRecord, err: unknown): Promise<OutboxRecord> {
    const now = this.opts.clock();
    const retriable = isSafeguardError(err) ? err.retriable || err.code === 'delivery_unconfigured' : false;
    const e: OutboxError = {
      code: isSafeguardError(err) ? err.code : 'unexpected',
      message: err instanceof Error ? err.message : String(err),
      atMs: now,
      ...(err instanceof DeliveryRejectedError && err.authorityCode !== undefined ? { authorityCode: err.authorityCode } : {}),
      ...(err && typeof (err as { httpStatus?: unknown }).httpStatus === 'number' ? { httpStatus: (err as { httpStatus: number }).httpStatus } : {}),
    };
    if (!isSafeguardError(err)) throw err;
    const attempts = r.attempts + 1;
    // A submit that may have reached NCMEC: counted so an operator can reconcile a possible duplicate.
    const ambiguousSubmits = r.ambiguousSubmits + (err instanceof AmbiguousDeliveryError && r.state === 'pending' && r.destination === 'ncmec' ? 1 : 0);
    if (r.ncmec?.submitStartedAtMs !== undefined) {
      // The submit's outcome is known now (failed, or counted as ambiguous above): drop the mark.
      const { submitStartedAtMs: _mark, ...ncmec } = r.ncmec;
      r = { ...r, ncmec };
    }
    if (retriable && attempts < this.backoff.maxAttempts) {
      return this.save(r, { attempts, ambiguousSubmits, lastError: e, nextAttemptAtMs: now + backoffDelayMs(attempts, this.backoff, this.opts.random) });
    }
    const lastError = retriable ? { ...e, code: 'attempts_exhausted' } : e;
    if (r.state === 'submitted') {
      // NCMEC holds an unfinished report that will never be completed: retract it now.
      const retracting = await this.save(r, { state: 'retracting', attempts: 0, lastError, nextAttemptAtMs: now });
      await this.audit.record({ atMs: now, type: 'report_failed', actor: SYSTEM, caseId: r.caseId, data: { reportKey: r.key, destination: r.destination, code: lastError.code, ...(e.authorityCode !== undefined ? { authorityCode: e.authorityCode } : {}), willRetract: true } });
      return this.deliver(retracting.key);
    }
    const failed = await this.save(r, { state: 'failed', attempts, ambiguousSubmits, lastError });
    await this.audit.record({
      atMs: now,
      type: 'report_failed',
      actor: SYSTEM,
      caseId: r.caseId,
      data: {
        reportKey: r.key,
        destination: r.destination,
        code: lastError.code,
        ...(e.authorityCode !== undefined ? { authorityCode: e.authorityCode } : {}),
        // The retraction of an unfinished NCMEC report failed for good: NCMEC may keep it open.
        ...(r.state === 'retracting' ? { retractFailed: true } : {}),
      },
    });
    return failed;
  }

  private async onDelivered(r: OutboxRecord, authorityReportId: string, alreadyFinished = false): Promise<void> {
    const now = this.opts.clock();
    await this.audit.record({
      atMs: now,
      type: 'report_sent',
      actor: SYSTEM,
      caseId: r.caseId,
      data: { reportKey: r.key, destination: r.destination, authorityReportId, ...(alreadyFinished ? { alreadyFinished: true } : {}) },
    });
    for (let i = 0; i < 5; i++) {
      const c = await this.opts.store.getCase(r.caseId);
      if (!c || c.state !== 'confirmed') return;
      const all = await this.opts.store.listOutbox(r.caseId);
      const open = all.filter((x) => x.state !== 'cancelled');
      if (open.length === 0 || !open.every((x) => x.state === 'delivered')) return;
      try {
        await this.opts.store.saveCase({ ...c, state: 'reported', reportedAtMs: Math.max(...open.map((x) => x.deliveredAtMs ?? now)), updatedAtMs: now }, c.version);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }
}
