import { hashApiKey, parseConfig } from '@safeguard/service-runtime';
import { reporterConfigSchema, type ReporterConfig } from './config';

const KEY = 'k'.repeat(32);
const base = {
  SAFEGUARD_TRANSPORT: 'in-process',
  REPORTER_API_KEYS: `rev-1:reviewer:${KEY}`,
  REPORTER_STORE_PATH: '/data/reporting.db',
  REPORTER_POLICY_FILE: '/etc/reporter/policy.json',
  REPORTER_PROVIDER_FILE: '/etc/reporter/provider.json',
  REPORTER_SIGNING_KEY_FILE: '/secrets/signing-key.pem',
};

const parse = (env: Record<string, string>) => parseConfig(reporterConfigSchema, env);
const ok = (env: Record<string, string>): ReporterConfig => {
  const r = parse(env);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
};
const errors = (env: Record<string, string>): string[] => {
  const r = parse(env);
  return r.ok ? [] : r.errors;
};

describe('reporter config', () => {
  it('applies defaults only to tunables; endpoints stay unset', () => {
    const c = ok(base);
    expect(c).toMatchObject({ httpPort: 8080, retentionMonths: 12, caseWindowMs: 86_400_000, leaseMs: 900_000, auditChainId: 'reporter', mediaMaxBytes: 104_857_600 });
    expect(c.ncmec).toBeUndefined();
    expect(c.euCentre).toBeUndefined();
    expect(c.mediaRoot).toBeUndefined();
    expect(c.verifiedSources.size).toBe(0);
  });

  it('requires credentials, store and files, and has no default credentials', () => {
    const errs = errors({ SAFEGUARD_TRANSPORT: 'in-process' });
    for (const v of ['REPORTER_API_KEYS', 'REPORTER_STORE_PATH', 'REPORTER_POLICY_FILE', 'REPORTER_PROVIDER_FILE', 'REPORTER_SIGNING_KEY_FILE']) {
      expect(errs.some((e) => e.startsWith(v))).toBe(true);
    }
    expect(errors({ ...base, SAFEGUARD_TRANSPORT: 'kafka' })).toEqual([
      'KAFKA_BROKERS: required with the kafka transport (comma-separated host:port)',
      'SCHEMA_REGISTRY_URL: required with the kafka transport',
    ]);
  });

  it('maps API keys to (id, role), holding only their hashes; accepts keys configured as hashes', () => {
    const c = ok({ ...base, REPORTER_API_KEYS: `rev-1:reviewer:${KEY}, adm-1:admin:sha256:${hashApiKey('a'.repeat(40))},plat:platform:${'p'.repeat(24)}` });
    expect(c.apiKeys.get(hashApiKey(KEY))).toEqual({ id: 'rev-1', role: 'reviewer' });
    expect(c.apiKeys.get(hashApiKey('a'.repeat(40)))).toEqual({ id: 'adm-1', role: 'admin' });
    expect(c.apiKeys.get(hashApiKey('p'.repeat(24)))).toEqual({ id: 'plat', role: 'platform' });
    expect([...c.apiKeys.keys()].every((k) => /^[0-9a-f]{64}$/.test(k))).toBe(true);
    expect(JSON.stringify([...c.apiKeys])).not.toContain(KEY);
  });

  it('refuses short keys, unknown roles, bad ids and duplicate keys, naming the entry', () => {
    expect(errors({ ...base, REPORTER_API_KEYS: 'rev-1:reviewer:short' })).toEqual([expect.stringMatching(/^REPORTER_API_KEYS: entry 1: .*at least 24/)]);
    expect(errors({ ...base, REPORTER_API_KEYS: `rev-1:boss:${KEY}` })[0]).toMatch(/entry 1: .*role must be one of reviewer, admin, platform/);
    expect(errors({ ...base, REPORTER_API_KEYS: `rev 1:reviewer:${KEY}` })[0]).toMatch(/entry 1: .*id/);
    expect(errors({ ...base, REPORTER_API_KEYS: `a:reviewer:${KEY},b:admin:${KEY}` })[0]).toMatch(/entry 2: the same key is given twice/);
    expect(errors({ ...base, REPORTER_API_KEYS: ' , ' })[0]).toMatch(/at least one/);
  });

  it('takes NCMEC settings all together, EU token only with a URL, retention at most 12 months', () => {
    expect(errors({ ...base, REPORTER_NCMEC_URL: 'http://127.0.0.1:1' })[0]).toMatch(/go together/);
    const c = ok({ ...base, REPORTER_NCMEC_URL: 'http://127.0.0.1:1', REPORTER_NCMEC_USERNAME: 'u', REPORTER_NCMEC_PASSWORD: 'p', REPORTER_EU_CENTRE_URL: 'http://127.0.0.1:2/reports' });
    expect(c.ncmec).toEqual({ baseUrl: 'http://127.0.0.1:1', username: 'u', password: 'p', timeoutMs: 30_000 });
    expect(c.euCentre).toEqual({ url: 'http://127.0.0.1:2/reports', timeoutMs: 15_000 });
    expect(errors({ ...base, REPORTER_EU_CENTRE_TOKEN: 't' })[0]).toMatch(/needs REPORTER_EU_CENTRE_URL/);
    expect(errors({ ...base, REPORTER_NCMEC_URL: 'not a url', REPORTER_NCMEC_USERNAME: 'u', REPORTER_NCMEC_PASSWORD: 'p' }).some((e) => e.startsWith('REPORTER_NCMEC_URL'))).toBe(true);
    expect(errors({ ...base, REPORTER_RETENTION_MONTHS: '13' })[0]).toMatch(/REPORTER_RETENTION_MONTHS: at most 12 months/);
    expect(ok({ ...base, REPORTER_RETENTION_MONTHS: '6', REPORTER_VERIFIED_SOURCES: 'eu_centre, ncmec' })).toMatchObject({ retentionMonths: 6, verifiedSources: new Set(['eu_centre', 'ncmec']) });
  });
});
