// A real Prometheus server (Debian's `prometheus` binary, 127.0.0.1, a free port, a temporary
// config and data directory) scrapes the ingest service, started in-process on the real broker
// with METRICS_PORT=0, and loads ops/prometheus/alerts.yml. Checks, through Prometheus's HTTP API:
// the service's own and the transport's metrics come back, every rule evaluates without error,
// every dashboard expression is valid PromQL, and no metric has 100 series or more.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIngest, ingestConfigSchema, type IngestService } from '@safeguard/ingest';
import { createTransport, type Transport } from '@safeguard/kafka';
import { topics, type ContentSubmitted } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { integrationEnv, uniqueName, waitFor } from '@safeguard/testkit';
import { stringify } from 'yaml';
import { asPrometheusQuery, dashboardExpressions, loadDashboard } from './lib/dashboard';
import { REPO_ROOT } from './lib/metric-catalog';

jest.setTimeout(180_000);

const KEY = 'prometheus-integration-key-'.padEnd(40, 'x');

interface PromResponse<T> {
  status: 'success' | 'error';
  error?: string;
  data: T;
}
type Vector = { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
interface RuleGroups {
  groups: Array<{ name: string; lastEvaluation: string; rules: Array<{ name: string; health: string; lastError?: string; type: string }> }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('a real Prometheus scraping a running service, with the alerting rules loaded', () => {
  let runtime: ServiceRuntime;
  let service: IngestService;
  let admin: Transport;
  let prefix: string;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let base: string;

  async function api<T>(path: string, params: Record<string, string> = {}): Promise<PromResponse<T>> {
    const res = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`);
    return (await res.json()) as PromResponse<T>;
  }

  async function query(expr: string): Promise<Vector['result']> {
    const r = await api<Vector>('/api/v1/query', { query: expr });
    if (r.status !== 'success') throw new Error(`query ${expr}: ${r.error}`);
    return r.data.result;
  }

  beforeAll(async () => {
    const env = integrationEnv();
    prefix = `${uniqueName('prom')}.`;
    const config = ingestConfigSchema.parse({
      KAFKA_BROKERS: env.brokersCsv,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      INGEST_HTTP_PORT: '0',
      METRICS_PORT: '0',
      INGEST_API_KEYS: `platform-prom:${KEY}`,
      LOG_LEVEL: 'warn',
    });
    runtime = await ServiceRuntime.start({ service: 'ingest', common: config.common });
    service = await startIngest(config, runtime);
    admin = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: 'prometheus-it', schemaRegistryUrl: env.registryUrl });

    dir = mkdtempSync(join(tmpdir(), 'safeguard-prometheus-'));
    copyFileSync(join(REPO_ROOT, 'ops/prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['alerts.yml'],
        scrape_configs: [
          {
            job_name: 'ingest',
            static_configs: [{ targets: [`127.0.0.1:${runtime.health!.port}`], labels: { namespace: 'it', pod: 'ingest-0' } }],
          },
        ],
      }),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=1h'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (d: Buffer) => (prometheusLog = (prometheusLog + d.toString('utf8')).slice(-20_000)));
    const exited = new Promise<never>((_, reject) => prometheus!.once('exit', (code) => reject(new Error(`prometheus exited with ${code}:\n${prometheusLog}`))));
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      waitFor(async () => (await fetch(`${base}/-/ready`)).ok, { timeoutMs: 60_000, intervalMs: 250, description: 'Prometheus ready' }),
    ]);
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const done = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
    }
    await runtime?.stop();
    if (admin) {
      const names = (await admin.admin().listTopics()).filter((t) => t.startsWith(prefix));
      await admin.admin().deleteTopics(names);
      await admin.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the service and answers queries about its metrics and the transport metrics', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${service.httpPort}/v1/content`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ contentId: `c-prom-${i}`, contentKind: 'IMAGE', media: { uri: `https://cdn.example/${i}.jpg` } }),
      });
      expect(res.status).toBe(202);
    }
    // Kafka input: one valid record and one the ingest refuses (dead-lettered with its reason).
    const input = runtime.topic(topics.platformContentUploaded);
    const record: ContentSubmitted = {
      eventId: 'pe-prom-1',
      platformId: 'platform-prom',
      contentId: 'k-1',
      uploaderAccountId: null,
      contentKind: 'IMAGE',
      media: { uri: 'https://files.example/k.jpg', inlineBytes: null, mimeType: null, sizeBytes: null },
      uploadContext: null,
      channel: 'kafka',
      submittedAtMs: Date.now(),
    };
    await admin.producer().send(input, [{ value: record }, { value: { ...record, eventId: 'pe-prom-2', contentId: 'k-2', media: { ...record.media, uri: 'ftp://files.example/k.jpg' } } }]);

    const accepted = await waitFor(
      async () => {
        const [sample] = await query('sum(safeguard_ingest_requests_total{job="ingest",route="content",outcome="accepted"})');
        return sample !== undefined && Number(sample.value[1]) === 3 && sample;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'three accepted requests in Prometheus' },
    );
    expect(Number(accepted.value[1])).toBe(3);

    const [up] = await query('up{job="ingest"}');
    expect(up?.metric).toMatchObject({ job: 'ingest', namespace: 'it', pod: 'ingest-0', instance: `127.0.0.1:${runtime.health!.port}` });
    expect(up?.value[1]).toBe('1');

    const deadLettered = await waitFor(
      async () => {
        const rows = await query(`sum by (topic, reason) (safeguard_dead_letters_total{job="ingest"})`);
        return rows.length > 0 && rows;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'the dead letter counted in Prometheus' },
    );
    expect(deadLettered).toEqual([{ metric: { topic: input.topic, reason: expect.stringMatching(/^[a-z_]+$/) }, value: [expect.any(Number), '1'] }]);
    const produced = await query(`sum by (topic) (safeguard_messages_produced_total{job="ingest", topic="${prefix}${topics.contentSubmitted.topic}"})`);
    expect(Number(produced[0]?.value[1])).toBeGreaterThanOrEqual(4);
    // Lag is set per partition as records are fetched and for every assigned partition on each refresh (15 s).
    const lag = await waitFor(
      async () => {
        const [sample] = await query(`count(safeguard_consumer_lag{job="ingest", topic="${input.topic}"})`);
        return sample !== undefined && Number(sample.value[1]) === topics.platformContentUploaded.partitions && sample;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'a consumer lag series for every input partition' },
    );
    expect(lag.metric).toEqual({});
    // Every series carries the service label set by the registry.
    const services = await query('count by (service) ({job="ingest", __name__=~"safeguard_.+"})');
    expect(services.map((s) => s.metric.service)).toEqual(['ingest']);
  });

  it('evaluates every alerting and recording rule without errors', async () => {
    const groups = await waitFor(
      async () => {
        const r = await api<RuleGroups>('/api/v1/rules');
        const all = r.data.groups;
        return all.length > 0 && all.every((g) => !g.lastEvaluation.startsWith('0001-') && g.rules.every((rule) => rule.health !== 'unknown')) && all;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'every rule group evaluated once' },
    );
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(20);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  });

  it('accepts every dashboard expression as valid PromQL', async () => {
    const failures: string[] = [];
    for (const { where, expr } of dashboardExpressions(loadDashboard())) {
      const r = await api<unknown>('/api/v1/query', { query: asPrometheusQuery(expr) });
      if (r.status !== 'success') failures.push(`${where}: ${r.error}`);
    }
    expect(failures).toEqual([]);
  });

  it('keeps every metric of the scraped service under 100 series', async () => {
    const counts = await query('count by (__name__) ({job="ingest", __name__=~"safeguard_.+"})');
    expect(counts.length).toBeGreaterThan(5);
    expect(counts.filter((c) => Number(c.value[1]) >= 100).map((c) => `${c.metric.__name__}: ${c.value[1]}`)).toEqual([]);
  });
});
