import { z } from 'zod';
import type { AnalyzerConfig } from '@safeguard/grooming';
import { commonEnvShape, csvSchema, positiveIntSchema, requireKafkaSettings, toCommonConfig, type CommonConfig } from '@safeguard/service-runtime';

const DAY_MS = 24 * 60 * 60 * 1000;

/** How the fan-out signal (one adult in several minors' conversations) is counted. */
export type FanOutMode = 'shared' | 'local' | 'off';

/** Settings of the grooming service. */
export interface GroomingConfig {
  common: CommonConfig;
  /** Analyser settings (threshold, re-alerts, analysis policy, decay) passed to @safeguard/grooming. */
  analyzer: Partial<AnalyzerConfig>;
  /** Platforms whose conversations may be analysed; empty = every platform. */
  platforms: Set<string>;
  /** Idle time after which a conversation's state is dropped (tombstone), ms. */
  stateTtlMs: number;
  /** Most conversations held per replica; the least recently active beyond it are evicted (tombstone). */
  maxConversations: number;
  /** How often idle conversations are looked for, ms. */
  expiryIntervalMs: number;
  /** Input partitions processed in parallel by one replica. */
  concurrency: number;
  /** Consumer group session timeout, ms (GROOMING_SESSION_TIMEOUT_MS, else KAFKA_SESSION_TIMEOUT_MS). */
  sessionTimeoutMs: number;
  fanOut: {
    mode: FanOutMode;
    /** Window in which contacts with minors' conversations are counted, ms. */
    windowMs: number;
    /** Most senders remembered per replica (least recently active forgotten first). */
    maxSenders: number;
  };
}

const unitInterval = z.coerce.number().gt(0).lte(1);

/** Environment variables of the grooming service (see the README section "grooming"). */
export const groomingConfigSchema = z
  .object({
    ...commonEnvShape,
    /** Score at which an alert fires, (0, 1]. Default 0.6: higher means fewer false alarms but later alerts. */
    GROOMING_ALERT_THRESHOLD: unitInterval.default(0.6),
    /** Score under which a fired alert re-arms, [0, threshold). Default 0.3. */
    GROOMING_REARM_BELOW: z.coerce.number().min(0).lt(1).default(0.3),
    /** Most alerts per conversation, 1-255. Default 3: a reviewer gets the first alert and up to two stage advances. */
    GROOMING_MAX_ALERTS: positiveIntSchema.max(255).default(3),
    /** `on-stage-advance` (default: alert again when a later stage is reached) or `never`. */
    GROOMING_REALERT: z.enum(['on-stage-advance', 'never']).default('on-stage-advance'),
    /**
     * Which conversations may be analysed (data minimisation): `possible-minor` (default: unless
     * every declared participant is an adult), `declared-minor` (only with a declared minor), `all`.
     */
    GROOMING_ANALYSIS_POLICY: z.enum(['possible-minor', 'declared-minor', 'all']).default('possible-minor'),
    /** Comma-separated platform ids to analyse; empty (default) analyses every platform. */
    GROOMING_PLATFORMS: csvSchema.default([]),
    /** Half-life of signal evidence, ms. Default 14 days: shorter forgets slow grooming, longer keeps old banter alive. */
    GROOMING_HALF_LIFE_MS: positiveIntSchema.default(14 * DAY_MS),
    /**
     * Idle time after which a conversation's state is dropped and tombstoned, ms. Default 7 days:
     * long enough for slow, weeks-apart grooming to keep most of its evidence (half-life 14 days),
     * short enough that memory and the changelog only hold recently active conversations.
     */
    GROOMING_STATE_TTL_MS: positiveIntSchema.default(7 * DAY_MS),
    /**
     * Most conversations held by one replica. Default 1000000 (about 0.5 GB at typical state
     * sizes); beyond it the least recently active are evicted (tombstoned). Size partitions and
     * replicas so that this is rarely reached: `safeguard_grooming_conversations_expired_total{reason="evicted"}`.
     */
    GROOMING_MAX_CONVERSATIONS: positiveIntSchema.default(1_000_000),
    /** How often idle conversations are looked for, ms. Default 60000: a full scan per minute. */
    GROOMING_EXPIRY_INTERVAL_MS: positiveIntSchema.default(60_000),
    /**
     * Input partitions one replica processes in parallel. Default 6 (the input's partition count):
     * changelog writes of parallel partitions share one produce request, which is where the
     * throughput comes from; 1 processes one message at a time.
     */
    GROOMING_CONCURRENCY: positiveIntSchema.max(64).default(6),
    /**
     * Consumer group session timeout of this service, ms; overrides the common
     * KAFKA_SESSION_TIMEOUT_MS (default 30000) when set. A replica that dies without leaving keeps
     * its partitions (and their conversations) unprocessed this long; shorter hands them over sooner
     * but risks needless rebalances on a long GC pause. The broker bounds it (6000 by default).
     */
    GROOMING_SESSION_TIMEOUT_MS: positiveIntSchema.min(1000).optional(),
    /**
     * Fan-out counting: `shared` (default: contacts go to grooming.contact.observed.v1 and every
     * replica reads all of them), `local` (per replica: sees only its own partitions, an
     * undercount), `off`.
     */
    GROOMING_FAN_OUT: z.enum(['shared', 'local', 'off']).default('shared'),
    /** Fan-out window, ms. Default 7 days. Also the retention of the contact topic when this service creates it. */
    GROOMING_FAN_OUT_WINDOW_MS: positiveIntSchema.default(7 * DAY_MS),
    /** Senders remembered for fan-out per replica. Default 100000 (a few tens of MB). */
    GROOMING_FAN_OUT_MAX_SENDERS: positiveIntSchema.default(100_000),
  })
  .superRefine(requireKafkaSettings)
  .superRefine((env, ctx) => {
    if (env.GROOMING_REARM_BELOW >= env.GROOMING_ALERT_THRESHOLD) {
      ctx.addIssue({ code: 'custom', path: ['GROOMING_REARM_BELOW'], message: 'must be below GROOMING_ALERT_THRESHOLD' });
    }
    for (const p of env.GROOMING_PLATFORMS) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(p)) ctx.addIssue({ code: 'custom', path: ['GROOMING_PLATFORMS'], message: `invalid platform id "${p}"` });
    }
  })
  .transform(
    (env): GroomingConfig => ({
      common: toCommonConfig(env),
      analyzer: {
        alertThreshold: env.GROOMING_ALERT_THRESHOLD,
        rearmBelow: env.GROOMING_REARM_BELOW,
        maxAlerts: env.GROOMING_MAX_ALERTS,
        reAlert: env.GROOMING_REALERT,
        policy: env.GROOMING_ANALYSIS_POLICY,
        halfLifeMs: env.GROOMING_HALF_LIFE_MS,
      },
      platforms: new Set(env.GROOMING_PLATFORMS),
      stateTtlMs: env.GROOMING_STATE_TTL_MS,
      maxConversations: env.GROOMING_MAX_CONVERSATIONS,
      expiryIntervalMs: env.GROOMING_EXPIRY_INTERVAL_MS,
      concurrency: env.GROOMING_CONCURRENCY,
      sessionTimeoutMs: env.GROOMING_SESSION_TIMEOUT_MS ?? env.KAFKA_SESSION_TIMEOUT_MS,
      fanOut: { mode: env.GROOMING_FAN_OUT, windowMs: env.GROOMING_FAN_OUT_WINDOW_MS, maxSenders: env.GROOMING_FAN_OUT_MAX_SENDERS },
    }),
  );
