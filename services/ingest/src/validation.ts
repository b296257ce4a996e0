import { InvalidInputError } from '@safeguard/domain';
import type { ChatMessage, ContentKind, ContentSubmitted, Participant, UploadContext } from '@safeguard/schemas';
import { z } from 'zod';
import type { IngestLimits } from './config';

/**
 * Reason codes of refused input. Stable: HTTP error bodies, dead-letter reasons and the
 * `reason` label of `safeguard_ingest_rejections_total`.
 */
export const RejectionCodes = {
  invalidRequest: 'invalid_request',
  idInvalid: 'id_invalid',
  mediaReferenceMissing: 'media_reference_missing',
  mediaReferenceAmbiguous: 'media_reference_ambiguous',
  mediaEmpty: 'media_empty',
  inlineTooLarge: 'inline_too_large',
  uriInvalid: 'uri_invalid',
  uriSchemeNotAllowed: 'uri_scheme_not_allowed',
  uriHasCredentials: 'uri_has_credentials',
  textEmpty: 'text_empty',
  textTooLong: 'text_too_long',
  timestampInvalid: 'timestamp_invalid',
} as const;

/** A field-level problem, by path. Never contains the offending value. */
export interface Issue {
  path: string;
  message: string;
}

/** Input refused: the HTTP gateway answers 4xx with `code`, the Kafka input dead-letters it. */
export class RejectedInputError extends InvalidInputError {
  constructor(
    code: string,
    message: string,
    /** Field-level details, when the request did not match the request schema. */
    readonly issues: Issue[] = [],
  ) {
    super(code, message);
  }
}

/** A content submission before validation, from either channel. */
export interface ContentDraft {
  /** The platform's own event id, kept if given (Kafka input); else generated. */
  eventId?: string | null;
  contentId: string;
  uploaderAccountId?: string | null;
  contentKind?: ContentKind;
  uri?: string | null;
  inlineBytes?: Buffer | null;
  mimeType?: string | null;
  sizeBytes?: number | null;
  uploadContext?: UploadContext | null;
}

/** A chat message before validation, from either channel. */
export interface MessageDraft {
  eventId?: string | null;
  conversationId: string;
  messageId: string;
  senderId: string;
  recipientIds?: string[];
  text: string;
  language?: string | null;
  participants?: Participant[];
  sentAtMs: number;
}

const ID_PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/;

function checkId(field: string, value: string | null | undefined, optional = false): void {
  if (value === null || value === undefined) {
    if (optional) return;
    throw new RejectedInputError(RejectionCodes.idInvalid, `${field} is required`, [{ path: field, message: 'required' }]);
  }
  if (!ID_PATTERN.test(value)) {
    throw new RejectedInputError(RejectionCodes.idInvalid, `${field} must be 1 to 256 characters without control characters`, [
      { path: field, message: 'invalid id' },
    ]);
  }
}

