import type { KeyObject } from 'node:crypto';
import { canonicalJson, sha256Hex } from './canonical';
import { ConflictError, ReportingInputError } from './errors';
import { signEd25519, verifyEd25519 } from './keys';

/** Every kind of decision the audit log records. Closed set. */
export type AuditEventType =
  | 'match_received'
  | 'alert_received'
  | 'case_opened'
  | 'policy_outcome'
  | 'case_claimed'
  | 'claim_released'
  | 'review_decision'
  | 'feedback_recorded'
  | 'entry_disabled'
  | 'allow_list_proposed'
  | 'report_queued'
  | 'report_sent'
  | 'report_failed'
  | 'report_retracted'
  | 'data_purged'
  | 'complaint_filed'
  | 'complaint_decided'
  | 'decision_reversed'
  | 'notification_hold'
  /** An NCMEC step whose outcome is unknown (the process stopped mid-call); see `ambiguousSubmits`. */
  | 'delivery_ambiguous'
  /** One call of the reporter's review API by an authenticated person: route and status only. */
  | 'api_request'
  /** A confirmed case without a recorded decision went back to the review queue (see `repairUnqueuedReports`). */
  | 'case_requeued';

/** A JSON value allowed in audit data. */
export type AuditValue = string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue };

/** Who caused an audited event. */
export interface AuditActor {
  /** `platform`: a platform's system calling the reporter (e.g. forwarding a complaint). */
  kind: 'system' | 'reviewer' | 'admin' | 'user' | 'platform';
  id: string;
}

/** What a caller gives to {@link AuditLog.record}: the chain fields are added by the log. */
export interface AuditEntry {
  atMs: number;
  type: AuditEventType;
  actor: AuditActor;
  caseId?: string;
  /**
   * Small, non-personal facts (rule ids, states, codes, counts, bank names). Never content,
   * message text or account ids: the chain cannot be purged, case data can.
   */
  data: { [key: string]: AuditValue };
}

/**
 * One record of the append-only, hash-chained audit log. `hash` is the SHA-256 of the RFC 8785
 * canonical form of the record without `hash`; `prevHash` is the previous record's `hash`
 * ({@link GENESIS_HASH} for `seq` 0). Changing, dropping, inserting or reordering any record
 * breaks a link that {@link verifyAuditChain} reports.
 */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

/** `prevHash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** Position of the newest record. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** Hash of a record (over its canonical form without the `hash` member). */
export function auditRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return sha256Hex(canonicalJson(rest));
}

/** Builds the next record after `head` (or the genesis record when `head` is undefined). Pure. */
export function chainRecord(entry: AuditEntry, head: AuditHead | undefined): AuditRecord {
  const body = {
    seq: head ? head.seq + 1 : 0,
    prevHash: head ? head.hash : GENESIS_HASH,
    atMs: entry.atMs,
    type: entry.type,
    actor: { kind: entry.actor.kind, id: entry.actor.id },
    ...(entry.caseId !== undefined ? { caseId: entry.caseId } : {}),
    data: structuredClone(entry.data),
  };
  return { ...body, hash: auditRecordHash(body) };
}

/**
 * Where audit records go. Why an interface: the service appends to a Kafka topic, tests and the
 * CLI use memory or a file, the durable store keeps a copy for transparency reports. One writer
 * per chain (the service keeps one chain per partition or a single writer).
 */
export interface AuditSink {
  /** Appends one record; must keep order. */
  append(record: AuditRecord): Promise<void>;
  /** The newest record's position, or undefined for an empty chain. */
  head(): Promise<AuditHead | undefined>;
  /** Records with `seq >= fromSeq`, in order. */
  list(fromSeq?: number): Promise<AuditRecord[]>;
}

/** In-memory {@link AuditSink}. */
export class MemoryAuditSink implements AuditSink {
  private readonly records: AuditRecord[] = [];
  /** @throws ConflictError `version_conflict` when `record.seq` is not the next sequence number */
  async append(record: AuditRecord): Promise<void> {
    const last = this.records[this.records.length - 1];
    if (record.seq !== (last ? last.seq + 1 : 0)) throw new ConflictError('version_conflict', `audit seq ${record.seq} is not next`);
    this.records.push(structuredClone(record));
  }
  async head(): Promise<AuditHead | undefined> {
    const last = this.records[this.records.length - 1];
    return last ? { seq: last.seq, hash: last.hash } : undefined;
  }
  async list(fromSeq = 0): Promise<AuditRecord[]> {
    return this.records.filter((r) => r.seq >= fromSeq).map((r) => structuredClone(r));
  }
}

