import { parseConfig } from '@safeguard/service-runtime';
import { groomingConfigSchema } from './config';

describe('groomingConfigSchema', () => {
  it('has defaults for every tunable', () => {
    const r = parseConfig(groomingConfigSchema, { SAFEGUARD_TRANSPORT: 'in-process' });
    expect(r.ok && r.config).toMatchObject({
      analyzer: { alertThreshold: 0.6, rearmBelow: 0.3, maxAlerts: 3, reAlert: 'on-stage-advance', policy: 'possible-minor' },
      stateTtlMs: 7 * 24 * 3600 * 1000,
      maxConversations: 1_000_000,
      concurrency: 6,
      fanOut: { mode: 'shared' },
    });
    expect(r.ok && r.config.platforms.size).toBe(0);
  });

  it('reads policy, thresholds and platforms', () => {
    const r = parseConfig(groomingConfigSchema, {
      SAFEGUARD_TRANSPORT: 'in-process',
      GROOMING_ANALYSIS_POLICY: 'declared-minor',
      GROOMING_ALERT_THRESHOLD: '0.75',
      GROOMING_PLATFORMS: 'a, b',
      GROOMING_FAN_OUT: 'local',
    });
    expect(r.ok && r.config.analyzer).toMatchObject({ policy: 'declared-minor', alertThreshold: 0.75 });
    expect(r.ok && [...r.config.platforms]).toEqual(['a', 'b']);
  });

  it('takes the session timeout from KAFKA_SESSION_TIMEOUT_MS unless GROOMING_SESSION_TIMEOUT_MS overrides it', () => {
    const session = (env: Record<string, string>) => {
      const r = parseConfig(groomingConfigSchema, { SAFEGUARD_TRANSPORT: 'in-process', ...env });
      return r.ok ? r.config.sessionTimeoutMs : r.errors;
    };
    expect(session({})).toBe(30_000);
    expect(session({ KAFKA_SESSION_TIMEOUT_MS: '10000' })).toBe(10_000);
    expect(session({ KAFKA_SESSION_TIMEOUT_MS: '10000', GROOMING_SESSION_TIMEOUT_MS: '6000' })).toBe(6_000);
  });

  it('reports every violation', () => {
    const r = parseConfig(groomingConfigSchema, {
      GROOMING_ALERT_THRESHOLD: '0.2',
      GROOMING_REARM_BELOW: '0.5',
      GROOMING_ANALYSIS_POLICY: 'everyone',
      GROOMING_STATE_TTL_MS: '-1',
    });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    for (const v of ['GROOMING_ANALYSIS_POLICY', 'GROOMING_STATE_TTL_MS']) expect(errors.some((e) => e.startsWith(v))).toBe(true);
    const threshold = parseConfig(groomingConfigSchema, { SAFEGUARD_TRANSPORT: 'in-process', GROOMING_ALERT_THRESHOLD: '0.2', GROOMING_REARM_BELOW: '0.5' });
    expect(threshold.ok ? [] : threshold.errors).toEqual(['GROOMING_REARM_BELOW: must be below GROOMING_ALERT_THRESHOLD']);
  });
});
