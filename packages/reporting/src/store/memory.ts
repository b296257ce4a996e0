import { MemoryAuditSink } from '../audit';
import { caseItemKey, OPEN_STATES, type Case } from '../case';
import type { Complaint } from '../complaints';
import { ConflictError } from '../errors';
import type { FeedbackRecord, ReviewDecision } from '../review';
import type { CaseQuery, CaseStats, OutboxRecord, OutboxStats, ReportingStore } from './types';

const DUE_STATES = new Set(['pending', 'submitted', 'retracting']);
const AWAITING_REVIEW = new Set<string>(['pending_review', 'claimed', 'escalated']);

/** In-memory {@link ReportingStore} for tests and the embedded demo. Values are deep-copied in and out. */
export class MemoryReportingStore implements ReportingStore {
  readonly audit = new MemoryAuditSink();
  private readonly cases = new Map<string, Case>();
  private readonly itemIndex = new Map<string, string>();
  private readonly decisions = new Map<string, ReviewDecision>();
  private readonly feedback = new Map<string, FeedbackRecord>();
  private readonly complaints = new Map<string, Complaint>();
  private readonly outbox = new Map<string, OutboxRecord>();

  async getCase(caseId: string): Promise<Case | undefined> {
    const c = this.cases.get(caseId);
    return c && structuredClone(c);
  }

  async saveCase(c: Case, expectedVersion: number): Promise<Case> {
    const cur = this.cases.get(c.caseId);
    if ((cur?.version ?? 0) !== expectedVersion || (!cur && expectedVersion !== 0)) {
      throw new ConflictError('version_conflict', `case ${c.caseId} changed (expected version ${expectedVersion})`);
    }
    const stored = { ...structuredClone(c), version: expectedVersion + 1 };
    if (cur) {
      for (const it of cur.items) {
        const k = `${cur.platformId}|${caseItemKey(it)}`;
        if (this.itemIndex.get(k) === cur.caseId) this.itemIndex.delete(k);
      }
    }
    for (const it of stored.items) this.itemIndex.set(`${stored.platformId}|${caseItemKey(it)}`, stored.caseId);
    this.cases.set(c.caseId, stored);
    return structuredClone(stored);
  }

  async findOpenCase(kind: Case['kind'], platformId: string, subjectId: string): Promise<Case | undefined> {
    let best: Case | undefined;
    for (const c of this.cases.values()) {
      if (c.kind === kind && c.platformId === platformId && c.subjectId === subjectId && OPEN_STATES.includes(c.state)) {
        if (!best || c.openedAtMs > best.openedAtMs || (c.openedAtMs === best.openedAtMs && c.caseId > best.caseId)) best = c;
      }
    }
    return best && structuredClone(best);
  }

  async findCaseByItem(platformId: string, itemKey: string): Promise<Case | undefined> {
    const id = this.itemIndex.get(`${platformId}|${itemKey}`);
    return id ? this.getCase(id) : undefined;
  }

  async listCases(query: CaseQuery = {}): Promise<Case[]> {
    const out = [...this.cases.values()]
      .filter((c) => (!query.states || query.states.includes(c.state)) && (query.openedBeforeMs === undefined || c.openedAtMs < query.openedBeforeMs))
      .sort((a, b) => a.openedAtMs - b.openedAtMs || (a.caseId < b.caseId ? -1 : 1));
    return structuredClone(query.limit !== undefined ? out.slice(0, query.limit) : out);
  }

  async caseStats(): Promise<CaseStats> {
    const byState: CaseStats['byState'] = {};
    let oldest: number | undefined;
    for (const c of this.cases.values()) {
      byState[c.state] = (byState[c.state] ?? 0) + 1;
      if (AWAITING_REVIEW.has(c.state) && (oldest === undefined || c.openedAtMs < oldest)) oldest = c.openedAtMs;
    }
    return { byState, ...(oldest !== undefined ? { oldestAwaitingReviewOpenedAtMs: oldest } : {}) };
  }

