import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { booleanSchema, commonEnvShape, csvSchema, positiveIntSchema, requireKafkaSettings, toCommonConfig, type CommonConfig } from '@safeguard/service-runtime';
import { parseCidr } from './fetch/ip-policy';

const MIB = 1024 * 1024;

/** Settings of the hasher service. */
export interface HasherConfig {
  common: CommonConfig;
  pool: {
    /** Worker threads; undefined = the CPU limit of the container (cgroup quota) or the host. */
    threads: number | undefined;
    /** Admitted media beyond one per thread; undefined = concurrency − threads (at least threads). */
    maxQueue: number | undefined;
  };
  /** Partitions handled in parallel by the consumer; undefined = max(2 × threads, input partitions). */
  concurrency: number | undefined;
  fetch: {
    /** Accepted URI schemes (file, http, https). */
    schemes: Array<'file' | 'http' | 'https'>;
    /** Directories file:// URIs may point into (real paths enforced). Empty: file:// refused. */
    fileRoots: string[];
    /** CIDR blocks admitted although refused by default (internal storage; tests). */
    allowCidrs: string[];
    connectTimeoutMs: number;
    responseTimeoutMs: number;
    totalTimeoutMs: number;
    maxRedirects: number;
  };
  hashing: {
    /** Largest still image, bytes (fetch cap and decoder limit). */
    maxBytes: number;
    /** Largest decoded image, width × height. */
    maxPixels: number;
    decodeTimeoutMs: number;
    mode: 'exact' | 'fast';
    /** Publish the 7 non-identity dihedral PDQ variants too. */
    dihedral: boolean;
    /** Largest video, bytes (fetch cap and library limit). */
    videoMaxBytes: number;
    videoFramesPerSecond: number;
    videoTimeoutMs: number;
  };
}

const SCHEMES = ['file', 'http', 'https'] as const;

