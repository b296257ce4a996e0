import { z } from 'zod';
import { ReportingInputError } from '../errors';

const email = z.string().regex(/^[A-Za-z0-9_]+([-+.'][A-Za-z0-9_]+)*@[A-Za-z0-9_]+([-.][A-Za-z0-9_]+)*\.[A-Za-z0-9_]+([-.][A-Za-z0-9_]+)*$/, 'invalid email');

/** A contact person as NCMEC's `person` type carries it (all optional except where noted). */
export const contactPersonSchema = z
  .object({
    firstName: z.string().min(1).max(200).optional(),
    lastName: z.string().min(1).max(200).optional(),
    phone: z.string().min(1).max(50).optional(),
    email: email.optional(),
  })
  .strict();
/** See {@link contactPersonSchema}. */
export type ContactPerson = z.infer<typeof contactPersonSchema>;

/**
 * The reporting provider (Art. 13(a)) and its NCMEC reporter details. Configuration, not data
 * about users.
 */
export const providerProfileSchema = z
  .object({
    /** Legal name of the provider. */
    name: z.string().min(1).max(300),
    /** Registry identifier (e.g. EUID or LEI), if any. */
    legalEntityId: z.string().min(1).max(100).optional(),
    /** ISO 3166-1 alpha-2 country of main establishment. */
    country: z.string().regex(/^[A-Z]{2}$/),
    contactEmail: email,
    /** Legal representative in the Union (Art. 24), when established outside it. */
    legalRepresentative: z.string().min(1).max(300).optional(),
    /** Name of the service concerned (e.g. the app or site). */
    service: z.string().min(1).max(300),
    ncmec: z
      .object({
        reportingPerson: contactPersonSchema.extend({ email }),
        contactPerson: contactPersonSchema.optional(),
        /** Text NCMEC attaches to every report (legal process, retention, emergency contact). */
        companyTemplate: z.string().min(1).max(3000).optional(),
        legalUrl: z.string().url().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
/** See {@link providerProfileSchema}. */
export type ProviderProfile = z.infer<typeof providerProfileSchema>;

/** NCMEC `ipCaptureEvent` event names. */
export const ipEventNameSchema = z.enum(['Login', 'Registration', 'Purchase', 'Upload', 'Other', 'Unknown']);

/**
 * Data the platform adds at report time (Art. 13(d), (f), (i)): IP events, countries, file
 * facts, removal. Supplied by the platform's own systems; optional throughout.
 */
export const reportEnrichmentSchema = z
  .object({
    ipEvents: z
      .array(
        z
          .object({
            accountId: z.string().min(1),
            ipAddress: z.string().min(2).max(64),
            eventName: ipEventNameSchema,
            atMs: z.number().int().nonnegative(),
            possibleProxy: z.boolean().optional(),
            port: z.number().int().min(0).max(65535).optional(),
          })
          .strict(),
      )
      .max(1000)
      .optional(),
    /** ISO 3166-1 alpha-2 countries associated with the users involved (geolocation). */
    countryCodes: z.array(z.string().regex(/^[A-Z]{2}$/)).max(50).optional(),
    files: z
      .record(
        z.string(),
        z
          .object({
            fileName: z.string().min(1).max(255).optional(),
            uploadedAtMs: z.number().int().nonnegative().optional(),
            publiclyAvailable: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    removal: z.object({ removed: z.boolean(), atMs: z.number().int().nonnegative().optional() }).strict().optional(),
    /** Free text, about the incident in general (never content or message text). */
    note: z.string().min(1).max(3000).optional(),
  })
  .strict();
/** See {@link reportEnrichmentSchema}. */
export type ReportEnrichment = z.infer<typeof reportEnrichmentSchema>;

/**
 * Validates a provider profile.
 * @throws ReportingInputError `invalid_config`
 */
export function parseProviderProfile(value: unknown): ProviderProfile {
  const r = providerProfileSchema.safeParse(value);
  if (!r.success) {
    throw new ReportingInputError('invalid_config', `invalid provider profile: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
