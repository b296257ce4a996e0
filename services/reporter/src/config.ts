import { z } from 'zod';
import { API_KEY_OWNER_ID_PATTERN, csvSchema, commonEnvShape, hashApiKey, MIN_API_KEY_LENGTH, parseApiKeyList, portSchema, positiveIntSchema, requireKafkaSettings, toCommonConfig, type ApiKeyEntry, type CommonConfig } from '@safeguard/service-runtime';

/** Roles of the review API. `platform` may only forward complaints and removal states. */
export type ApiRole = 'reviewer' | 'admin' | 'platform';

/** Who an API key belongs to. */
export interface ApiPrincipal {
  /** Opaque staff or system id (never a name). */
  id: string;
  role: ApiRole;
}

/** NCMEC CyberTipline endpoint (no default: configured by the operator, tests use the simulator). */
export interface NcmecEndpoint {
  baseUrl: string;
  username: string;
  password: string;
  timeoutMs: number;
}

/** EU Centre endpoint (no default). */
export interface EuCentreEndpoint {
  url: string;
  bearerToken?: string;
  timeoutMs: number;
}

/** Settings of the reporter service. */
export interface ReporterConfig {
  common: CommonConfig;
  /** Port of the review API. */
  httpPort: number;
  /** sha256(key) hex → principal. Keys themselves are never kept. */
  apiKeys: Map<string, ApiPrincipal>;
  /** SQLite file of cases, outbox and audit chain (`:memory:` only for tests and the demo). */
  storePath: string;
  /** Policy JSON file (see packages/reporting README, "Policy configuration"). */
  policyFile: string;
  /** Provider profile JSON file (Art. 13(a) and the NCMEC reporter section). */
  providerFile: string;
  /** Ed25519 private key (PKCS#8 PEM) that signs EU reports and audit heads. */
  signingKeyFile: string;
  ncmec?: NcmecEndpoint;
  euCentre?: EuCentreEndpoint;
  /** Bank sources whose lists hold material verified by an authority (policy `bankVerified`). */
  verifiedSources: Set<string>;
  /** Directory whose `file://` media may be uploaded to NCMEC; without it reports go without files. */
  mediaRoot?: string;
  /** Largest media file uploaded, bytes. */
  mediaMaxBytes: number;
  caseWindowMs: number;
  leaseMs: number;
  retentionMonths: number;
  purgeIntervalMs: number;
  deliveryIntervalMs: number;
  delivery: { maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number };
  relayIntervalMs: number;
  /** How often confirmed cases without queued reports are looked for (also once at start), ms. */
  repairIntervalMs: number;
  /** Id of this deployment's audit chain (the audit topic's key). */
  auditChainId: string;
  /** Consumer group session timeout, ms (REPORTER_KAFKA_SESSION_TIMEOUT_MS, else KAFKA_SESSION_TIMEOUT_MS). */
  kafkaSessionTimeoutMs: number;
}

const ROLES: readonly ApiRole[] = ['reviewer', 'admin', 'platform'];
const HASHED = /^sha256:([0-9a-f]{64})$/;