  async addDecision(d: ReviewDecision): Promise<void> {
    if (!this.decisions.has(d.decisionId)) this.decisions.set(d.decisionId, structuredClone(d));
  }

  async listDecisions(caseId?: string): Promise<ReviewDecision[]> {
    return structuredClone([...this.decisions.values()].filter((d) => caseId === undefined || d.caseId === caseId).sort((a, b) => a.atMs - b.atMs));
  }

  async addFeedback(f: FeedbackRecord): Promise<void> {
    if (!this.feedback.has(f.feedbackId)) this.feedback.set(f.feedbackId, structuredClone(f));
  }

  async listFeedback(caseId?: string): Promise<FeedbackRecord[]> {
    return structuredClone([...this.feedback.values()].filter((f) => caseId === undefined || f.caseId === caseId).sort((a, b) => a.createdAtMs - b.createdAtMs));
  }

  async getComplaint(complaintId: string): Promise<Complaint | undefined> {
    const c = this.complaints.get(complaintId);
    return c && structuredClone(c);
  }

  async saveComplaint(c: Complaint, expectedVersion: number): Promise<Complaint> {
    const cur = this.complaints.get(c.complaintId);
    if ((cur?.version ?? 0) !== expectedVersion || (!cur && expectedVersion !== 0)) {
      throw new ConflictError('version_conflict', `complaint ${c.complaintId} changed (expected version ${expectedVersion})`);
    }
    const stored = { ...structuredClone(c), version: expectedVersion + 1 };
    this.complaints.set(c.complaintId, stored);
    return structuredClone(stored);
  }

  async listComplaints(caseId?: string): Promise<Complaint[]> {
    return structuredClone([...this.complaints.values()].filter((c) => caseId === undefined || c.caseId === caseId).sort((a, b) => a.filedAtMs - b.filedAtMs));
  }

  async enqueue(r: OutboxRecord): Promise<boolean> {
    if (this.outbox.has(r.key)) return false;
    this.outbox.set(r.key, { ...structuredClone(r), version: 1 });
    return true;
  }

  async getOutbox(key: string): Promise<OutboxRecord | undefined> {
    const r = this.outbox.get(key);
    return r && structuredClone(r);
  }

  async saveOutbox(r: OutboxRecord, expectedVersion: number): Promise<OutboxRecord> {
    const cur = this.outbox.get(r.key);
    if (!cur || cur.version !== expectedVersion) throw new ConflictError('version_conflict', `outbox ${r.key} changed (expected version ${expectedVersion})`);
    const stored = { ...structuredClone(r), version: expectedVersion + 1 };
    this.outbox.set(r.key, stored);
    return structuredClone(stored);
  }

  async listDue(nowMs: number, limit = 100): Promise<OutboxRecord[]> {
    return structuredClone(
      [...this.outbox.values()]
        .filter((r) => DUE_STATES.has(r.state) && r.nextAttemptAtMs <= nowMs)
        .sort((a, b) => a.nextAttemptAtMs - b.nextAttemptAtMs || (a.key < b.key ? -1 : 1))
        .slice(0, limit),
    );
  }

  async listOutbox(caseId?: string): Promise<OutboxRecord[]> {
    return structuredClone([...this.outbox.values()].filter((r) => caseId === undefined || r.caseId === caseId).sort((a, b) => a.createdAtMs - b.createdAtMs || (a.key < b.key ? -1 : 1)));
  }

  async outboxStats(): Promise<OutboxStats> {
    const counts = new Map<string, OutboxStats['byDestinationState'][number]>();
    let ambiguous = 0;
    for (const r of this.outbox.values()) {
      const k = `${r.destination}|${r.state}`;
      const row = counts.get(k) ?? { destination: r.destination, state: r.state, count: 0 };
      row.count++;
      counts.set(k, row);
      if (r.ambiguousSubmits > 0) ambiguous++;
    }
    return { byDestinationState: [...counts.values()].sort((a, b) => (`${a.destination}|${a.state}` < `${b.destination}|${b.state}` ? -1 : 1)), ambiguous };
  }

  async close(): Promise<void> {}
}
