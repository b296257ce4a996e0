import { z } from 'zod';
import { booleanSchema, commonEnvShape, parseApiKeyList, parsePlatformKeyEntry, portSchema, positiveIntSchema, requireKafkaSettings, toCommonConfig, type CommonConfig } from '@safeguard/service-runtime';

const MIB = 1024 * 1024;

/** Flood quarantine settings (see `FloodDetectorOptions` in `@safeguard/domain/matching`). */
export interface FloodConfig {
  /** Quarantine flooding entries at all. */
  enabled: boolean;
  /** Sliding window, ms. */
  windowMs: number;
  /** Matches in the window below which an entry never floods. */
  minCount: number;
  /** Flood when the window count exceeds this multiple of the entry's baseline. */
  ratio: number;
  /** Observation time before any entry can flood (baselines are learned first), ms. */
  warmupMs: number;
}

/** Settings of the synchronous check API (`POST /v1/check`). */
export interface CheckApiConfig {
  /** Serve the API at all. */
  enabled: boolean;
  /** HTTP port (0 = any free port). */
  httpPort: number;
  /** API keys: sha256(key) hex → platform id. Keys themselves are not kept. */
  apiKeys: Map<string, string>;
  /** Largest request body (image bytes) accepted. */
  maxBytes: number;
  /** Largest decoded image, width × height. */
  maxPixels: number;
  /** Decode budget per image, ms. */
  decodeTimeoutMs: number;
  /** PDQ pipeline: `exact` (reference bit-identical) or `fast`. */
  mode: 'exact' | 'fast';
  /** Also match the 7 non-identity dihedral PDQ variants. */
  dihedral: boolean;
  /** Hashing worker threads; undefined = the CPU limit. */
  threads: number | undefined;
  /** Requests admitted beyond one per thread (waiting for a worker); undefined = 2 × threads. */
  maxQueue: number | undefined;
}

/** Settings of the matcher service. */
export interface MatcherConfig {
  common: CommonConfig;
  /** PDQ query hashes with a lower quality are not matched. */
  minPdqQuality: number;
  flood: FloodConfig;
  /** Partitions of the content-hashed and feedback topics handled in parallel. */
  concurrency: number;
  /** How often the index lag (records behind the indicator topic's end) is measured, ms. */
  indexLagRefreshMs: number;
  check: CheckApiConfig;
}

