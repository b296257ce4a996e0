// The Grafana dashboard (ops/grafana/safeguard.json): structure Grafana needs, and every PromQL
// metric name declared in the code (src/metrics.ts of the services, the transport's metrics), so
// a renamed metric breaks this test instead of a panel. The integration test
// (prometheus-scrape.int.test.ts) also runs every expression through a real Prometheus.
import { declaredMetrics } from './lib/metric-catalog';
import { dashboardExpressions, loadDashboard } from './lib/dashboard';
import { knownSeriesNames, metricNamesIn } from './lib/promql';

const dashboard = loadDashboard();
const panels = dashboard.panels.filter((p) => p.type !== 'row');

describe('Grafana dashboard (ops/grafana/safeguard.json)', () => {
  it('has a title, a stable uid, a schema version and the datasource and namespace variables', () => {
    expect(dashboard).toMatchObject({ title: 'Safeguard pipeline', uid: 'safeguard-pipeline' });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
    ]);
  });

  it('gives every panel a unique id, a grid position inside 24 columns, no overlap, and a description', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect([p.title, x >= 0 && w > 0 && x + w <= 24 && h > 0]).toEqual([p.title, true]);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect([p.title, cells.has(cell)]).toEqual([p.title, false]);
          cells.add(cell);
        }
      }
    }
    expect(panels.filter((p) => (p.description ?? '').length < 20).map((p) => p.title)).toEqual([]);
  });

  it('queries Prometheus through the datasource variable, with unique refIds and a namespace filter', () => {
    for (const p of panels) {
      expect([p.title, p.datasource]).toEqual([p.title, { type: 'prometheus', uid: '${datasource}' }]);
      const targets = p.targets ?? [];
      expect([p.title, targets.length > 0]).toEqual([p.title, true]);
      expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
      for (const t of targets) expect([p.title, t.expr]).toEqual([p.title, expect.stringContaining('namespace=~"$namespace"')]);
    }
  });

  it('uses only metric names the code declares (up aside)', () => {
    const known = knownSeriesNames(['up']);
    const unknown = dashboardExpressions(dashboard).flatMap(({ where, expr }) => metricNamesIn(expr).filter((n) => !known.has(n)).map((n) => `${where}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it('shows what operators need: throughput, lag, dead letters, latency, hasher pool, matcher index, matches, grooming alerts, reporter backlog and deliveries', () => {
    const used = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => metricNamesIn(expr)));
    const required = [
      'safeguard_messages_consumed_total',
      'safeguard_messages_produced_total',
      'safeguard_consumer_lag',
      'safeguard_dead_letters_total',
      'safeguard_message_processing_seconds_bucket',
      'safeguard_hasher_pool_utilization_ratio',
      'safeguard_hasher_pool_busy_seconds_total',
      'safeguard_hasher_pool_queue_depth',
      'safeguard_matcher_index_entries',
      'safeguard_matcher_index_age_seconds',
      'safeguard_matcher_matches_total',
      'safeguard_grooming_alerts_total',
      'safeguard_reporter_review_backlog_age_seconds',
      'safeguard_reporter_outbox_reports',
      'safeguard_reporter_reports_total',
    ];
    const declared = new Set([...declaredMetrics().keys()].flatMap((n) => [n, `${n}_bucket`]));
    expect(required.filter((n) => !declared.has(n))).toEqual([]);
    expect(required.filter((n) => !used.has(n))).toEqual([]);
  });

  it('labels durations in seconds and ratios as percent units', () => {
    for (const p of panels) {
      const names = (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr));
      const unit = p.fieldConfig?.defaults?.unit;
      if (names.length > 0 && names.every((n) => /_seconds(_bucket)?$/.test(n))) expect([p.title, unit]).toEqual([p.title, 's']);
      if (names.some((n) => n.endsWith('_ratio'))) expect([p.title, unit]).toEqual([p.title, 'percentunit']);
    }
  });
});
