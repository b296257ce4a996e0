import { canonicalJson } from './canonical';
import { verifyAuditChain, type AuditActor, type AuditRecord, type AuditValue, type AuditVerification, type VerifyAuditOptions } from './audit';

/**
 * An audit record in the shape of the `AuditRecord` Avro event (`audit.decision.recorded.v1`).
 * Declared here structurally so this library needs no schema or Kafka package; the reporter
 * service and the CLI pass the decoded Avro value straight in.
 */
export interface AuditEventRecord {
  chainId: string;
  sequence: number;
  recordId: string;
  kind: string;
  subjectId: string;
  actor: string;
  detailsJson: string;
  recordedAtMs: number;
  previousHash: string;
  hash: string;
}

const ACTOR_KINDS: readonly AuditActor['kind'][] = ['system', 'reviewer', 'admin', 'user', 'platform'];

/**
 * The record id of sequence `seq` in chain `chainId`: `<chainId>/<seq>`. Derived, not random, so
 * a verifier can check it (it is not covered by the record's hash).
 */
export function auditRecordId(chainId: string, seq: number): string {
  return `${chainId}/${seq}`;
}

/**
 * The event form of a chained audit record. Lossless: {@link fromAuditEventRecord} gives the
 * record back exactly, so its hash can be recomputed from the event alone. `actor` is
 * `<kind>:<id>`, `subjectId` the case id (empty when there is none), `detailsJson` the RFC 8785
 * canonical JSON of `data`.
 */
export function toAuditEventRecord(record: AuditRecord, chainId: string): AuditEventRecord {
  return {
    chainId,
    sequence: record.seq,
    recordId: auditRecordId(chainId, record.seq),
    kind: record.type,
    subjectId: record.caseId ?? '',
    actor: `${record.actor.kind}:${record.actor.id}`,
    detailsJson: canonicalJson(record.data),
    recordedAtMs: record.atMs,
    previousHash: record.prevHash,
    hash: record.hash,
  };
}

/** Why an event could not be turned back into a record. */
export class AuditEventFormatError extends Error {}

/**
 * The chained audit record an event carries (inverse of {@link toAuditEventRecord}).
 * @throws AuditEventFormatError when `actor` or `detailsJson` is malformed
 */
export function fromAuditEventRecord(event: AuditEventRecord): AuditRecord {
  const sep = event.actor.indexOf(':');
  const kind = event.actor.slice(0, sep) as AuditActor['kind'];
  if (sep <= 0 || !ACTOR_KINDS.includes(kind)) throw new AuditEventFormatError(`actor "${event.actor.slice(0, 40)}" is not <kind>:<id>`);
  let data: unknown;
  try {
    data = JSON.parse(event.detailsJson);
  } catch {
    throw new AuditEventFormatError('detailsJson is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new AuditEventFormatError('detailsJson is not a JSON object');
  return {
    seq: event.sequence,
    prevHash: event.previousHash,
    atMs: event.recordedAtMs,
    type: event.kind as AuditRecord['type'],
    actor: { kind, id: event.actor.slice(sep + 1) },
    ...(event.subjectId !== '' ? { caseId: event.subjectId } : {}),
    data: data as { [key: string]: AuditValue },
    hash: event.hash,
  };
}

function isEventShape(e: unknown): e is AuditEventRecord {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x.chainId === 'string' &&
    typeof x.sequence === 'number' &&
    typeof x.recordId === 'string' &&
    typeof x.kind === 'string' &&
    typeof x.subjectId === 'string' &&
    typeof x.actor === 'string' &&
    typeof x.detailsJson === 'string' &&
    typeof x.recordedAtMs === 'number' &&
    typeof x.previousHash === 'string' &&
    typeof x.hash === 'string'
  );
}

/** Options of {@link verifyAuditEventRecords}. */
export interface VerifyAuditEventsOptions extends VerifyAuditOptions {
  /** The chain the events must belong to; default the first event's `chainId`. */
  chainId?: string;
}

/**
 * Verifies audit events as read from the audit topic, in topic order: every event belongs to
 * one chain, carries its derived record id, converts back to a record, and the records form an
 * intact chain ({@link verifyAuditChain}: own hash, link, consecutive sequence, genesis, and the
 * expected head when given). So every field of an event is either hashed or checked: any
 * altered, dropped, inserted or reordered event fails, with its index. Pure.
 */
export function verifyAuditEventRecords(events: readonly unknown[], options: VerifyAuditEventsOptions = {}): AuditVerification {
  const records: AuditRecord[] = [];
  const chainId = options.chainId ?? (isEventShape(events[0]) ? events[0].chainId : undefined);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const fail = (reason: 'malformed_record' | 'chain_mismatch', message: string, seq?: number): AuditVerification => ({
      ok: false,
      count: events.length,
      index: i,
      ...(seq !== undefined ? { seq } : {}),
      reason,
      message,
    });
    if (!isEventShape(e)) return fail('malformed_record', `event ${i} is not an audit event`);
    if (e.chainId !== chainId) return fail('chain_mismatch', `event ${i} (seq ${e.sequence}) belongs to another chain`, e.sequence);
    if (e.recordId !== auditRecordId(e.chainId, e.sequence)) return fail('chain_mismatch', `event ${i} (seq ${e.sequence}) has a record id that does not match its position`, e.sequence);
    try {
      records.push(fromAuditEventRecord(e));
    } catch (err) {
      return fail('malformed_record', `event ${i} (seq ${e.sequence}): ${(err as Error).message}`, e.sequence);
    }
  }
  return verifyAuditChain(records, options);
}
