import { z } from 'zod';
import { detectorsOf, type Case } from '../case';
import { ReportingInputError } from '../errors';
import { bankRefSchema, groomingAlertEventSchema, uploadContextSchema } from '../events';
import { industryClassificationSchema } from '../policy';
import { providerProfileSchema, reportEnrichmentSchema, type ProviderProfile, type ReportEnrichment } from './profile';

const ms = z.number().int().nonnegative();

const matchRecordSchema = z.object({
  matchId: z.string().min(1),
  algorithm: z.string().regex(/^[a-z0-9_]{2,32}$/),
  distance: z.number().int().nonnegative(),
  queryHash: z.string().regex(/^[0-9a-f]+$/i),
  quality: z.number().int().min(0).max(100),
  bank: bankRefSchema,
  matchedAtMs: ms,
});

const itemSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('match'),
    contentId: z.string().min(1),
    mediaUri: z.string().min(1).optional(),
    firstSeenAtMs: ms,
    matches: z.array(matchRecordSchema).min(1),
    duplicateCount: z.number().int().nonnegative().default(0),
    upload: uploadContextSchema.optional(),
  }),
  z.object({ type: z.literal('grooming'), alert: groomingAlertEventSchema, duplicateCount: z.number().int().nonnegative().default(0) }),
]);

/**
 * The case part of a case file: the fields a report needs. Missing bookkeeping fields
 * (version, detectors, window) are filled in by {@link parseCaseFile}.
 */
export const caseFileCaseSchema = z.object({
  caseId: z.string().min(1),
  kind: z.enum(['match', 'grooming']),
  platformId: z.string().min(1),
  subjectId: z.string().min(1),
  openedAtMs: ms,
  state: z.enum(['pending_review', 'claimed', 'confirmed', 'false_positive', 'escalated', 'reported', 'dropped', 'purged']).default('confirmed'),
  items: z.array(itemSchema).min(1),
  urgent: z.boolean().default(false),
  category: z.enum(['known_material', 'new_material', 'solicitation']).optional(),
  industryClassification: industryClassificationSchema.optional(),
  decidedAtMs: ms.optional(),
  removal: z.object({ removed: z.boolean(), atMs: ms.optional() }).optional(),
  destinations: z.array(z.enum(['eu_centre', 'ncmec'])).optional(),
});

/**
 * A case file as `safeguard report render` reads it: `{ provider, case, enrichment? }`.
 * See `examples/case.json`.
 */
export const caseFileSchema = z
  .object({
    $comment: z.string().optional(),
    provider: providerProfileSchema,
    case: caseFileCaseSchema,
    enrichment: reportEnrichmentSchema.optional(),
  })
  .strict();

/** A parsed case file. */
export interface CaseFile {
  provider: ProviderProfile;
  case: Case;
  enrichment?: ReportEnrichment;
  /** Destinations named by the file (informational). */
  destinations?: Array<'eu_centre' | 'ncmec'>;
}

/**
 * Validates a case file and completes the case's bookkeeping fields.
 * @throws ReportingInputError `invalid_case` listing every violation with its JSON path
 */
export function parseCaseFile(value: unknown): CaseFile {
  const r = caseFileSchema.safeParse(value);
  if (!r.success) {
    throw new ReportingInputError('invalid_case', `invalid case file: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const c = r.data.case;
  const { destinations, ...rest } = c;
  const full: Case = {
    ...rest,
    version: 0,
    updatedAtMs: c.openedAtMs,
    windowEndsAtMs: c.openedAtMs,
    detectors: detectorsOf(c.items),
    items: c.items,
  };
  return {
    provider: r.data.provider,
    case: full,
    ...(r.data.enrichment ? { enrichment: r.data.enrichment } : {}),
    ...(destinations ? { destinations } : {}),
  };
}
