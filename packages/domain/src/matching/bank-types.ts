import { InvalidInputError } from '../errors';
import { CRYPTO_HEX_LENGTHS } from './exact-hash-index';

/** Hash algorithm ids banks can hold: stable lowercase strings (storage keys, message fields, metric labels). */
export const HASH_ALGORITHMS = ['pdq', 'md5', 'sha1', 'sha256'] as const;

/** One of {@link HASH_ALGORITHMS}. */
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Hex digits per algorithm (PDQ: 256 bits = 64). */
export const HASH_HEX_LENGTHS: Readonly<Record<HashAlgorithm, number>> = { pdq: 64, ...CRYPTO_HEX_LENGTHS };

/** What a match against a bank means: block and report; send to human review; known benign (suppresses other matches). */
export const BANK_KINDS = ['block', 'review', 'allow'] as const;

/** One of {@link BANK_KINDS}. */
export type BankKind = (typeof BANK_KINDS)[number];

/** Default PDQ Hamming threshold of a bank, bits (inclusive): PDQ's published match threshold. */
export const DEFAULT_PDQ_THRESHOLD = 31;

/**
 * Bank-level settings, carried on every entry update (the compacted topic has no separate bank
 * record): the newest `updatedAtMs` wins.
 */
export interface BankMetadata {
  /** Bank name, unique in the deployment; no `/` (keys are `<bank>/<entryId>`). */
  readonly bank: string;
  /** What a match means. */
  readonly kind: BankKind;
  /** Who supplied the list: `eu_centre`, `ncmec`, `platform`, `survivor_takedown`, ... (stable lowercase id). */
  readonly source: string;
  /** PDQ Hamming distance threshold of this bank, bits, inclusive, integer 0..256. Default 31. */
  readonly pdqThreshold: number;
}

/**
 * Upsert of one bank entry: the value of the compacted topic `matching.indicator.updated.v1`,
 * key `<bank>/<entryId>` (see {@link bankEntryKey}).
 *
 * Mapping to the Avro record `IndicatorUpdated`: `bank` = `bank.name`, `kind` = `bank.kind`
 * (lowercased), `source` = `bank.source`, `listVersion` = `bank.listVersion`, `hashHex` =
 * `hashValue`, `disabled` = `status == DISABLED`, `quarantined` = `status == QUARANTINED`;
 * `pdqThreshold`, `entryId`, `algorithm`, `labels`, `updatedAtMs` are the same.
 */
export interface BankEntryUpsert extends BankMetadata {
  /** Discriminant: this is not a tombstone. */
  readonly deleted: false;
  /** The supplier's entry id (non-empty, no whitespace or control characters, ≤ 256 chars). */
  readonly entryId: string;
  /** Algorithm of `hashHex`. */
  readonly algorithm: HashAlgorithm;
  /** The hash, hex (normalised to lowercase). */
  readonly hashHex: string;
  /** Supplier labels (classification codes; never content descriptions). */
  readonly labels: readonly string[];
  /** Version of the list that last added or changed this entry (e.g. from {@link computeListVersion}). */
  readonly listVersion: string;
  /** Disabled by a person (e.g. after false positives): not matched until re-enabled. */
  readonly disabled: boolean;
  /** Quarantined after a match flood: matches are suppressed until a person clears it. Default false. */
  readonly quarantined?: boolean;
  /** When the change was made, epoch ms. Older updates than the entry's current state are ignored. */
  readonly updatedAtMs: number;
}

/** Deletion of one entry: a Kafka tombstone (null value) for key `<bank>/<entryId>`. */
export interface BankEntryDelete {
  /** Discriminant: a tombstone. */
  readonly deleted: true;
  /** Bank name. */
  readonly bank: string;
  /** The supplier's entry id. */
  readonly entryId: string;
  /** When known, the deletion time (epoch ms); a tombstone without one always applies. */
  readonly updatedAtMs?: number;
}

/**
 * A change to one bank entry, as carried by the compacted topic keyed `<bank>/<entryId>`.
 * Applied by {@link BankSet.apply}; produced by {@link diffBank} on import.
 */
export type BankEntryUpdate = BankEntryUpsert | BankEntryDelete;

/** The compacted-topic key of an entry: `<bank>/<entryId>` (bank names contain no `/`). */
export function bankEntryKey(bank: string, entryId: string): string {
  return `${bank}/${entryId}`;
}

