import { Writable } from 'node:stream';
import { Counter, createLogger, createMetricsRegistry, ShutdownCoordinator, startHealthServer } from './index';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes JSON with service and string level, and redacts content fields', () => {
    const out = capture();
    const log = createLogger({ service: 'test', destination: out.stream });
    log.info({ text: 'hello there', msg: { text: 'x' }, contentId: 'c1' }, 'message received');
    const [line] = out.lines();
    expect(line).toMatchObject({ service: 'test', level: 'info', msg: 'message received', contentId: 'c1', text: '[redacted]' });
    expect(JSON.stringify(line)).not.toContain('hello there');
  });
});

describe('health server', () => {
  it('serves healthz, readyz with checks, metrics, and turns unready on shutdown', async () => {
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    const counter = new Counter({ name: 'safeguard_test_events_total', help: 'events', registers: [registry] });
    counter.inc();
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', registry });
    let joined = false;
    server.addReadinessCheck({ name: 'consumer_joined', check: () => joined });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'not_ready', failing: ['consumer_joined'] });
      joined = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('safeguard_test_events_total{service="test"} 1');
      server.markShuttingDown();
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('shutdown coordinator', () => {
  it('runs every step in order even when one fails, once', async () => {
    const order: string[] = [];
    const sd = new ShutdownCoordinator();
    sd.add('a', () => {
      order.push('a');
    });
    sd.add('b', () => {
      order.push('b');
      throw new Error('boom');
    });
    sd.add('c', async () => {
      order.push('c');
    });
    const [r1, r2] = await Promise.all([sd.shutdown(), sd.shutdown()]);
    expect(r1).toBe(r2);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(r1.map((r) => r.ok)).toEqual([true, false, true]);
  });

  it('bounds the whole sequence by the timeout', async () => {
    const sd = new ShutdownCoordinator({ timeoutMs: 50 });
    let ranAfter = false;
    sd.add('hang', () => new Promise<void>(() => undefined));
    sd.add('after', () => {
      ranAfter = true;
    });
    const results = await sd.shutdown();
    expect(results[0]?.ok).toBe(false);
    expect(ranAfter).toBe(true);
  });
});
