import Database from 'better-sqlite3';
import type { AuditHead, AuditRecord, AuditSink } from '../audit';
import { caseItemKey, OPEN_STATES, type Case } from '../case';
import type { Complaint } from '../complaints';
import { ConflictError, ReportingInputError } from '../errors';
import type { FeedbackRecord, ReviewDecision } from '../review';
import type { CaseQuery, CaseStats, OutboxRecord, OutboxStats, OutboxState, ReportingStore } from './types';
import type { Destination } from '../policy';
import type { CaseState } from '../case';

type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cases (
  case_id TEXT PRIMARY KEY, version INTEGER NOT NULL, kind TEXT NOT NULL, platform_id TEXT NOT NULL,
  subject_id TEXT NOT NULL, state TEXT NOT NULL, opened_at_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS cases_subject ON cases(kind, platform_id, subject_id, state);
CREATE INDEX IF NOT EXISTS cases_opened ON cases(opened_at_ms);
CREATE TABLE IF NOT EXISTS case_items (
  platform_id TEXT NOT NULL, item_key TEXT NOT NULL, case_id TEXT NOT NULL, PRIMARY KEY (platform_id, item_key));
CREATE TABLE IF NOT EXISTS decisions (decision_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, at_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_case ON decisions(case_id);
CREATE TABLE IF NOT EXISTS feedback (feedback_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, created_at_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS complaints (
  complaint_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, version INTEGER NOT NULL, filed_at_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  key TEXT PRIMARY KEY, case_id TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
  next_attempt_at_ms INTEGER NOT NULL, created_at_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at_ms);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, doc TEXT NOT NULL);
`;

const parse = <T>(row: { doc: string } | undefined): T | undefined => (row ? (JSON.parse(row.doc) as T) : undefined);

class SqliteAuditSink implements AuditSink {
  constructor(
    private readonly db: Db,
    private readonly readonly: boolean,
  ) {}
  async append(record: AuditRecord): Promise<void> {
    if (this.readonly) throw new ReportingInputError('invalid_config', 'the store was opened read-only');
    const head = await this.head();
    if (record.seq !== (head ? head.seq + 1 : 0)) throw new ConflictError('version_conflict', `audit seq ${record.seq} is not next`);
    try {
      this.db.prepare('INSERT INTO audit (seq, hash, doc) VALUES (?, ?, ?)').run(record.seq, record.hash, JSON.stringify(record));
    } catch {
      throw new ConflictError('version_conflict', `audit seq ${record.seq} already written`);
    }
  }
  async head(): Promise<AuditHead | undefined> {
    const row = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    return row ? { seq: row.seq, hash: row.hash } : undefined;
  }
  async list(fromSeq = 0): Promise<AuditRecord[]> {
    return (this.db.prepare('SELECT doc FROM audit WHERE seq >= ? ORDER BY seq').all(fromSeq) as { doc: string }[]).map((r) => JSON.parse(r.doc) as AuditRecord);
  }
}

/** Takes and keeps an exclusive lock on `lockPath` (see `SqliteReportingStore`'s `exclusive`). */
function acquireWriterLock(lockPath: string): Db {
  let lock: Db;
  try {
    lock = new Database(lockPath, { timeout: 0 });
  } catch (err) {
    throw new ReportingInputError('not_found', `cannot open lock file ${lockPath}`, { cause: err });
  }
  try {
    // In EXCLUSIVE locking mode SQLite keeps the lock of the first write until the connection closes.
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('CREATE TABLE IF NOT EXISTS writer (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, since_ms INTEGER NOT NULL)');
    lock.prepare('INSERT OR REPLACE INTO writer (id, pid, since_ms) VALUES (1, ?, ?)').run(process.pid, Date.now());
    return lock;
  } catch (err) {
    lock.close();
    throw new ReportingInputError('store_locked', `another process holds the store (${lockPath}); the reporter runs as one writer`, { cause: err });
  }
}

/**
 * Durable {@link ReportingStore} on SQLite (better-sqlite3 12; WAL journal, `synchronous=FULL`
 * so an acknowledged write survives a crash). Why SQLite rather than a JSON-lines file: the
 * outbox and cases are updated in place with version checks and need indexed lookups (due
 * records, subject, item) inside transactions; an append-only file would have to be replayed
 * and compacted to get the same. Suitable for one node (and the CLI); a multi-replica service
 * implements the same interface on a shared database.
 */
export class SqliteReportingStore implements ReportingStore {
  readonly audit: AuditSink;
  private readonly db: Db;
  private readonly readonly: boolean;
  private readonly lock: Db | undefined;

  /**
   * Opens (creating unless `readonly`) the database at `path` (`:memory:` for a throwaway one).
   *
   * `exclusive: true` makes this process the store's only writer: it takes an exclusive SQLite
   * lock on the side file `<path>.lock` (a POSIX lock the operating system releases when the
   * process ends, even on SIGKILL) and holds it until `close()`. A second writer on the same file
   * fails at once with `store_locked`. Readers (`readonly`, e.g. the transparency CLI) are not
   * affected. Local filesystems only: POSIX locks are unreliable over NFS.
   * @throws ReportingInputError `not_found` when `readonly` and the file does not exist;
   *   `store_locked` when `exclusive` and another process holds the store
   */
  constructor(path: string, options: { readonly?: boolean; exclusive?: boolean } = {}) {
    if (options.exclusive && !options.readonly && path !== ':memory:') this.lock = acquireWriterLock(`${path}.lock`);
    try {
      this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (err) {
      if (this.lock?.open) this.lock.close();
      throw new ReportingInputError('not_found', `cannot open store ${path}`, { cause: err });
    }
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    }
    this.readonly = options.readonly ?? false;
    this.audit = new SqliteAuditSink(this.db, this.readonly);
  }

  private writable(): void {
    if (this.readonly) throw new ReportingInputError('invalid_config', 'the store was opened read-only');
  }

  async getCase(caseId: string): Promise<Case | undefined> {
    return parse<Case>(this.db.prepare('SELECT doc FROM cases WHERE case_id = ?').get(caseId) as { doc: string } | undefined);
  }

  async saveCase(c: Case, expectedVersion: number): Promise<Case> {
    this.writable();
    const stored: Case = { ...c, version: expectedVersion + 1 };
    const tx = this.db.transaction(() => {
      const cur = this.db.prepare('SELECT version FROM cases WHERE case_id = ?').get(c.caseId) as { version: number } | undefined;
      if ((cur?.version ?? 0) !== expectedVersion || (!cur && expectedVersion !== 0)) {
        throw new ConflictError('version_conflict', `case ${c.caseId} changed (expected version ${expectedVersion})`);
      }
      const doc = JSON.stringify(stored);
      if (cur) {
        this.db
          .prepare('UPDATE cases SET version = ?, state = ?, subject_id = ?, doc = ? WHERE case_id = ?')
          .run(stored.version, stored.state, stored.subjectId, doc, stored.caseId);
      } else {
        this.db
          .prepare('INSERT INTO cases (case_id, version, kind, platform_id, subject_id, state, opened_at_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(stored.caseId, stored.version, stored.kind, stored.platformId, stored.subjectId, stored.state, stored.openedAtMs, doc);
      }
      this.db.prepare('DELETE FROM case_items WHERE case_id = ?').run(stored.caseId);
      const ins = this.db.prepare('INSERT OR REPLACE INTO case_items (platform_id, item_key, case_id) VALUES (?, ?, ?)');
      for (const it of stored.items) ins.run(stored.platformId, caseItemKey(it), stored.caseId);
    });
    tx();
    return structuredClone(stored);
  }

  async findOpenCase(kind: Case['kind'], platformId: string, subjectId: string): Promise<Case | undefined> {
    const marks = OPEN_STATES.map(() => '?').join(',');
    return parse<Case>(
      this.db
        .prepare(`SELECT doc FROM cases WHERE kind = ? AND platform_id = ? AND subject_id = ? AND state IN (${marks}) ORDER BY opened_at_ms DESC, case_id DESC LIMIT 1`)
        .get(kind, platformId, subjectId, ...OPEN_STATES) as { doc: string } | undefined,
    );
  }

  async findCaseByItem(platformId: string, itemKey: string): Promise<Case | undefined> {
    const row = this.db.prepare('SELECT case_id FROM case_items WHERE platform_id = ? AND item_key = ?').get(platformId, itemKey) as { case_id: string } | undefined;
    return row ? this.getCase(row.case_id) : undefined;
  }

  async listCases(query: CaseQuery = {}): Promise<Case[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.states) {
      where.push(`state IN (${query.states.map(() => '?').join(',') || "''"})`);
      args.push(...query.states);
    }
    if (query.openedBeforeMs !== undefined) {
      where.push('opened_at_ms < ?');
      args.push(query.openedBeforeMs);
    }
    const sql = `SELECT doc FROM cases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at_ms, case_id${query.limit !== undefined ? ' LIMIT ?' : ''}`;
    if (query.limit !== undefined) args.push(query.limit);
    return (this.db.prepare(sql).all(...args) as { doc: string }[]).map((r) => JSON.parse(r.doc) as Case);
  }

  async caseStats(): Promise<CaseStats> {
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n FROM cases GROUP BY state').all() as { state: CaseState; n: number }[];
    const oldest = this.db.prepare("SELECT MIN(opened_at_ms) AS t FROM cases WHERE state IN ('pending_review','claimed','escalated')").get() as { t: number | null };
    return { byState: Object.fromEntries(rows.map((r) => [r.state, r.n])), ...(oldest.t !== null ? { oldestAwaitingReviewOpenedAtMs: oldest.t } : {}) };
  }

  async addDecision(d: ReviewDecision): Promise<void> {
    this.writable();
    this.db.prepare('INSERT OR IGNORE INTO decisions (decision_id, case_id, at_ms, doc) VALUES (?, ?, ?, ?)').run(d.decisionId, d.caseId, d.atMs, JSON.stringify(d));
  }

  async listDecisions(caseId?: string): Promise<ReviewDecision[]> {
    const rows = (caseId === undefined
      ? this.db.prepare('SELECT doc FROM decisions ORDER BY at_ms, decision_id').all()
      : this.db.prepare('SELECT doc FROM decisions WHERE case_id = ? ORDER BY at_ms, decision_id').all(caseId)) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as ReviewDecision);
  }

  async addFeedback(f: FeedbackRecord): Promise<void> {
    this.writable();
    this.db.prepare('INSERT OR IGNORE INTO feedback (feedback_id, case_id, created_at_ms, doc) VALUES (?, ?, ?, ?)').run(f.feedbackId, f.caseId, f.createdAtMs, JSON.stringify(f));
  }

  async listFeedback(caseId?: string): Promise<FeedbackRecord[]> {
    const rows = (caseId === undefined
      ? this.db.prepare('SELECT doc FROM feedback ORDER BY created_at_ms, feedback_id').all()
      : this.db.prepare('SELECT doc FROM feedback WHERE case_id = ? ORDER BY created_at_ms, feedback_id').all(caseId)) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as FeedbackRecord);
  }

  async getComplaint(complaintId: string): Promise<Complaint | undefined> {
    return parse<Complaint>(this.db.prepare('SELECT doc FROM complaints WHERE complaint_id = ?').get(complaintId) as { doc: string } | undefined);
  }

  async saveComplaint(c: Complaint, expectedVersion: number): Promise<Complaint> {
    this.writable();
    const stored: Complaint = { ...c, version: expectedVersion + 1 };
    this.db.transaction(() => {
      const cur = this.db.prepare('SELECT version FROM complaints WHERE complaint_id = ?').get(c.complaintId) as { version: number } | undefined;
      if ((cur?.version ?? 0) !== expectedVersion || (!cur && expectedVersion !== 0)) {
        throw new ConflictError('version_conflict', `complaint ${c.complaintId} changed (expected version ${expectedVersion})`);
      }
      this.db
        .prepare('INSERT OR REPLACE INTO complaints (complaint_id, case_id, version, filed_at_ms, doc) VALUES (?, ?, ?, ?, ?)')
        .run(stored.complaintId, stored.caseId, stored.version, stored.filedAtMs, JSON.stringify(stored));
    })();
    return structuredClone(stored);
  }

  async listComplaints(caseId?: string): Promise<Complaint[]> {
    const rows = (caseId === undefined
      ? this.db.prepare('SELECT doc FROM complaints ORDER BY filed_at_ms, complaint_id').all()
      : this.db.prepare('SELECT doc FROM complaints WHERE case_id = ? ORDER BY filed_at_ms, complaint_id').all(caseId)) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as Complaint);
  }

  async enqueue(r: OutboxRecord): Promise<boolean> {
    this.writable();
    const stored = { ...r, version: 1 };
    const res = this.db
      .prepare('INSERT OR IGNORE INTO outbox (key, case_id, version, state, next_attempt_at_ms, created_at_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(stored.key, stored.caseId, 1, stored.state, stored.nextAttemptAtMs, stored.createdAtMs, JSON.stringify(stored));
    return res.changes === 1;
  }

  async getOutbox(key: string): Promise<OutboxRecord | undefined> {
    return parse<OutboxRecord>(this.db.prepare('SELECT doc FROM outbox WHERE key = ?').get(key) as { doc: string } | undefined);
  }

  async saveOutbox(r: OutboxRecord, expectedVersion: number): Promise<OutboxRecord> {
    this.writable();
    const stored = { ...r, version: expectedVersion + 1 };
    const res = this.db
      .prepare('UPDATE outbox SET version = ?, state = ?, next_attempt_at_ms = ?, doc = ? WHERE key = ? AND version = ?')
      .run(stored.version, stored.state, stored.nextAttemptAtMs, JSON.stringify(stored), stored.key, expectedVersion);
    if (res.changes !== 1) throw new ConflictError('version_conflict', `outbox ${r.key} changed (expected version ${expectedVersion})`);
    return structuredClone(stored);
  }

  async listDue(nowMs: number, limit = 100): Promise<OutboxRecord[]> {
    return (
      this.db
        .prepare("SELECT doc FROM outbox WHERE state IN ('pending','submitted','retracting') AND next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms, key LIMIT ?")
        .all(nowMs, limit) as { doc: string }[]
    ).map((row) => JSON.parse(row.doc) as OutboxRecord);
  }

  async listOutbox(caseId?: string): Promise<OutboxRecord[]> {
    const rows = (caseId === undefined
      ? this.db.prepare('SELECT doc FROM outbox ORDER BY created_at_ms, key').all()
      : this.db.prepare('SELECT doc FROM outbox WHERE case_id = ? ORDER BY created_at_ms, key').all(caseId)) as { doc: string }[];
    return rows.map((row) => JSON.parse(row.doc) as OutboxRecord);
  }

  async outboxStats(): Promise<OutboxStats> {
    const rows = this.db
      .prepare("SELECT json_extract(doc, '$.destination') AS destination, state, COUNT(*) AS n FROM outbox GROUP BY 1, 2 ORDER BY 1, 2")
      .all() as { destination: Destination; state: OutboxState; n: number }[];
    const amb = this.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE json_extract(doc, '$.ambiguousSubmits') > 0").get() as { n: number };
    return { byDestinationState: rows.map((r) => ({ destination: r.destination, state: r.state, count: r.n })), ambiguous: amb.n };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    if (this.lock?.open) this.lock.close();
  }
}
