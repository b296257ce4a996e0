import { parseConfig } from '@safeguard/service-runtime';
import { hasherConfigSchema } from './config';

describe('hasher config', () => {
  it('applies defaults for tunables and leaves the pool size to the CPU limit', () => {
    const r = parseConfig(hasherConfigSchema, { SAFEGUARD_TRANSPORT: 'in-process' });
    expect(r.ok).toBe(true);
    const config = r.ok ? r.config : undefined;
    expect(config?.pool).toEqual({ threads: undefined, maxQueue: undefined });
    expect(config?.concurrency).toBeUndefined();
    expect(config?.fetch).toEqual({
      schemes: ['https', 'http', 'file'],
      fileRoots: [],
      allowCidrs: [],
      connectTimeoutMs: 5000,
      responseTimeoutMs: 10000,
      totalTimeoutMs: 60000,
      maxRedirects: 3,
    });
    expect(config?.hashing).toMatchObject({ maxBytes: 64 * 1024 * 1024, mode: 'exact', dihedral: false, videoFramesPerSecond: 1 });
  });

  it('parses lists and overrides', () => {
    const r = parseConfig(hasherConfigSchema, {
      SAFEGUARD_TRANSPORT: 'in-process',
      HASHER_POOL_SIZE: '3',
      HASHER_POOL_MAX_QUEUE: '0',
      HASHER_CONCURRENCY: '4',
      HASHER_URI_SCHEMES: 'HTTPS, file',
      HASHER_FILE_ROOTS: '/srv/media, /data',
      HASHER_FETCH_ALLOW_CIDRS: '10.20.0.0/16,fd00:1::/64,127.0.0.1',
      HASHER_DIHEDRAL: 'true',
      HASHER_MODE: 'fast',
    });
    expect(r.ok && r.config).toMatchObject({
      pool: { threads: 3, maxQueue: 0 },
      concurrency: 4,
      fetch: { schemes: ['https', 'file'], fileRoots: ['/srv/media', '/data'], allowCidrs: ['10.20.0.0/16', 'fd00:1::/64', '127.0.0.1'] },
      hashing: { dihedral: true, mode: 'fast' },
    });
  });

  it('reports every malformed variable at once', () => {
    const r = parseConfig(hasherConfigSchema, { HASHER_POOL_SIZE: '0', HASHER_MODE: 'quick', HASHER_FETCH_MAX_REDIRECTS: '-1' });
    const errors = r.ok ? [] : r.errors;
    expect(errors.map((e) => e.split(':')[0])).toEqual(['HASHER_POOL_SIZE', 'HASHER_FETCH_MAX_REDIRECTS', 'HASHER_MODE']);
  });

  it('requires the Kafka endpoints with the kafka transport', () => {
    const r = parseConfig(hasherConfigSchema, {});
    expect(r.ok ? [] : r.errors.map((e) => e.split(':')[0])).toEqual(['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']);
  });

  it('checks lists when the rest is valid', () => {
    const r = parseConfig(hasherConfigSchema, {
      SAFEGUARD_TRANSPORT: 'in-process',
      HASHER_URI_SCHEMES: 'ftp',
      HASHER_FILE_ROOTS: 'relative/dir',
      HASHER_FETCH_ALLOW_CIDRS: 'storage.internal',
    });
    expect(r.ok ? [] : r.errors).toEqual([
      'HASHER_URI_SCHEMES: unknown scheme ftp (file, http, https)',
      'HASHER_FILE_ROOTS: not an absolute path: relative/dir',
      'HASHER_FETCH_ALLOW_CIDRS: not a CIDR block or address: storage.internal',
    ]);
  });
});