function checkUri(uri: string, limits: IngestLimits): void {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new RejectedInputError(RejectionCodes.uriInvalid, 'media.uri is not an absolute URI');
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (!limits.allowedUriSchemes.includes(scheme)) {
    throw new RejectedInputError(RejectionCodes.uriSchemeNotAllowed, `media.uri scheme must be one of ${limits.allowedUriSchemes.join(', ')}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new RejectedInputError(RejectionCodes.uriHasCredentials, 'media.uri must not carry user credentials');
  }
  if ((scheme === 'http' || scheme === 'https') && parsed.hostname === '') {
    throw new RejectedInputError(RejectionCodes.uriInvalid, 'media.uri has no host');
  }
}

/**
 * Checks a content submission and returns the event fields that do not depend on time or ids.
 * @throws RejectedInputError with one of {@link RejectionCodes}.
 */
export function validateContent(
  platformId: string,
  draft: ContentDraft,
  limits: IngestLimits,
): Omit<ContentSubmitted, 'eventId' | 'submittedAtMs' | 'channel'> {
  checkId('contentId', draft.contentId);
  checkId('uploaderAccountId', draft.uploaderAccountId, true);
  const hasUri = draft.uri !== null && draft.uri !== undefined && draft.uri !== '';
  const hasInline = draft.inlineBytes !== null && draft.inlineBytes !== undefined;
  if (!hasUri && !hasInline) throw new RejectedInputError(RejectionCodes.mediaReferenceMissing, 'media needs a uri or inline bytes');
  if (hasUri && hasInline) throw new RejectedInputError(RejectionCodes.mediaReferenceAmbiguous, 'media needs a uri or inline bytes, not both');
  if (hasInline) {
    const size = draft.inlineBytes!.length;
    if (size === 0) throw new RejectedInputError(RejectionCodes.mediaEmpty, 'inline media is empty');
    if (size > limits.inlineMaxBytes) {
      throw new RejectedInputError(RejectionCodes.inlineTooLarge, `inline media is ${size} bytes; the limit is ${limits.inlineMaxBytes}, send larger media by uri`);
    }
  } else {
    checkUri(draft.uri!, limits);
  }
  return {
    platformId,
    contentId: draft.contentId,
    uploaderAccountId: draft.uploaderAccountId ?? null,
    contentKind: draft.contentKind ?? 'UNKNOWN',
    media: {
      uri: hasUri ? draft.uri! : null,
      inlineBytes: hasInline ? draft.inlineBytes! : null,
      mimeType: draft.mimeType ?? null,
      sizeBytes: hasInline ? draft.inlineBytes!.length : (draft.sizeBytes ?? null),
    },
    uploadContext: draft.uploadContext ?? null,
  };
}

/**
 * Checks a chat message and returns the event fields that do not depend on time or ids.
 * @throws RejectedInputError with one of {@link RejectionCodes}.
 */
export function validateMessage(
  platformId: string,
  draft: MessageDraft,
  limits: IngestLimits,
): Omit<ChatMessage, 'eventId' | 'channel'> {
  checkId('conversationId', draft.conversationId);
  checkId('messageId', draft.messageId);
  checkId('senderId', draft.senderId);
  (draft.recipientIds ?? []).forEach((r, i) => checkId(`recipientIds.${i}`, r));
  (draft.participants ?? []).forEach((p, i) => checkId(`participants.${i}.accountId`, p.accountId));
  if (draft.text.length === 0) throw new RejectedInputError(RejectionCodes.textEmpty, 'text is empty');
  if (draft.text.length > limits.textMaxChars) {
    throw new RejectedInputError(RejectionCodes.textTooLong, `text is longer than ${limits.textMaxChars} characters`);
  }
  if (!Number.isSafeInteger(draft.sentAtMs) || draft.sentAtMs <= 0) {
    throw new RejectedInputError(RejectionCodes.timestampInvalid, 'sentAtMs must be a positive integer (epoch ms)');
  }
  return {
    platformId,
    conversationId: draft.conversationId,
    messageId: draft.messageId,
    senderId: draft.senderId,
    recipientIds: draft.recipientIds ?? [],
    text: draft.text,
    language: draft.language ?? null,
    participants: draft.participants ?? [],
    sentAtMs: draft.sentAtMs,
  };
}

// ---- HTTP request bodies ----------------------------------------------------------------------

const epochMs = z.number().int().positive();

/** Body of `POST /v1/content`. */
export const contentRequestSchema = z.strictObject({
  contentId: z.string(),
  uploaderAccountId: z.string().nullish(),
  contentKind: z.enum(['UNKNOWN', 'IMAGE', 'VIDEO']).optional(),
  media: z.strictObject({
    uri: z.string().nullish(),
    /** Inline bytes, base64. */
    inlineBase64: z.string().nullish(),
    mimeType: z.string().max(255).nullish(),
    sizeBytes: z.number().int().nonnegative().nullish(),
  }),
  uploadContext: z
    .strictObject({
      uploadedAtMs: epochMs.nullish(),
      ipAddress: z.union([z.ipv4(), z.ipv6()]).nullish(),
      countryCode: z.string().regex(/^[A-Z]{2}$/).nullish(),
      publiclyAvailable: z.boolean().nullish(),
    })
    .nullish(),
});

/** Body of `POST /v1/messages`. */
export const messageRequestSchema = z.strictObject({
  conversationId: z.string(),
  messageId: z.string(),
  senderId: z.string(),
  recipientIds: z.array(z.string()).max(1000).optional(),
  text: z.string(),
  language: z.string().max(35).nullish(),
  participants: z
    .array(
      z.strictObject({
        accountId: z.string(),
        declaredAge: z.number().int().min(0).max(130).nullish(),
        ageBand: z.enum(['UNKNOWN', 'CHILD', 'TEEN', 'ADULT']).optional(),
        accountCreatedAtMs: epochMs.nullish(),
      }),
    )
    .max(1000)
    .optional(),
  sentAtMs: epochMs,
});

function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a `POST /v1/content` body into a draft. @throws RejectedInputError `invalid_request`. */
export function parseContentRequest(body: unknown): ContentDraft {
  const parsed = contentRequestSchema.safeParse(body);
  if (!parsed.success) throw new RejectedInputError(RejectionCodes.invalidRequest, 'the request body does not match the content schema', issuesOf(parsed.error));
  const { media, ...rest } = parsed.data;
  let inlineBytes: Buffer | null = null;
  if (media.inlineBase64 !== null && media.inlineBase64 !== undefined) {
    const compact = media.inlineBase64.replace(/\s+/g, '');
    if (!BASE64.test(compact) || compact.length % 4 !== 0) {
      throw new RejectedInputError(RejectionCodes.invalidRequest, 'media.inlineBase64 is not valid base64', [{ path: 'media.inlineBase64', message: 'invalid base64' }]);
    }
    inlineBytes = Buffer.from(compact, 'base64');
  }
  return {
    ...rest,
    uri: media.uri,
    inlineBytes,
    mimeType: media.mimeType,
    sizeBytes: media.sizeBytes,
    uploadContext: rest.uploadContext
      ? {
          uploadedAtMs: rest.uploadContext.uploadedAtMs ?? null,
          ipAddress: rest.uploadContext.ipAddress ?? null,
          countryCode: rest.uploadContext.countryCode ?? null,
          publiclyAvailable: rest.uploadContext.publiclyAvailable ?? null,
        }
      : null,
  };
}

/** Parses a `POST /v1/messages` body into a draft. @throws RejectedInputError `invalid_request`. */
export function parseMessageRequest(body: unknown): MessageDraft {
  const parsed = messageRequestSchema.safeParse(body);
  if (!parsed.success) throw new RejectedInputError(RejectionCodes.invalidRequest, 'the request body does not match the message schema', issuesOf(parsed.error));
  return {
    ...parsed.data,
    participants: parsed.data.participants?.map((p) => ({
      accountId: p.accountId,
      declaredAge: p.declaredAge ?? null,
      ageBand: p.ageBand ?? 'UNKNOWN',
      accountCreatedAtMs: p.accountCreatedAtMs ?? null,
    })),
  };
}
