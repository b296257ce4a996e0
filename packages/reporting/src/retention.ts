import { z } from 'zod';
import type { Case } from './case';
import type { Complaint } from './complaints';
import { ReportingInputError } from './errors';
import type { OutboxRecord } from './store/types';

/** Art. 22 of the proposal: data kept at most 12 months. */
export const MAX_RETENTION_MONTHS = 12;

/** Retention configuration: months after a case was opened before its data is purged (1..12, default 12). */
export const retentionConfigSchema = z
  .object({
    months: z.number().int().min(1).max(MAX_RETENTION_MONTHS, { message: `retention above ${MAX_RETENTION_MONTHS} months is not allowed (Art. 22)` }).default(MAX_RETENTION_MONTHS),
  })
  .strict();
/** See {@link retentionConfigSchema}. */
export type RetentionConfig = z.infer<typeof retentionConfigSchema>;

/**
 * Validates a retention configuration; refuses anything above 12 months.
 * @throws ReportingInputError `retention_too_long` above 12 months, `invalid_config` otherwise
 */
export function parseRetentionConfig(value: unknown = {}): RetentionConfig {
  const r = retentionConfigSchema.safeParse(value);
  if (!r.success) {
    const tooLong = r.error.issues.some((i) => i.code === 'too_big');
    throw new ReportingInputError(tooLong ? 'retention_too_long' : 'invalid_config', `invalid retention config: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  return r.data;
}

/** `ms` moved by `months` calendar months in UTC (day clamped to the month's length). */
export function addMonthsUtc(ms: number, months: number): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const target = new Date(Date.UTC(y, m, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.getTime();
}

/** Instant at which a case opened at `openedAtMs` must be purged. */
export function purgeDueAtMs(openedAtMs: number, config: RetentionConfig): number {
  return addMonthsUtc(openedAtMs, config.months);
}

/** True when the case's data must be purged at `nowMs`. */
export function isPurgeDue(c: Case, nowMs: number, config: RetentionConfig): boolean {
  return c.state !== 'purged' && purgeDueAtMs(c.openedAtMs, config) <= nowMs;
}

/**
 * The case with its data removed: evidence items, subject id, claim. Kept: ids, states,
 * timestamps, category, policy rule ids and detector references (bank entries, algorithms),
 * which transparency reports and error rates need and which identify no one. Pure.
 */
export function purgeCase(c: Case, nowMs: number): Case {
  const { claim: _claim, ...rest } = c;
  return {
    ...rest,
    state: 'purged',
    subjectId: '',
    items: [],
    ...(c.policy ? { policy: { ...c.policy, items: c.policy.items.map((o) => ({ ...o, itemKey: '' })) } } : {}),
    purgedAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

/** An outbox record without its payload (report bodies name accounts and content). Pure. */
export function purgeOutboxRecord(r: OutboxRecord, nowMs: number): OutboxRecord {
  const { ncmec: _ncmec, eu: _eu, ...rest } = r;
  return {
    ...rest,
    ...(r.state === 'pending' || r.state === 'submitted' || r.state === 'retracting' ? { state: 'cancelled' as const } : {}),
    purgedAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

/** A complaint without the complainant's id. Pure. */
export function purgeComplaint(c: Complaint): Complaint {
  return { ...c, complainantRef: '' };
}
