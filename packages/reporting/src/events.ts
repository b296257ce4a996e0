import { isIP } from 'node:net';
import { z } from 'zod';
import { ReportingInputError } from './errors';

/**
 * Input events of the reporting library. They mirror what the matcher's and the grooming
 * service's Avro records carry (the lead's schemas are the source of truth; these plain types
 * are what the reporter service maps them to). Only hashes and opaque ids: never content or
 * message text.
 */

/** Kind of indicator list: `block` = verified material, `review` = needs a human, `allow` = known benign. */
export const bankKindSchema = z.enum(['block', 'review', 'allow']);
/** See {@link bankKindSchema}. */
export type BankKind = z.infer<typeof bankKindSchema>;

const id = z.string().min(1).max(256);
const hex = z.string().regex(/^[0-9a-f]+$/i, 'expected a hex string').max(512);
const ms = z.number().int().nonnegative();

/** Provenance of the indicator a match hit. */
export const bankRefSchema = z.object({
  /** Bank (list) name, e.g. `ncmec-hashes`. */
  name: id,
  /** Bank kind. */
  kind: bankKindSchema,
  /** Who supplied the list, e.g. `eu_centre`, `ncmec`, `platform`. Stable lowercase id. */
  source: id,
  /** Entry id inside the list (needed for feedback and per-entry disable). */
  entryId: id,
  /** Version of the list the entry came from. */
  listVersion: id,
  /** True when the list holds material verified by an authority (e.g. EU Centre indicators). */
  verified: z.boolean().optional(),
});
/** See {@link bankRefSchema}. */
export type BankRef = z.infer<typeof bankRefSchema>;

/**
 * Where and when the platform says the content was uploaded (MatchFound `uploadContext`): the
 * source of Art. 13(f) geographic information and of NCMEC's upload IP event, upload time and
 * public availability. Personal data: it is never logged, never a metric label, never written to
 * an audit record, and retention removes it with the case's items.
 */
export const uploadContextSchema = z
  .object({
    /** When the uploader uploaded the content, epoch ms. */
    uploadedAtMs: ms.optional(),
    /** IP address of the upload (IPv4 or IPv6 text form). */
    ipAddress: z
      .string()
      .max(64)
      .refine((v) => isIP(v) !== 0, 'expected an IPv4 or IPv6 address')
      .optional(),
    /** ISO 3166-1 alpha-2 country of the uploader, upper case. */
    countryCode: z
      .string()
      .regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 code')
      .optional(),
    /** Whether the content was publicly visible on the platform. */
    publiclyAvailable: z.boolean().optional(),
  })
  .strict();
/** See {@link uploadContextSchema}. */
export type UploadContext = z.infer<typeof uploadContextSchema>;

/** One hash match (`matcher` output). */
export const matchEventSchema = z.object({
  matchId: id,
  contentId: id,
  platformId: id,
  /** Opaque account id of the uploader, as the platform knows it. */
  uploaderAccountId: id,
  /** Stable algorithm id: `pdq`, `md5`, `sha1`, `sha256`, `vpdq`. */
  algorithm: z.string().regex(/^[a-z0-9_]{2,32}$/),
  /** Hamming distance for perceptual hashes; 0 for cryptographic ones. */
  distance: z.number().int().nonnegative(),
  /** The content's own hash (hex) that matched. */
  queryHash: hex,
  /** PDQ quality 0–100; 100 for cryptographic hashes. */
  quality: z.number().int().min(0).max(100),
  bank: bankRefSchema,
  matchedAtMs: ms,
  /** Where the platform keeps the bytes (never fetched by this library unless a MediaSource is wired). */
  mediaUri: z.string().min(1).max(2048).optional(),
  /**
   * The matched entry's own hash (hex), when the matcher sent it (MatchFound v2 `entryHash`);
   * differs from `queryHash` for perceptual near matches. Carried into feedback so the list
   * supplier can find the entry.
   */
  entryHash: hex.optional(),
  /** Upload facts of the content (personal data; see {@link uploadContextSchema}). */
  upload: uploadContextSchema.optional(),
});
/** See {@link matchEventSchema}. */
export type MatchEvent = z.infer<typeof matchEventSchema>;

/** Grooming stage ids (stage model of the grooming service). */
export const groomingStageSchema = z.enum([
  'friendship_forming',
  'relationship_forming',
  'risk_assessment',
  'exclusivity',
  'escalation',
  'meeting',
]);
/** See {@link groomingStageSchema}. */
export type GroomingStage = z.infer<typeof groomingStageSchema>;

/** Explainable evidence: which signal, in which messages (ids only). */
export const groomingSignalSchema = z.object({
  /** Signal kind, e.g. `age_probing`, `secrecy_request`, `platform_move`, `meeting_request`. */
  kind: z.string().regex(/^[a-z0-9_]{2,48}$/),
  messageIds: z.array(id).max(1000),
});
/** See {@link groomingSignalSchema}. */
export type GroomingSignal = z.infer<typeof groomingSignalSchema>;

/** One grooming alert (`grooming` output). */
export const groomingAlertEventSchema = z.object({
  alertId: id,
  conversationId: id,
  platformId: id,
  /** Opaque ids of every participant. */
  participantIds: z.array(id).min(2).max(100),
  /** The participant the detector believes is an adult soliciting a child. */
  suspectedAdultId: id,
  /** Risk score 0..1. */
  score: z.number().min(0).max(1),
  stage: groomingStageSchema,
  signals: z.array(groomingSignalSchema).max(100),
  raisedAtMs: ms,
});
/** See {@link groomingAlertEventSchema}. */
export type GroomingAlertEvent = z.infer<typeof groomingAlertEventSchema>;

/** Either input event, tagged. */
export type ReportingEvent = { type: 'match'; event: MatchEvent } | { type: 'grooming'; event: GroomingAlertEvent };

function describe(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Validates an unknown value as a {@link MatchEvent}.
 * @throws ReportingInputError `invalid_event` listing every violation.
 */
export function parseMatchEvent(value: unknown): MatchEvent {
  const r = matchEventSchema.safeParse(value);
  if (!r.success) throw new ReportingInputError('invalid_event', `invalid match event: ${describe(r.error)}`);
  return r.data;
}

/**
 * Validates an unknown value as a {@link GroomingAlertEvent}; the suspected adult must be a participant.
 * @throws ReportingInputError `invalid_event` listing every violation.
 */
export function parseGroomingAlertEvent(value: unknown): GroomingAlertEvent {
  const r = groomingAlertEventSchema.safeParse(value);
  if (!r.success) throw new ReportingInputError('invalid_event', `invalid grooming alert: ${describe(r.error)}`);
  if (!r.data.participantIds.includes(r.data.suspectedAdultId)) {
    throw new ReportingInputError('invalid_event', 'invalid grooming alert: suspectedAdultId is not a participant');
  }
  return r.data;
}
