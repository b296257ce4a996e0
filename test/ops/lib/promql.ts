import { declaredMetrics, exposedSeriesNames } from './metric-catalog';

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, keywords,
 * label names (inside `{}` or grouping clauses), durations or Grafana variables. Good enough for
 * the expressions of our rules and dashboard; not a full PromQL parser.
 */
export function metricNamesIn(expr: string): string[] {
  let text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\$\{?\w+(?::\w+)?\}?/g, ' ') // Grafana variables ($__rate_interval, ${namespace})
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping labels
  text = text.replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' ');
  const names = new Set<string>();
  for (const m of text.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

/**
 * Series names the code exposes (every declared family with its histogram suffixes), plus the
 * recording rules of alerts.yml and the few metrics from outside our code the rules may use.
 */
export function knownSeriesNames(extra: Iterable<string> = []): Set<string> {
  const known = new Set<string>(extra);
  for (const metric of declaredMetrics().values()) for (const name of exposedSeriesNames(metric)) known.add(name);
  return known;
}

/** Metrics that come from Prometheus itself or kube-state-metrics, not from our code. */
export const EXTERNAL_METRICS = ['up', 'kube_pod_status_ready'];