/** Parses `<id>:<role>:<key>` or `<id>:<role>:sha256:<hex>` (a key given as its digest). */
function parseReviewKeyEntry(entry: string): ApiKeyEntry<ApiPrincipal> {
  const first = entry.indexOf(':');
  const second = first > 0 ? entry.indexOf(':', first + 1) : -1;
  const id = second > 0 ? entry.slice(0, first) : '';
  const role = second > 0 ? (entry.slice(first + 1, second) as ApiRole) : undefined;
  const secret = second > 0 ? entry.slice(second + 1) : '';
  const hashed = HASHED.exec(secret);
  const problem = !API_KEY_OWNER_ID_PATTERN.test(id)
    ? 'the id must be 1-64 of [A-Za-z0-9._-]'
    : !role || !ROLES.includes(role)
      ? `the role must be one of ${ROLES.join(', ')}`
      : !hashed && secret.length < MIN_API_KEY_LENGTH
        ? `the key must be sha256:<64 hex> or at least ${MIN_API_KEY_LENGTH} characters`
        : undefined;
  if (problem) return { problem: `expected <id>:<role>:<key or sha256:hex>; ${problem}` };
  return { digest: hashed ? hashed[1]! : hashApiKey(secret), owner: { id, role: role! } };
}

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Environment variables of the reporter service (see the README section "reporter"). */
export const reporterConfigSchema = z
  .object({
    ...commonEnvShape,
    /** Port of the review API. Default 8080. */
    REPORTER_HTTP_PORT: portSchema.default(8080),
    /** Comma-separated `<id>:<role>:<key>` or `<id>:<role>:sha256:<hex>`. Required; no default credentials. */
    REPORTER_API_KEYS: z.string({ error: 'required: comma-separated <id>:<role>:<key or sha256:hex> entries' }),
    /** SQLite store file on a persistent volume. Required. */
    REPORTER_STORE_PATH: z.string({ error: 'required: path of the SQLite store on a persistent volume' }).min(1),
    REPORTER_POLICY_FILE: z.string({ error: 'required: policy JSON file' }).min(1),
    REPORTER_PROVIDER_FILE: z.string({ error: 'required: provider profile JSON file' }).min(1),
    REPORTER_SIGNING_KEY_FILE: z.string({ error: 'required: Ed25519 private key (PKCS#8 PEM) file' }).min(1),
    /** CyberTipline base URL. No default; required when the policy routes to ncmec. */
    REPORTER_NCMEC_URL: optionalString.pipe(z.url().optional()),
    REPORTER_NCMEC_USERNAME: optionalString,
    REPORTER_NCMEC_PASSWORD: optionalString,
    /** Per-request timeout, ms. Default 30000: uploads of large videos take a while. */
    REPORTER_NCMEC_TIMEOUT_MS: positiveIntSchema.default(30_000),
    /** EU Centre report intake URL. No default; required when the policy routes to eu_centre. */
    REPORTER_EU_CENTRE_URL: optionalString.pipe(z.url().optional()),
    REPORTER_EU_CENTRE_TOKEN: optionalString,
    /** Per-request timeout, ms. Default 15000. */
    REPORTER_EU_CENTRE_TIMEOUT_MS: positiveIntSchema.default(15_000),
    /** Bank sources that count as authority-verified (`bankVerified` in policy). Default none: the cautious choice. */
    REPORTER_VERIFIED_SOURCES: csvSchema.default([]),
    /** Directory of media that may be uploaded to NCMEC (file:// URIs under it). Default none: reports carry hashes only. */
    REPORTER_MEDIA_ROOT: optionalString,
    /** Largest media file uploaded, bytes. Default 104857600 (100 MiB): larger files go by hash only. */
    REPORTER_MEDIA_MAX_BYTES: positiveIntSchema.default(100 * 1024 * 1024),
    /** Detections of one subject within this window form one case, ms. Default 86400000 (24 h). */
    REPORTER_CASE_WINDOW_MS: positiveIntSchema.default(86_400_000),
    /** Claim lease, ms. Default 900000 (15 min): long enough to look at a case, short enough that abandoned claims return. */
    REPORTER_LEASE_MS: positiveIntSchema.default(900_000),
    /** Months after opening before a case's data is purged. Default and maximum 12 (Art. 22). */
    REPORTER_RETENTION_MONTHS: positiveIntSchema.max(12, 'at most 12 months (Art. 22)').default(12),
    /** How often expired cases are purged, ms. Default 3600000 (1 h): purges are at most an hour late. */
    REPORTER_PURGE_INTERVAL_MS: positiveIntSchema.default(3_600_000),
    /** How often due deliveries run, ms (also right after a case is confirmed). Default 2000. */
    REPORTER_DELIVERY_INTERVAL_MS: positiveIntSchema.default(2_000),
    /** Failed attempts before a delivery fails for good. Default 12 (about an hour with the default backoff). */
    REPORTER_DELIVERY_MAX_ATTEMPTS: positiveIntSchema.default(12),
    /** First retry delay, ms; doubles per failure. Default 2000. */
    REPORTER_DELIVERY_BACKOFF_BASE_MS: positiveIntSchema.default(2_000),
    /** Longest retry delay, ms. Default 600000 (10 min): a report must not wait hours. */
    REPORTER_DELIVERY_BACKOFF_MAX_MS: positiveIntSchema.default(600_000),
    /** How often unpublished audit records (and their events) are published, ms (also after every change). Default 1000. */
    REPORTER_RELAY_INTERVAL_MS: positiveIntSchema.default(1_000),
    /**
     * How often confirmed cases without queued reports (a crash between a decision and its
     * reports) are looked for, ms; also once at start. Default 60000: the pass reads the confirmed
     * cases, which are few, and a report delayed by a crash waits at most a minute more.
     */
    REPORTER_REPAIR_INTERVAL_MS: positiveIntSchema.default(60_000),
    /**
     * Consumer group session timeout of this service, ms; overrides the common
     * KAFKA_SESSION_TIMEOUT_MS (default 30000) when set. Lower lets a restarted replica take the
     * partitions of a killed one sooner (the broker waits this long for the dead member), at the
     * cost of spurious rebalances on slow networks; the broker allows 6000 at the least by default.
     */
    REPORTER_KAFKA_SESSION_TIMEOUT_MS: positiveIntSchema.min(1000).optional(),
    /** Id of the audit chain (key on the audit topic), one per deployment. Default `reporter`. */
    REPORTER_AUDIT_CHAIN_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 of [A-Za-z0-9._-]')
      .default('reporter'),
  })
  .superRefine(requireKafkaSettings)
  .superRefine((env, ctx) => {
    const ncmec = [env.REPORTER_NCMEC_URL, env.REPORTER_NCMEC_USERNAME, env.REPORTER_NCMEC_PASSWORD];
    if (ncmec.some((v) => v !== undefined) && ncmec.some((v) => v === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['REPORTER_NCMEC_URL'], message: 'REPORTER_NCMEC_URL, REPORTER_NCMEC_USERNAME and REPORTER_NCMEC_PASSWORD go together' });
    }
    if (env.REPORTER_EU_CENTRE_TOKEN !== undefined && env.REPORTER_EU_CENTRE_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['REPORTER_EU_CENTRE_URL'], message: 'REPORTER_EU_CENTRE_TOKEN needs REPORTER_EU_CENTRE_URL' });
    }
    if (env.REPORTER_DELIVERY_BACKOFF_MAX_MS < env.REPORTER_DELIVERY_BACKOFF_BASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['REPORTER_DELIVERY_BACKOFF_MAX_MS'], message: 'must be at least REPORTER_DELIVERY_BACKOFF_BASE_MS' });
    }
  })
  .transform((env, ctx): ReporterConfig => ({
    common: toCommonConfig(env),
    httpPort: env.REPORTER_HTTP_PORT,
    apiKeys: parseApiKeyList(
      env.REPORTER_API_KEYS,
      { parseEntry: parseReviewKeyEntry, path: 'REPORTER_API_KEYS', requiredMessage: 'at least one <id>:<role>:<key> entry is required', requiredOnlyWhenEmpty: true, rejectDuplicates: true },
      ctx,
    ),
    storePath: env.REPORTER_STORE_PATH,
    policyFile: env.REPORTER_POLICY_FILE,
    providerFile: env.REPORTER_PROVIDER_FILE,
    signingKeyFile: env.REPORTER_SIGNING_KEY_FILE,
    ...(env.REPORTER_NCMEC_URL && env.REPORTER_NCMEC_USERNAME && env.REPORTER_NCMEC_PASSWORD
      ? { ncmec: { baseUrl: env.REPORTER_NCMEC_URL, username: env.REPORTER_NCMEC_USERNAME, password: env.REPORTER_NCMEC_PASSWORD, timeoutMs: env.REPORTER_NCMEC_TIMEOUT_MS } }
      : {}),
    ...(env.REPORTER_EU_CENTRE_URL
      ? { euCentre: { url: env.REPORTER_EU_CENTRE_URL, timeoutMs: env.REPORTER_EU_CENTRE_TIMEOUT_MS, ...(env.REPORTER_EU_CENTRE_TOKEN ? { bearerToken: env.REPORTER_EU_CENTRE_TOKEN } : {}) } }
      : {}),
    verifiedSources: new Set(env.REPORTER_VERIFIED_SOURCES),
    ...(env.REPORTER_MEDIA_ROOT ? { mediaRoot: env.REPORTER_MEDIA_ROOT } : {}),
    mediaMaxBytes: env.REPORTER_MEDIA_MAX_BYTES,
    caseWindowMs: env.REPORTER_CASE_WINDOW_MS,
    leaseMs: env.REPORTER_LEASE_MS,
    retentionMonths: env.REPORTER_RETENTION_MONTHS,
    purgeIntervalMs: env.REPORTER_PURGE_INTERVAL_MS,
    deliveryIntervalMs: env.REPORTER_DELIVERY_INTERVAL_MS,
    delivery: {
      maxAttempts: env.REPORTER_DELIVERY_MAX_ATTEMPTS,
      backoffBaseMs: env.REPORTER_DELIVERY_BACKOFF_BASE_MS,
      backoffMaxMs: env.REPORTER_DELIVERY_BACKOFF_MAX_MS,
    },
    relayIntervalMs: env.REPORTER_RELAY_INTERVAL_MS,
    repairIntervalMs: env.REPORTER_REPAIR_INTERVAL_MS,
    auditChainId: env.REPORTER_AUDIT_CHAIN_ID,
    kafkaSessionTimeoutMs: env.REPORTER_KAFKA_SESSION_TIMEOUT_MS ?? env.KAFKA_SESSION_TIMEOUT_MS,
  }));
