import { InvalidInputError } from '@safeguard/domain';
import { parseBankEntryKey, type BankEntryUpdate, type BankEntryUpsert, type BankKind as DomainBankKind } from '@safeguard/domain/matching';
import type { BankKind, IndicatorStatus, IndicatorUpdated } from '@safeguard/schemas';

/*
 * The compacted topic's records (IndicatorUpdated, key `<bank>/<entryId>`, tombstone = delete)
 * ↔ the matching library's BankEntryUpdate. Only ids, hashes and codes cross here.
 */

const KIND_IN: Record<BankKind, DomainBankKind> = { BLOCK: 'block', REVIEW: 'review', ALLOW: 'allow' };
const KIND_OUT: Record<DomainBankKind, BankKind> = { block: 'BLOCK', review: 'REVIEW', allow: 'ALLOW' };

/** The schema's bank kind of a library bank kind. */
export function schemaBankKind(kind: DomainBankKind): BankKind {
  return KIND_OUT[kind];
}

/** The library's bank kind of a schema bank kind. */
export function libraryBankKind(kind: BankKind): DomainBankKind {
  return KIND_IN[kind];
}

/**
 * The library update a record of the indicator topic stands for.
 * @throws InvalidInputError `entry_key_missing` (no key), `entry_key_invalid` (not `<bank>/<entryId>`),
 *   `entry_key_mismatch` (the key names another entry than the value).
 */
export function bankEntryUpdateOf(key: string | null, value: IndicatorUpdated | null): BankEntryUpdate {
  if (key === null) throw new InvalidInputError('entry_key_missing', 'indicator records must be keyed <bank>/<entryId>');
  if (value === null) {
    // A tombstone carries no time: the topic's order per key is the truth, so it always applies.
    const { bank, entryId } = parseBankEntryKey(key);
    return { deleted: true, bank, entryId };
  }
  if (key !== `${value.bank.name}/${value.entryId}`) {
    throw new InvalidInputError('entry_key_mismatch', 'the record key does not name the entry in its value');
  }
  return {
    deleted: false,
    bank: value.bank.name,
    kind: libraryBankKind(value.bank.kind),
    source: value.bank.source,
    pdqThreshold: value.pdqThreshold,
    entryId: value.entryId,
    algorithm: value.algorithm as BankEntryUpsert['algorithm'],
    hashHex: value.hashValue,
    labels: value.labels,
    listVersion: value.bank.listVersion,
    disabled: value.status === 'DISABLED',
    quarantined: value.status === 'QUARANTINED',
    updatedAtMs: value.updatedAtMs,
  };
}

/** The status a library upsert is published with (a disabled entry is DISABLED even if it was also quarantined). */
export function statusOf(u: BankEntryUpsert): IndicatorStatus {
  if (u.disabled) return 'DISABLED';
  if (u.quarantined) return 'QUARANTINED';
  return 'ACTIVE';
}

/**
 * The record that publishes a library upsert to the indicator topic (key `<bank>/<entryId>`).
 * @param reason - stable reason code of the change, e.g. `flood_quarantine`, `false_positive`.
 * @param updatedBy - opaque id of the service or person that made it.
 */
export function indicatorUpdatedOf(u: BankEntryUpsert, reason: string | null, updatedBy: string | null): IndicatorUpdated {
  return {
    bank: { name: u.bank, kind: schemaBankKind(u.kind), source: u.source, listVersion: u.listVersion },
    pdqThreshold: u.pdqThreshold,
    entryId: u.entryId,
    algorithm: u.algorithm,
    hashValue: u.hashHex,
    labels: [...u.labels],
    status: statusOf(u),
    reason,
    updatedBy,
    updatedAtMs: u.updatedAtMs,
  };
}
