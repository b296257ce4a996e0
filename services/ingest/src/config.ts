import { createHash } from 'node:crypto';
import { z } from 'zod';
import { booleanSchema, commonEnvShape, portSchema, positiveIntSchema, requireKafkaSettings, toCommonConfig, type CommonConfig } from '@safeguard/service-runtime';

/** Minimum length of an API key: 128 bits of entropy as 24+ base64/hex characters. */
export const MIN_API_KEY_LENGTH = 24;

/** Settings of the ingest service. */
export interface IngestConfig {
  common: CommonConfig;
  /** Port of the platform-facing HTTP gateway. */
  httpPort: number;
  /** API keys: sha256(key) hex → platform id. Keys themselves are not kept. */
  apiKeys: Map<string, string>;
  limits: IngestLimits;
  /** How long a content id (or message id) is remembered for de-duplication, ms. */
  dedupWindowMs: number;
  /** Upper bound of remembered ids per replica (oldest evicted first). */
  dedupMaxEntries: number;
  /** Consume platform.content.uploaded.v1 and platform.message.sent.v1. */
  kafkaInput: boolean;
}

/** Validation limits, shared by both channels. */
export interface IngestLimits {
  /** Largest inline media accepted, bytes. */
  inlineMaxBytes: number;
  /** Longest chat message text accepted, UTF-16 code units. */
  textMaxChars: number;
  /** URI schemes accepted for media references. */
  allowedUriSchemes: string[];
}

function parseApiKeys(value: string, ctx: z.RefinementCtx): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [i, pair] of value.split(',').map((p) => p.trim()).filter(Boolean).entries()) {
    const sep = pair.indexOf(':');
    const platform = sep > 0 ? pair.slice(0, sep) : '';
    const key = sep > 0 ? pair.slice(sep + 1) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(platform) || key.length < MIN_API_KEY_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: expected <platformId>:<key> with a key of at least ${MIN_API_KEY_LENGTH} characters` });
      continue;
    }
    keys.set(hashApiKey(key), platform);
  }
  if (keys.size === 0) ctx.addIssue({ code: 'custom', message: 'at least one <platformId>:<key> entry is required' });
  return keys;
}

/** The sha256 hex of an API key, the form in which keys are held and compared. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Environment variables of the ingest service (see the README section "ingest"). */
export const ingestConfigSchema = z
  .object({
    ...commonEnvShape,
    /** Port of the HTTP gateway. Default 8080. */
    INGEST_HTTP_PORT: portSchema.default(8080),
    /** Comma-separated `<platformId>:<key>` pairs. Required; no default. */
    INGEST_API_KEYS: z.string({ error: 'required: comma-separated <platformId>:<key> pairs' }),
    /**
     * Largest inline media, bytes. Default 524288 (512 KiB): small enough that the event stays
     * well under Kafka's default 1 MiB message limit; larger media go by URI.
     */
    INGEST_INLINE_MAX_BYTES: positiveIntSchema.max(900 * 1024).default(512 * 1024),
    /** Longest chat message, characters. Default 8000. */
    INGEST_TEXT_MAX_CHARS: positiveIntSchema.default(8000),
    /** Media URI schemes accepted. Default https,http,file (the hasher applies SSRF rules). */
    INGEST_URI_SCHEMES: z.string().default('https,http,file'),
    /** De-duplication window, ms. Default 86400000 (24 h): platform retries within a day are absorbed. */
    INGEST_DEDUP_WINDOW_MS: positiveIntSchema.default(86_400_000),
    /** Ids remembered per replica. Default 1000000 (about 100 MB at worst): older ids are forgotten first. */
    INGEST_DEDUP_MAX_ENTRIES: positiveIntSchema.default(1_000_000),
    /** Also consume the platform Kafka input topics. Default true. */
    INGEST_KAFKA_INPUT: booleanSchema.default(true),
  })
  .superRefine(requireKafkaSettings)
  .transform((env, ctx): IngestConfig => ({
    common: toCommonConfig(env),
    httpPort: env.INGEST_HTTP_PORT,
    apiKeys: parseApiKeys(env.INGEST_API_KEYS, ctx),
    limits: {
      inlineMaxBytes: env.INGEST_INLINE_MAX_BYTES,
      textMaxChars: env.INGEST_TEXT_MAX_CHARS,
      allowedUriSchemes: env.INGEST_URI_SCHEMES.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
    },
    dedupWindowMs: env.INGEST_DEDUP_WINDOW_MS,
    dedupMaxEntries: env.INGEST_DEDUP_MAX_ENTRIES,
    kafkaInput: env.INGEST_KAFKA_INPUT,
  }));
