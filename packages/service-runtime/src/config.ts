import { z } from 'zod';

/** Log levels pino accepts. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A TCP port from an environment variable (0 = any free port). */
export const portSchema = z.coerce.number().int().min(0).max(65535);

/** A positive integer from an environment variable. */
export const positiveIntSchema = z.coerce.number().int().positive();

/** A boolean from an environment variable: true/false/1/0/yes/no. */
export const booleanSchema = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list from an environment variable; empty items dropped. */
export const csvSchema = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);

/**
 * Environment variables every service reads. Defaults only for tunables, never for endpoints or
 * credentials: with the kafka transport, KAFKA_BROKERS and SCHEMA_REGISTRY_URL are required.
 */
export const commonEnvShape = {
  /** `kafka` (default) or `in-process` (embedded demo and tests only). */
  SAFEGUARD_TRANSPORT: z.enum(['kafka', 'in-process']).default('kafka'),
  /** Bootstrap brokers, comma-separated host:port. */
  KAFKA_BROKERS: csvSchema.optional(),
  /** Confluent-compatible schema registry base URL (Apicurio: .../apis/ccompat/v7). */
  SCHEMA_REGISTRY_URL: z.url().optional(),
  /** Port of /metrics, /healthz and /readyz. Default 9464 (the Prometheus exporter convention). */
  METRICS_PORT: portSchema.default(9464),
  /** Minimum log level. Default info. */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Upper bound of the orderly shutdown, ms. Default 25000: below Kubernetes' 30 s grace period. */
  SHUTDOWN_TIMEOUT_MS: positiveIntSchema.default(25_000),
  /**
   * Consumer group session timeout, ms: how long the broker waits for a member that stopped
   * heartbeating (a killed or frozen process) before it hands that member's partitions to the
   * others, or to its own restarted process. Default 30000 (kafkajs's): a replica killed without
   * leaving the group stalls its partitions up to this long. Lower hands them over sooner but
   * turns a longer stall (a GC pause, a starved CPU) into a needless rebalance; the broker bounds
   * it (`group.min.session.timeout.ms`, 6000 by default; `group.max.session.timeout.ms`).
   * Heartbeats go every third of it, at most every 3 s. A graceful stop leaves at once anyway.
   */
  KAFKA_SESSION_TIMEOUT_MS: positiveIntSchema.min(1000).default(30_000),
  /**
   * Prefix added to every topic name (and consumer group), e.g. `staging.` to share a cluster
   * between environments, or a random one per integration test. Default empty.
   */
  SAFEGUARD_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'only letters, digits, dot, underscore and hyphen')
    .default(''),
};

/** The settings {@link commonEnvShape} yields, in the form the runtime takes. */
export interface CommonConfig {
  transport: 'kafka' | 'in-process';
  kafkaBrokers: string[];
  schemaRegistryUrl: string | undefined;
  metricsPort: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownTimeoutMs: number;
  topicPrefix: string;
  /** Consumer group session timeout, ms (`KAFKA_SESSION_TIMEOUT_MS`). */
  kafkaSessionTimeoutMs: number;
}

/** The parsed common environment. */
export const commonEnvSchema = z.object(commonEnvShape);
type CommonEnv = z.infer<typeof commonEnvSchema>;

/** Turns parsed common variables into a {@link CommonConfig}. */
export function toCommonConfig(env: CommonEnv): CommonConfig {
  return {
    transport: env.SAFEGUARD_TRANSPORT,
    kafkaBrokers: env.KAFKA_BROKERS ?? [],
    schemaRegistryUrl: env.SCHEMA_REGISTRY_URL,
    metricsPort: env.METRICS_PORT,
    logLevel: env.LOG_LEVEL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    topicPrefix: env.SAFEGUARD_TOPIC_PREFIX,
    kafkaSessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
  };
}

/**
 * The group-membership settings of a consumer for a session timeout (ms): the timeout itself and
 * a heartbeat every third of it, at most every 3000 ms (kafkajs's default interval). Spread into
 * the transport's consumer options.
 */
export function consumerSessionOptions(sessionTimeoutMs: number): { sessionTimeoutMs: number; heartbeatIntervalMs: number } {
  return { sessionTimeoutMs, heartbeatIntervalMs: Math.max(1, Math.min(3_000, Math.floor(sessionTimeoutMs / 3))) };
}

/** zod refinement: the kafka transport needs brokers and a registry URL. Use with `superRefine`. */
export function requireKafkaSettings(env: Partial<CommonEnv>, ctx: z.RefinementCtx): void {
  if ((env.SAFEGUARD_TRANSPORT ?? 'kafka') !== 'kafka') return;
  if (!env.KAFKA_BROKERS || env.KAFKA_BROKERS.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'required with the kafka transport (comma-separated host:port)' });
  }
  if (!env.SCHEMA_REGISTRY_URL) {
    ctx.addIssue({ code: 'custom', path: ['SCHEMA_REGISTRY_URL'], message: 'required with the kafka transport' });
  }
}

/** The outcome of {@link parseConfig}: the config, or every violation as `VARIABLE: message`. */
export type ParseResult<T> = { ok: true; config: T } | { ok: false; errors: string[] };

/**
 * Parses a service's configuration once at start. Returns every violation (not only the first)
 * so an operator fixes them in one go; `main.ts` prints them and exits 1.
 */
export function parseConfig<T>(schema: z.ZodType<T>, env: Record<string, string | undefined>): ParseResult<T> {
  const result = schema.safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(config)'}: ${i.message}`),
  };
}
