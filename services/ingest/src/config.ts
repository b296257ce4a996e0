import { z } from 'zod';
import { booleanSchema, commonEnvShape, parseApiKeyList, parsePlatformKeyEntry, portSchema, positiveIntSchema, requireKafkaSettings, toCommonConfig, type CommonConfig } from '@safeguard/service-runtime';

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
    apiKeys: parseApiKeyList(env.INGEST_API_KEYS, { parseEntry: parsePlatformKeyEntry, requiredMessage: 'at least one <platformId>:<key> entry is required' }, ctx),
    limits: {
      inlineMaxBytes: env.INGEST_INLINE_MAX_BYTES,
      textMaxChars: env.INGEST_TEXT_MAX_CHARS,
      allowedUriSchemes: env.INGEST_URI_SCHEMES.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
    },
    dedupWindowMs: env.INGEST_DEDUP_WINDOW_MS,
    dedupMaxEntries: env.INGEST_DEDUP_MAX_ENTRIES,
    kafkaInput: env.INGEST_KAFKA_INPUT,
  }));