/** Splits a key made by {@link bankEntryKey}. @throws InvalidInputError `entry_key_invalid`. */
export function parseBankEntryKey(key: string): { bank: string; entryId: string } {
  const i = key.indexOf('/');
  if (i <= 0 || i === key.length - 1) throw new InvalidInputError('entry_key_invalid', 'key must be <bank>/<entryId>');
  return { bank: key.slice(0, i), entryId: key.slice(i + 1) };
}

const BANK_NAME = /^[a-z0-9][a-z0-9_.-]{0,127}$/;
const SOURCE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
// Printable, no whitespace: entry ids appear in keys, reports and logs.
const ENTRY_ID = /^[\x21-\x7e\u00a0-\uffff]{1,256}$/;
const LABEL = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
/** Maximum labels per entry. */
export const MAX_LABELS = 32;

/** Reason a value is invalid, or null when valid. Codes are stable (used in import reports). */
export function checkBankName(name: string): string | null {
  return BANK_NAME.test(name) ? null : 'bank_name_invalid';
}
/** `source_invalid` unless a stable lowercase id. */
export function checkSource(source: string): string | null {
  return SOURCE.test(source) ? null : 'source_invalid';
}
/** `entry_id_invalid` unless 1..256 printable characters without whitespace. */
export function checkEntryId(entryId: string): string | null {
  return ENTRY_ID.test(entryId) ? null : 'entry_id_invalid';
}
/** `algorithm_invalid` unless one of {@link HASH_ALGORITHMS}. */
export function checkAlgorithm(algorithm: string): string | null {
  return (HASH_ALGORITHMS as readonly string[]).includes(algorithm) ? null : 'algorithm_invalid';
}
/** `hash_length_invalid` or `hash_charset_invalid` for a hex hash of `algorithm`. */
export function checkHashHex(algorithm: HashAlgorithm, hex: string): string | null {
  if (hex.length !== HASH_HEX_LENGTHS[algorithm]) return 'hash_length_invalid';
  return /^[0-9a-fA-F]+$/.test(hex) ? null : 'hash_charset_invalid';
}
/** `label_invalid` (each: lowercase `[a-z0-9][a-z0-9_.:-]{0,63}`), `label_duplicate`, `labels_too_many` (> 32). */
export function checkLabels(labels: readonly string[]): string | null {
  if (labels.length > MAX_LABELS) return 'labels_too_many';
  if (labels.some((l) => typeof l !== 'string' || !LABEL.test(l))) return 'label_invalid';
  return new Set(labels).size === labels.length ? null : 'label_duplicate';
}
/** `kind_invalid` unless one of {@link BANK_KINDS}. */
export function checkKind(kind: string): string | null {
  return (BANK_KINDS as readonly string[]).includes(kind) ? null : 'kind_invalid';
}
/** `threshold_invalid` unless an integer 0..256. */
export function checkThreshold(t: number): string | null {
  return Number.isInteger(t) && t >= 0 && t <= 256 ? null : 'threshold_invalid';
}

/**
 * Validates an update; returns it with `hashHex` lowercased.
 * @throws InvalidInputError with the first reason code found (`bank_name_invalid`, `entry_id_invalid`,
 *   `algorithm_invalid`, `hash_length_invalid`, `hash_charset_invalid`, `label_invalid`, `label_duplicate`,
 *   `labels_too_many`, `kind_invalid`, `source_invalid`, `threshold_invalid`, `updated_at_invalid`).
 */
export function validateBankEntryUpdate(u: BankEntryUpdate): BankEntryUpdate {
  const fail = (code: string | null): void => {
    if (code) throw new InvalidInputError(code, `bank entry update rejected: ${code}`);
  };
  fail(checkBankName(u.bank));
  fail(checkEntryId(u.entryId));
  if (u.deleted) return u;
  fail(checkAlgorithm(u.algorithm));
  fail(checkHashHex(u.algorithm, u.hashHex));
  fail(checkLabels(u.labels));
  fail(checkKind(u.kind));
  fail(checkSource(u.source));
  fail(checkThreshold(u.pdqThreshold));
  if (!Number.isFinite(u.updatedAtMs)) fail('updated_at_invalid');
  return { ...u, hashHex: u.hashHex.toLowerCase() };
}
