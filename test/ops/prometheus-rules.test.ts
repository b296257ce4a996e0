// The alerting rules: `promtool check rules`, `promtool test rules` (Debian's prometheus package,
// installed by infra/install-system-deps.sh), every alert tested, every metric a rule reads
// declared in the code, and the scrape configuration consistent with what the rules expect.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './lib/metric-catalog';
import { EXTERNAL_METRICS, knownSeriesNames, metricNamesIn } from './lib/promql';

const run = promisify(execFile);
const DIR = join(REPO_ROOT, 'ops/prometheus');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface RuleTestFile {
  rule_files: string[];
  tests: Array<{ name?: string; alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

const rules = (parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);
const records = rules.filter((r) => r.record !== undefined).map((r) => r.record!);

async function promtool(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd, timeout: 60_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('promtool not found: install Debian\'s prometheus package (bash infra/install-system-deps.sh)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

describe('Prometheus rules (ops/prometheus)', () => {
  jest.setTimeout(60_000);

  it('pass promtool check rules', async () => {
    const out = await promtool(['check', 'rules', 'alerts.yml'], DIR);
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const out = await promtool(['test', 'rules', 'alerts.test.yml'], DIR);
    expect(out).toContain('SUCCESS');
  });

  it('a broken expectation makes promtool test rules fail (the runner sees failures)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'safeguard-rules-'));
    try {
      copyFileSync(join(DIR, 'alerts.yml'), join(dir, 'alerts.yml'));
      const tests = parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as RuleTestFile;
      const first = tests.tests.find((t) => t.alert_rule_test?.some((a) => a.exp_alerts.length > 0))!;
      for (const a of first.alert_rule_test!) a.exp_alerts = [];
      writeFileSync(join(dir, 'broken.test.yml'), stringify({ ...tests, tests: [first] }));
      await expect(promtool(['test', 'rules', 'broken.test.yml'], dir)).rejects.toThrow(/FAILED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cover the alerts the runbook promises', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'SafeguardServiceDown',
        'SafeguardTargetDown',
        'SafeguardPodNotReady',
        'SafeguardConsumerLagGrowing',
        'SafeguardDeadLetterRate',
        'SafeguardMatcherIndexStale',
        'SafeguardMatcherIndexNotReady',
        'SafeguardReportDeliveryFailed',
        'SafeguardReviewBacklogOld',
        'SafeguardFloodQuarantine',
      ]),
    );
  });

  it('test every alert firing at least once', () => {
    const tests = parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as RuleTestFile;
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const fired = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    expect(alerts.map((a) => a.alert).filter((name) => !fired.has(name!))).toEqual([]);
  });

  it('give every alert a severity, a summary and a description', () => {
    const bad = alerts.filter((a) => !['warning', 'critical'].includes(a.labels?.severity ?? '') || !a.annotations?.summary || !a.annotations?.description).map((a) => a.alert);
    expect(bad).toEqual([]);
  });

  it('read only metrics the code declares (or up, kube-state-metrics and their own recording rules)', () => {
    const known = knownSeriesNames([...EXTERNAL_METRICS, ...records]);
    const unknown = rules.flatMap((r) => metricNamesIn(r.expr).filter((n) => !known.has(n)).map((n) => `${r.alert ?? r.record}: ${n}`));
    expect(unknown).toEqual([]);
    // The extraction itself finds names (a parser that finds nothing would pass the check above).
    expect(metricNamesIn(rules.find((r) => r.alert === 'SafeguardDeadLetterRate')!.expr).sort()).toEqual(['safeguard:dead_letters:rate10m', 'safeguard:messages_consumed:rate10m']);
    expect(metricNamesIn('sum by (job) (rate(safeguard_nope_total{reason="x"}[5m])) / on(job) group_left up')).toEqual(['safeguard_nope_total', 'up']);
  });

  it('the scrape config sets the labels the rules use (job = service, namespace, pod) and passes promtool check config', async () => {
    const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; kubernetes_sd_configs?: unknown; static_configs?: unknown; relabel_configs: Array<Record<string, unknown>> }>;
    };
    const [job] = config.scrape_configs;
    const targets = Object.fromEntries(job!.relabel_configs.filter((r) => r.target_label).map((r) => [r.target_label, (r.source_labels as string[])[0]]));
    expect(targets).toEqual({
      job: '__meta_kubernetes_pod_label_app_kubernetes_io_name',
      namespace: '__meta_kubernetes_namespace',
      pod: '__meta_kubernetes_pod_name',
    });
    // Debian's Prometheus is built without Kubernetes service discovery: check the rest of the
    // file with a static target in its place.
    const dir = mkdtempSync(join(tmpdir(), 'safeguard-promcfg-'));
    try {
      copyFileSync(join(DIR, 'alerts.yml'), join(dir, 'alerts.yml'));
      const { kubernetes_sd_configs: _sd, ...rest } = job!;
      writeFileSync(join(dir, 'prometheus.yml'), stringify({ ...config, scrape_configs: [{ ...rest, static_configs: [{ targets: ['127.0.0.1:9464'] }] }] }));
      const out = await promtool(['check', 'config', 'prometheus.yml'], dir);
      expect(out).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
