import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './metric-catalog';

/** A Grafana panel as far as the checks need it. */
export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Array<{ refId: string; expr: string; legendFormat?: string; datasource?: { type: string; uid: string } }>;
}

/** The dashboard JSON (ops/grafana/safeguard.json). */
export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string }; definition?: string }> };
}

export const DASHBOARD_FILE = join(REPO_ROOT, 'ops/grafana/safeguard.json');

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard: panel targets and query variables. */
export function dashboardExpressions(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of dashboard.panels) for (const t of p.targets ?? []) out.push({ where: `${p.title} [${t.refId}]`, expr: t.expr });
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    const inner = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
    out.push({ where: `variable ${v.name}`, expr: inner ?? query });
  }
  return out;
}

/**
 * An expression as Prometheus would receive it from Grafana, for a namespace filter matching
 * everything and a fixed rate interval.
 */
export function asPrometheusQuery(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', '.*').replaceAll('${namespace}', '.*');
}
