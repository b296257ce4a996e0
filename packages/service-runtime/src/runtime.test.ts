import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { commonEnvShape, consumerSessionOptions, parseConfig, requireKafkaSettings, toCommonConfig } from './config';
import { runServiceMain } from './run-main';
import { ServiceRuntime } from './runtime';

const schema = z
  .object({ ...commonEnvShape, DEMO_LIMIT: z.coerce.number().int().positive().default(5) })
  .superRefine(requireKafkaSettings)
  .transform((env) => ({ common: toCommonConfig(env), limit: env.DEMO_LIMIT }));

describe('parseConfig', () => {
  it('applies defaults for tunables', () => {
    const r = parseConfig(schema, { SAFEGUARD_TRANSPORT: 'in-process' });
    expect(r.ok && r.config).toMatchObject({ limit: 5, common: { transport: 'in-process', metricsPort: 9464, logLevel: 'info', kafkaSessionTimeoutMs: 30_000 } });
  });

  it('takes the consumer session timeout from KAFKA_SESSION_TIMEOUT_MS (at least 1000 ms)', () => {
    const r = parseConfig(schema, { SAFEGUARD_TRANSPORT: 'in-process', KAFKA_SESSION_TIMEOUT_MS: '10000' });
    expect(r.ok && r.config.common.kafkaSessionTimeoutMs).toBe(10_000);
    const low = parseConfig(schema, { SAFEGUARD_TRANSPORT: 'in-process', KAFKA_SESSION_TIMEOUT_MS: '999' });
    expect(low.ok ? [] : low.errors.map((e) => e.split(':')[0])).toEqual(['KAFKA_SESSION_TIMEOUT_MS']);
  });

  it('reports every violation, and requires endpoints for kafka', () => {
    const r = parseConfig(schema, { DEMO_LIMIT: '-1', LOG_LEVEL: 'loud' });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors.some((e) => e.startsWith('DEMO_LIMIT'))).toBe(true);
    expect(errors.some((e) => e.startsWith('LOG_LEVEL'))).toBe(true);
  });

  it('requires brokers and registry with the kafka transport', () => {
    const r = parseConfig(schema, {});
    expect(r.ok ? [] : r.errors).toEqual([
      'KAFKA_BROKERS: required with the kafka transport (comma-separated host:port)',
      'SCHEMA_REGISTRY_URL: required with the kafka transport',
    ]);
    const ok = parseConfig(schema, { KAFKA_BROKERS: 'a:1, b:2', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7' });
    expect(ok.ok && ok.config.common.kafkaBrokers).toEqual(['a:1', 'b:2']);
  });
});

describe('consumerSessionOptions', () => {
  it('heartbeats every third of the session timeout, at most every 3 s', () => {
    expect(consumerSessionOptions(30_000)).toEqual({ sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000 });
    expect(consumerSessionOptions(6_000)).toEqual({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 2_000 });
    expect(consumerSessionOptions(1_000)).toEqual({ sessionTimeoutMs: 1_000, heartbeatIntervalMs: 333 });
  });
});

describe('runServiceMain', () => {
  it('prints violations and returns 1 without starting', async () => {
    const stderr = new PassThrough();
    let out = '';
    stderr.on('data', (d) => (out += String(d)));
    const start = jest.fn();
    const code = await runServiceMain({ service: 'demo', configSchema: schema, env: {}, start, stderr, onSignal: () => undefined });
    expect(code).toBe(1);
    expect(start).not.toHaveBeenCalled();
    expect(out).toContain('KAFKA_BROKERS');
  });

  it('starts, serves readiness, and shuts down in order on a signal', async () => {
    const order: string[] = [];
    let fire: (s: string) => void = () => undefined;
    const code = await runServiceMain({
      service: 'demo',
      configSchema: schema,
      env: { SAFEGUARD_TRANSPORT: 'in-process', METRICS_PORT: '0', LOG_LEVEL: 'silent' },
      stderr: new PassThrough(),
      onSignal: (h) => {
        fire = h;
      },
      start: async (_config, runtime) => {
        runtime.addReadinessCheck('ready', () => true);
        runtime.shutdown.add('stop_consumer', () => {
          order.push('stop_consumer');
        });
        // While start() runs, the service is not ready even though its own checks pass.
        const during = await fetch(`http://127.0.0.1:${runtime.health!.port}/readyz`);
        order.push(`starting_readyz_${during.status}`);
        setImmediate(() => {
          void fetch(`http://127.0.0.1:${runtime.health!.port}/readyz`).then((res) => {
            order.push(`readyz_${res.status}`);
            fire('SIGTERM');
          });
        });
        return {};
      },
    });
    expect(code).toBe(0);
    expect(order).toEqual(['starting_readyz_503', 'readyz_200', 'stop_consumer']);
  });

  it('shuts down in order on a signal that arrives while the service is starting', async () => {
    const order: string[] = [];
    let fire: (s: string) => void = () => undefined;
    const code = await runServiceMain({
      service: 'demo',
      configSchema: schema,
      env: { SAFEGUARD_TRANSPORT: 'in-process', METRICS_PORT: '0', LOG_LEVEL: 'silent' },
      stderr: new PassThrough(),
      onSignal: (h) => {
        fire = h;
      },
      start: async (_config, runtime) => {
        runtime.shutdown.add('stop_consumer', () => {
          order.push('stop_consumer');
        });
        fire('SIGTERM');
        order.push('started');
        return {};
      },
    });
    expect(code).toBe(0);
    expect(order).toEqual(['started', 'stop_consumer']);
  });

  it('returns 1 when the service reports a crash', async () => {
    const code = await runServiceMain({
      service: 'demo',
      configSchema: schema,
      env: { SAFEGUARD_TRANSPORT: 'in-process', METRICS_PORT: '0', LOG_LEVEL: 'silent' },
      stderr: new PassThrough(),
      onSignal: () => undefined,
      start: async () => ({ crashed: Promise.resolve(new Error('consumer crashed')) }),
    });
    expect(code).toBe(1);
  });
});

describe('ServiceRuntime', () => {
  it('closes the transport last and marks unready first', async () => {
    const { common } = schema.parse({ SAFEGUARD_TRANSPORT: 'in-process', METRICS_PORT: '0', LOG_LEVEL: 'silent' });
    const runtime = await ServiceRuntime.start({ service: 'demo', common });
    runtime.shutdown.add('mine', () => undefined);
    const steps = (await runtime.stop()).map((r) => r.name);
    expect(steps).toEqual(['mark_unready', 'mine', 'close_transport', 'close_health_server']);
  });

  it('applies the topic prefix to bindings and the group id', async () => {
    const { common } = schema.parse({ SAFEGUARD_TRANSPORT: 'in-process', SAFEGUARD_TOPIC_PREFIX: 't1.', LOG_LEVEL: 'silent' });
    const runtime = await ServiceRuntime.start({ service: 'demo', common, healthServer: false });
    expect(runtime.topic({ topic: 'a.b.c.v1', partitions: 3 })).toEqual({ topic: 't1.a.b.c.v1', partitions: 3 });
    expect(runtime.groupId).toBe('t1.demo');
    await runtime.stop();
  });
});