/** Environment variables of the matcher service (see the README section "matcher"). */
export const matcherConfigSchema = z
  .object({
    ...commonEnvShape,
    /** PDQ quality below which a query hash is not matched. Default 50 (PDQ's guidance: discard ≤ 49). */
    MATCHER_MIN_PDQ_QUALITY: z.coerce.number().int().min(0).max(100).default(50),
    /**
     * Partitions handled in parallel. Default 6 (the input topics' partition count): matching
     * takes well under a millisecond, so parallelism only overlaps the wait for the broker's
     * acknowledgement of each MatchFound.
     */
    MATCHER_CONCURRENCY: positiveIntSchema.default(6),
    /** Quarantine entries that suddenly match far above their baseline. Default true. */
    MATCHER_FLOOD_QUARANTINE: booleanSchema.default(true),
    /** Flood window, ms. Default 600000 (10 min): smooths bursts, still reacts within minutes. */
    MATCHER_FLOOD_WINDOW_MS: positiveIntSchema.default(600_000),
    /** Matches per window below which an entry never floods. Default 50: a reviewer can look at 50 items. */
    MATCHER_FLOOD_MIN_COUNT: positiveIntSchema.default(50),
    /** Flood ratio over the entry's baseline. Default 20: a sudden 20× rise, not a slow trend. */
    MATCHER_FLOOD_RATIO: z.coerce.number().positive().default(20),
    /**
     * Observation time after start before any entry can flood, ms. Default 3600000 (1 h): rates
     * live in memory, so a restarted replica first re-learns popular entries instead of
     * quarantining them. Lower means faster reaction after restarts and more false quarantines.
     */
    MATCHER_FLOOD_WARMUP_MS: z.coerce.number().int().min(0).default(3_600_000),
    /** How often the index lag behind the indicator topic is measured, ms. Default 15000 (one admin request per refresh). */
    MATCHER_INDEX_LAG_REFRESH_MS: positiveIntSchema.default(15_000),
    /** Serve `POST /v1/check`. Default true. */
    MATCHER_CHECK_API: booleanSchema.default(true),
    /** Port of the check API. Default 8080. */
    MATCHER_HTTP_PORT: portSchema.default(8080),
    /** Comma-separated `<platformId>:<key>` pairs; required while the check API is on. No default. */
    MATCHER_API_KEYS: z.string().optional(),
    /**
     * Largest image accepted by the check API, bytes. Default 16777216 (16 MiB): uploads are
     * held in memory while queued, so memory grows with this times the admitted requests.
     */
    MATCHER_CHECK_MAX_BYTES: positiveIntSchema.max(256 * MIB).default(16 * MIB),
    /** Largest decoded image, width × height. Default 100000000 (a decode needs up to 300 MB per worker). */
    MATCHER_CHECK_MAX_PIXELS: positiveIntSchema.default(100_000_000),
    /** Decode budget per image, ms. Default 5000: a request waiting longer is worse than a refusal. */
    MATCHER_CHECK_DECODE_TIMEOUT_MS: positiveIntSchema.default(5_000),
    /** `exact` (default; bit-identical to Meta's reference) or `fast` (reduced-scale JPEG/WebP decode, a few bits off). */
    MATCHER_CHECK_MODE: z.enum(['exact', 'fast']).default('exact'),
    /** Also match the rotated and flipped PDQ variants. Default false: 8× the lookups for a rare evasion. */
    MATCHER_CHECK_DIHEDRAL: booleanSchema.default(false),
    /**
     * Hashing worker threads. Default: the CPU limit (cgroup quota, else the cores). Decoding and
     * PDQ are CPU-bound; more threads than cores only add memory and context switches.
     */
    MATCHER_CHECK_THREADS: positiveIntSchema.optional(),
    /**
     * Requests admitted beyond one per thread. Default 2 × threads: enough to keep workers busy
     * between requests; beyond it requests get 503 with Retry-After instead of queueing
     * (a queued request holds its image in memory and only gets slower).
     */
    MATCHER_CHECK_MAX_QUEUE: z.coerce.number().int().min(0).optional(),
  })
  .superRefine(requireKafkaSettings)
  .transform(
    (env, ctx): MatcherConfig => ({
      common: toCommonConfig(env),
      minPdqQuality: env.MATCHER_MIN_PDQ_QUALITY,
      concurrency: env.MATCHER_CONCURRENCY,
      flood: {
        enabled: env.MATCHER_FLOOD_QUARANTINE,
        windowMs: env.MATCHER_FLOOD_WINDOW_MS,
        minCount: env.MATCHER_FLOOD_MIN_COUNT,
        ratio: env.MATCHER_FLOOD_RATIO,
        warmupMs: env.MATCHER_FLOOD_WARMUP_MS,
      },
      indexLagRefreshMs: env.MATCHER_INDEX_LAG_REFRESH_MS,
      check: {
        enabled: env.MATCHER_CHECK_API,
        httpPort: env.MATCHER_HTTP_PORT,
        apiKeys: parseApiKeyList(
          env.MATCHER_API_KEYS,
          {
            parseEntry: parsePlatformKeyEntry,
            path: 'MATCHER_API_KEYS',
            ...(env.MATCHER_CHECK_API ? { requiredMessage: 'required while MATCHER_CHECK_API is on: comma-separated <platformId>:<key> pairs' } : {}),
          },
          ctx,
        ),
        maxBytes: env.MATCHER_CHECK_MAX_BYTES,
        maxPixels: env.MATCHER_CHECK_MAX_PIXELS,
        decodeTimeoutMs: env.MATCHER_CHECK_DECODE_TIMEOUT_MS,
        mode: env.MATCHER_CHECK_MODE,
        dihedral: env.MATCHER_CHECK_DIHEDRAL,
        threads: env.MATCHER_CHECK_THREADS,
        maxQueue: env.MATCHER_CHECK_MAX_QUEUE,
      },
    }),
  );