/** Environment variables of the hasher service (see the README section "hasher"). */
export const hasherConfigSchema = z
  .object({
    ...commonEnvShape,
    /**
     * Hashing worker threads. Default: the CPU limit (cgroup quota, else available cores). One
     * thread per core: each runs one libvips thread, and more threads than cores only adds
     * memory (each decode may hold up to 300 MB) and context switches.
     */
    HASHER_POOL_SIZE: positiveIntSchema.optional(),
    /**
     * Media admitted beyond one per worker (being fetched or waiting for a worker). Default:
     * HASHER_CONCURRENCY − pool size (at least the pool size), so every message the consumer
     * hands over is admitted. Each admitted medium is held in memory (up to HASHER_MAX_BYTES, or
     * HASHER_VIDEO_MAX_BYTES for a video): memory grows with this bound; beyond it, messages are
     * refused with capacity errors, their partition pauses and they are re-delivered.
     */
    HASHER_POOL_MAX_QUEUE: z.coerce.number().int().min(0).optional(),
    /**
     * Partitions consumed in parallel (messages of one partition stay in order). Default: the
     * larger of twice the pool size and the input topic's partition count: a partition's next
     * message waits for the previous one's fetch and publication, so workers stay busy only when
     * other partitions fill those gaps. More than pool size + queue bound only bounces off the
     * capacity check.
     */
    HASHER_CONCURRENCY: positiveIntSchema.optional(),
    /** Accepted media URI schemes. Default https,http,file. */
    HASHER_URI_SCHEMES: csvSchema.default(['https', 'http', 'file']),
    /** Absolute directories file:// URIs may point into, comma-separated. Default none (file:// refused). */
    HASHER_FILE_ROOTS: csvSchema.default([]),
    /**
     * CIDR blocks (or addresses) that may be fetched from although private/loopback/link-local…,
     * comma-separated, e.g. 10.20.0.0/16 for storage on an internal network. Default none.
     * Metadata endpoints (169.254.169.254, fd00:ec2::254…) need an entry naming exactly them.
     */
    HASHER_FETCH_ALLOW_CIDRS: csvSchema.default([]),
    /** TCP connect budget (DNS included), ms. Default 5000: storage answers in milliseconds or not at all. */
    HASHER_FETCH_CONNECT_TIMEOUT_MS: positiveIntSchema.default(5_000),
    /** Budget until response headers, and for any pause in the body, ms. Default 10000. */
    HASHER_FETCH_RESPONSE_TIMEOUT_MS: positiveIntSchema.default(10_000),
    /**
     * Budget for a whole fetch, ms. Default 60000: 64 MiB at ~10 Mbit/s; a slower download holds
     * a pool slot too long and is retried later instead.
     */
    HASHER_FETCH_TOTAL_TIMEOUT_MS: positiveIntSchema.default(60_000),
    /** Redirects followed, each re-checked. Default 3 (storage signs and redirects once or twice). */
    HASHER_FETCH_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(3),
    /** Largest still image, bytes. Default 67108864 (64 MiB), the library's default. */
    HASHER_MAX_BYTES: positiveIntSchema.default(64 * MIB),
    /** Largest image, width × height. Default 100000000 (a decode then needs up to 300 MB per worker). */
    HASHER_MAX_PIXELS: positiveIntSchema.default(100_000_000),
    /** Decode budget per image, ms. Default 10000: photographs decode in well under a second. */
    HASHER_DECODE_TIMEOUT_MS: positiveIntSchema.default(10_000),
    /** `exact` (default; bit-identical to Meta's reference) or `fast` (reduced-scale JPEG/WebP decode, a few bits off). */
    HASHER_MODE: z.enum(['exact', 'fast']).default('exact'),
    /** Also publish the dihedral PDQ variants (rotations, flips). Default false: 8× the PDQ entries for a rare evasion. */
    HASHER_DIHEDRAL: booleanSchema.default(false),
    /**
     * Largest video, bytes. Default 268435456 (256 MiB): the whole file is held in memory and
     * written to a temporary file for ffmpeg, so this bounds memory per admitted medium.
     */
    HASHER_VIDEO_MAX_BYTES: positiveIntSchema.default(256 * MIB),
    /** Video frames sampled per second. Default 1 (vPDQ's usual rate). */
    HASHER_VIDEO_FPS: z.coerce.number().positive().max(60).default(1),
    /** Wall-clock budget per video, ms. Default 300000: a worker is blocked meanwhile. */
    HASHER_VIDEO_TIMEOUT_MS: positiveIntSchema.default(300_000),
  })
  .superRefine(requireKafkaSettings)
  .superRefine((env, ctx) => {
    for (const s of env.HASHER_URI_SCHEMES) {
      if (!(SCHEMES as readonly string[]).includes(s.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['HASHER_URI_SCHEMES'], message: `unknown scheme ${s} (file, http, https)` });
      }
    }
    for (const root of env.HASHER_FILE_ROOTS) {
      if (!isAbsolute(root)) ctx.addIssue({ code: 'custom', path: ['HASHER_FILE_ROOTS'], message: `not an absolute path: ${root}` });
    }
    for (const cidr of env.HASHER_FETCH_ALLOW_CIDRS) {
      try {
        parseCidr(cidr);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['HASHER_FETCH_ALLOW_CIDRS'], message: `not a CIDR block or address: ${cidr}` });
      }
    }
  })
  .transform(
    (env): HasherConfig => ({
      common: toCommonConfig(env),
      pool: { threads: env.HASHER_POOL_SIZE, maxQueue: env.HASHER_POOL_MAX_QUEUE },
      concurrency: env.HASHER_CONCURRENCY,
      fetch: {
        schemes: [...new Set(env.HASHER_URI_SCHEMES.map((s) => s.toLowerCase() as (typeof SCHEMES)[number]))],
        fileRoots: env.HASHER_FILE_ROOTS,
        allowCidrs: env.HASHER_FETCH_ALLOW_CIDRS,
        connectTimeoutMs: env.HASHER_FETCH_CONNECT_TIMEOUT_MS,
        responseTimeoutMs: env.HASHER_FETCH_RESPONSE_TIMEOUT_MS,
        totalTimeoutMs: env.HASHER_FETCH_TOTAL_TIMEOUT_MS,
        maxRedirects: env.HASHER_FETCH_MAX_REDIRECTS,
      },
      hashing: {
        maxBytes: env.HASHER_MAX_BYTES,
        maxPixels: env.HASHER_MAX_PIXELS,
        decodeTimeoutMs: env.HASHER_DECODE_TIMEOUT_MS,
        mode: env.HASHER_MODE,
        dihedral: env.HASHER_DIHEDRAL,
        videoMaxBytes: env.HASHER_VIDEO_MAX_BYTES,
        videoFramesPerSecond: env.HASHER_VIDEO_FPS,
        videoTimeoutMs: env.HASHER_VIDEO_TIMEOUT_MS,
      },
    }),
  );