/** Appends audit entries to a sink, chaining them. Serialises concurrent `record` calls. */
export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();
  constructor(private readonly sink: AuditSink) {}

  /**
   * Chains and appends one entry; resolves to the stored record. If another writer appended
   * first (`version_conflict` from the sink), re-reads the head and chains again (up to 10 times).
   */
  record(entry: AuditEntry): Promise<AuditRecord> {
    const next = this.tail.then(async () => {
      for (let attempt = 0; ; attempt++) {
        const rec = chainRecord(entry, await this.sink.head());
        try {
          await this.sink.append(rec);
          return rec;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= 9) throw err;
        }
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** The sink's head. */
  head(): Promise<AuditHead | undefined> {
    return this.sink.head();
  }

  /** The sink's records with `seq >= fromSeq`, in order (waits for appends under way). */
  async list(fromSeq = 0): Promise<AuditRecord[]> {
    await this.tail;
    return this.sink.list(fromSeq);
  }
}

/** Why a chain failed verification. */
export type AuditChainFailure =
  | 'malformed_record'
  | 'hash_mismatch'
  | 'prev_hash_mismatch'
  | 'sequence_gap'
  | 'bad_genesis'
  | 'head_mismatch'
  | 'head_signature_invalid'
  /** An audit event of another chain, or whose record id does not match its position (topic form). */
  | 'chain_mismatch';

/** Result of {@link verifyAuditChain}. */
export type AuditVerification =
  | { ok: true; count: number; head?: AuditHead }
  | { ok: false; count: number; index: number; seq?: number; reason: AuditChainFailure; message: string };

/** Options of {@link verifyAuditChain}. */
export interface VerifyAuditOptions {
  /**
   * The chain's trusted head (e.g. from {@link verifySignedAuditHead}). Without it, dropping or
   * re-hashing the newest record cannot be detected; with it every single-record change is.
   */
  expectedHead?: AuditHead;
  /** Verify a segment that continues after this trusted record instead of from genesis. */
  after?: AuditHead;
}

function isRecord(r: unknown): r is AuditRecord {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as Record<string, unknown>;
  return (
    Number.isSafeInteger(x.seq) &&
    (x.seq as number) >= 0 &&
    typeof x.prevHash === 'string' &&
    typeof x.hash === 'string' &&
    typeof x.type === 'string' &&
    typeof x.atMs === 'number' &&
    typeof x.actor === 'object' &&
    x.actor !== null &&
    typeof x.data === 'object' &&
    x.data !== null
  );
}

/**
 * Verifies a chain of audit records in order and says where it breaks: index in `records`,
 * the record's `seq`, and a reason. Checks, per record: shape, its own hash, the link to the
 * previous record's hash, consecutive `seq` (so drops, inserts and swaps show), genesis, and
 * finally the expected head when given. Pure.
 */
export function verifyAuditChain(records: readonly unknown[], options: VerifyAuditOptions = {}): AuditVerification {
  let prev: AuditHead | undefined = options.after;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const fail = (reason: AuditChainFailure, message: string, seq?: number): AuditVerification => ({
      ok: false,
      count: records.length,
      index: i,
      ...(seq !== undefined ? { seq } : {}),
      reason,
      message,
    });
    if (!isRecord(r)) return fail('malformed_record', `record ${i} is not an audit record`);
    let computed: string;
    try {
      computed = auditRecordHash(r);
    } catch {
      return fail('malformed_record', `record ${i} cannot be canonicalised`, r.seq);
    }
    if (computed !== r.hash) return fail('hash_mismatch', `record ${i} (seq ${r.seq}) was altered: its hash does not match its content`, r.seq);
    if (prev === undefined) {
      if (r.seq !== 0 || r.prevHash !== GENESIS_HASH) return fail('bad_genesis', `record ${i} (seq ${r.seq}) is not the genesis record`, r.seq);
    } else {
      if (r.seq !== prev.seq + 1) {
        return fail('sequence_gap', `record ${i} has seq ${r.seq}, expected ${prev.seq + 1} (record dropped, inserted or reordered)`, r.seq);
      }
      if (r.prevHash !== prev.hash) return fail('prev_hash_mismatch', `record ${i} (seq ${r.seq}) does not link to the previous record`, r.seq);
    }
    prev = { seq: r.seq, hash: r.hash };
  }
  if (options.expectedHead) {
    const h = options.expectedHead;
    if (!prev || prev.seq !== h.seq || prev.hash !== h.hash) {
      return {
        ok: false,
        count: records.length,
        index: records.length,
        reason: 'head_mismatch',
        message: `chain ends at ${prev ? `seq ${prev.seq}` : 'nothing'}, expected head seq ${h.seq} (records dropped or altered at the end)`,
      };
    }
  }
  return { ok: true, count: records.length, ...(prev ? { head: prev } : {}) };
}

/** A chain head signed with the provider's Ed25519 key. */
export interface SignedAuditHead extends AuditHead {
  signedAtMs: number;
  keyId: string;
  alg: 'Ed25519';
  /** base64url Ed25519 signature over the canonical JSON of the other members. */
  signature: string;
}

/** Signs a chain head (e.g. periodically, or at the end of a transparency period). */
export function signAuditHead(head: AuditHead, key: { privateKey: KeyObject; keyId: string }, nowMs: number): SignedAuditHead {
  const body = { seq: head.seq, hash: head.hash, signedAtMs: nowMs, keyId: key.keyId, alg: 'Ed25519' as const };
  return { ...body, signature: signEd25519(canonicalJson(body), key.privateKey) };
}

/**
 * Verifies a signed head and returns the trusted {@link AuditHead}.
 * @throws ReportingInputError `signature_invalid`
 */
export function verifySignedAuditHead(signed: SignedAuditHead, publicKey: KeyObject): AuditHead {
  const { signature, ...body } = signed;
  if (body.alg !== 'Ed25519' || !verifyEd25519(canonicalJson(body), signature, publicKey)) {
    throw new ReportingInputError('signature_invalid', 'audit head signature does not verify');
  }
  return { seq: signed.seq, hash: signed.hash };
}

/**
 * Parses JSON lines of audit records (blank lines ignored), keeping each record's 1-based line
 * number so a verification failure can name the line.
 * @throws ReportingInputError `audit_chain_broken` naming the line of the first non-JSON line.
 */
export function parseAuditJsonLines(text: string): { records: unknown[]; lineNumbers: number[] } {
  const records: unknown[] = [];
  const lineNumbers: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      records.push(JSON.parse(line));
      lineNumbers.push(i + 1);
    } catch (err) {
      throw new ReportingInputError('audit_chain_broken', `line ${i + 1}: not valid JSON`, { cause: err });
    }
  }
  return { records, lineNumbers };
}
