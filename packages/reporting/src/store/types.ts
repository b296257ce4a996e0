import type { AuditSink } from '../audit';
import type { Case, CaseState, MatchItem } from '../case';
import type { Complaint } from '../complaints';
import type { Destination, IndustryClassification } from '../policy';
import type { ReportEnrichment } from '../reports/profile';
import type { FeedbackRecord, ReviewDecision } from '../review';

/** Delivery state of one report to one destination. */
export type OutboxState =
  /** Not yet accepted by the authority (NCMEC: no reportId yet). */
  | 'pending'
  /** NCMEC returned a reportId; files and finish still to do. */
  | 'submitted'
  /** NCMEC report finished / EU report acknowledged: done. */
  | 'delivered'
  /** Permanently failed before NCMEC had a report, or after retraction. */
  | 'failed'
  /** A permanent failure after submit: the unfinished NCMEC report must be retracted. */
  | 'retracting'
  /** Withdrawn before delivery (complaint upheld, case reversed). */
  | 'cancelled';

/** One file of an NCMEC report, with per-step progress. */
export interface OutboxFile {
  itemKey: string;
  fileName: string;
  mediaUri?: string;
  /** Set as soon as `/upload` returns, so a restart never uploads twice. */
  fileId?: string;
  /** True once `/fileinfo` succeeded. */
  detailsSent: boolean;
  /** Snapshot of the item for `<fileDetails>`. */
  item: MatchItem;
}

/** Why the last attempt failed. */
export interface OutboxError {
  code: string;
  message: string;
  atMs: number;
  authorityCode?: number;
  httpStatus?: number;
}

/**
 * One report to one destination and its delivery progress (transactional outbox). The `key`
 * is the deterministic report id of (case, destination): enqueuing twice is a no-op, which
 * is what makes "one report per incident" hold across restarts and replicas.
 */
export interface OutboxRecord {
  key: string;
  caseId: string;
  destination: Destination;
  version: number;
  createdAtMs: number;
  updatedAtMs: number;
  state: OutboxState;
  /** Failed attempts so far (reset by progress). */
  attempts: number;
  nextAttemptAtMs: number;
  lastError?: OutboxError;
  /** Submits sent whose outcome was unknown (connection lost after sending): an operator may need to reconcile. */
  ambiguousSubmits: number;
  deliveredAtMs?: number;
  ncmec?: {
    reportXml: string;
    reportId?: string;
    files: OutboxFile[];
    fileViewedByEsp: boolean;
    industryClassification?: IndustryClassification;
    uploaderAccountId: string;
    enrichment?: ReportEnrichment;
    retractedAtMs?: number;
    /**
     * Set just before `/submit` is sent and cleared once its outcome is stored: found set by a
     * later attempt, it means the process stopped mid-submit (counted in `ambiguousSubmits`).
     */
    submitStartedAtMs?: number;
  };
  eu?: {
    /** The exact signed bytes (canonical JSON + newline), utf8. */
    body: string;
    receiptId?: string;
  };
  /** Set when retention removed the payload. */
  purgedAtMs?: number;
}

/** Filter for listing cases. */
export interface CaseQuery {
  states?: CaseState[];
  /** Cases opened strictly before this instant. */
  openedBeforeMs?: number;
  limit?: number;
}

/** Case counts for metrics; cheap to compute (no case documents are read). */
export interface CaseStats {
  /** Cases per state; states without cases are absent. */
  byState: Partial<Record<CaseState, number>>;
  /** Opening time of the oldest case waiting for a human (`pending_review`, `claimed`, `escalated`), if any. */
  oldestAwaitingReviewOpenedAtMs?: number;
}

/** Outbox counts for metrics. */
export interface OutboxStats {
  /** Records per destination and state; absent combinations have none. */
  byDestinationState: Array<{ destination: Destination; state: OutboxState; count: number }>;
  /** Records whose NCMEC submit may have been received more than once (`ambiguousSubmits > 0`): reconcile by hand. */
  ambiguous: number;
}

/**
 * Persistence of cases and everything decided about them. Why an interface: the library is
 * storage-agnostic; the reporter service can use the SQLite store on one node or implement it
 * on a shared database. Writes use optimistic concurrency on `version`: a stale writer gets
 * `ConflictError('version_conflict')` and must reload.
 */
export interface CaseStore {
  getCase(caseId: string): Promise<Case | undefined>;
  /**
   * Inserts (`expectedVersion` 0, the case must not exist) or updates (stored version must equal
   * `expectedVersion`). Returns the stored case with `version` incremented. Keeps the
   * item index (platform, item key) → case in step.
   * @throws ConflictError `version_conflict`
   */
  saveCase(c: Case, expectedVersion: number): Promise<Case>;
  /** The newest case of a subject in an open state, if any. */
  findOpenCase(kind: Case['kind'], platformId: string, subjectId: string): Promise<Case | undefined>;
  /** The case that holds item `itemKey` (content id or alert id) of a platform, if any. */
  findCaseByItem(platformId: string, itemKey: string): Promise<Case | undefined>;
  listCases(query?: CaseQuery): Promise<Case[]>;
  /** Counts by state and the oldest case awaiting review (for metrics). */
  caseStats(): Promise<CaseStats>;
  /** Idempotent on `decisionId`. */
  addDecision(d: ReviewDecision): Promise<void>;
  listDecisions(caseId?: string): Promise<ReviewDecision[]>;
  /** Idempotent on `feedbackId`. */
  addFeedback(f: FeedbackRecord): Promise<void>;
  listFeedback(caseId?: string): Promise<FeedbackRecord[]>;
  getComplaint(complaintId: string): Promise<Complaint | undefined>;
  /** Same versioning as {@link CaseStore.saveCase}. */
  saveComplaint(c: Complaint, expectedVersion: number): Promise<Complaint>;
  listComplaints(caseId?: string): Promise<Complaint[]>;
}

/** The delivery outbox. Same optimistic versioning as {@link CaseStore}. */
export interface Outbox {
  /** Inserts a record unless its key exists; resolves to true when inserted. */
  enqueue(r: OutboxRecord): Promise<boolean>;
  getOutbox(key: string): Promise<OutboxRecord | undefined>;
  /** @throws ConflictError `version_conflict` */
  saveOutbox(r: OutboxRecord, expectedVersion: number): Promise<OutboxRecord>;
  /** Records in `pending`, `submitted` or `retracting` whose `nextAttemptAtMs <= nowMs`, oldest first. */
  listDue(nowMs: number, limit?: number): Promise<OutboxRecord[]>;
  listOutbox(caseId?: string): Promise<OutboxRecord[]>;
  /** Counts by destination and state, and ambiguous submits (for metrics). */
  outboxStats(): Promise<OutboxStats>;
}

/** Everything the reporting engine persists. */
export interface ReportingStore extends CaseStore, Outbox {
  readonly audit: AuditSink;
  close(): Promise<void>;
}
