import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The repository root (this file is test/ops/lib/metric-catalog.ts). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Prometheus metric types as declared with prom-client. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** One metric family declared in the code. */
export interface DeclaredMetric {
  name: string;
  type: MetricType;
  labels: string[];
  /** Histogram bucket count (without +Inf); undefined for other types or prom-client's defaults. */
  buckets: number | undefined;
  help: string;
  /** Declaring file, relative to the repository root. */
  file: string;
}

/**
 * Files that declare metrics: every service's `src/metrics.ts` and the transport's
 * `packages/kafka/src/core/metrics.ts`. Services found by listing `services/`, so a new one is
 * checked as soon as its metrics.ts lands.
 */
export function metricSourceFiles(root = REPO_ROOT): string[] {
  const files = [join(root, 'packages/kafka/src/core/metrics.ts')];
  for (const service of readdirSync(join(root, 'services')).sort()) {
    const file = join(root, 'services', service, 'src/metrics.ts');
    if (existsSync(file)) files.push(file);
  }
  return files;
}

const CONSTRUCTORS: Record<string, MetricType> = { Counter: 'counter', Gauge: 'gauge', Histogram: 'histogram', Summary: 'summary' };

/** The text of the `{ ... }` object starting at `open` (index of its `{`), braces balanced, strings skipped. */
function objectAt(source: string, open: number): string {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < source.length; i++) {
    const c = source[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return source.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces from offset ${open}`);
}

function stringList(text: string | undefined): string[] {
  return text === undefined ? [] : [...text.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]!);
}

/**
 * Reads the metric declarations of one file, statically: `new Counter|Gauge|Histogram|Summary({
 * name: '...', help: '...', labelNames: [...], buckets: [...] })`, names given as constants of
 * an object literal (`TransportMetricNames.consumed`), and small factory helpers of the form
 * `const gauge = (name: string, ...) => new Gauge({ name, ... })` called as `gauge('safeguard_...', ...)`.
 */
export function parseMetricDeclarations(file: string, root = REPO_ROOT): DeclaredMetric[] {
  const source = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  const constants = new Map<string, string>();
  for (const block of source.matchAll(/(?:export\s+)?const\s+(\w+)\s*=\s*\{([^}]*)\}\s*as const/g)) {
    for (const entry of block[2]!.matchAll(/(\w+)\s*:\s*'(safeguard_[a-z0-9_]+)'/g)) constants.set(`${block[1]}.${entry[1]}`, entry[2]!);
  }
  const out: DeclaredMetric[] = [];
  const helpers = new Map<string, { type: MetricType; labels: string[]; buckets: number | undefined }>();
  for (const m of source.matchAll(/new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{/g)) {
    const type = CONSTRUCTORS[m[1]!]!;
    const body = objectAt(source, m.index! + m[0].length - 1);
    const labels = stringList(/labelNames\s*:\s*\[([^\]]*)\]/.exec(body)?.[1]);
    const bucketText = /buckets\s*:\s*\[([^\]]*)\]/.exec(body)?.[1];
    const buckets = bucketText === undefined ? undefined : bucketText.split(',').filter((b) => b.trim() !== '').length;
    const help = /help\s*:\s*'((?:[^'\\]|\\.)*)'/.exec(body)?.[1] ?? '';
    const literal = /name\s*:\s*'(safeguard_[a-z0-9_]+|[^']*)'/.exec(body)?.[1];
    const constant = /name\s*:\s*(\w+\.\w+)/.exec(body)?.[1];
    if (literal !== undefined) out.push({ name: literal, type, labels, buckets, help, file: rel });
    else if (constant !== undefined && constants.has(constant)) out.push({ name: constants.get(constant)!, type, labels, buckets, help, file: rel });
    else if (/[{,]\s*name\s*[,}]/.test(body) || /name\s*:\s*name\b/.test(body)) {
      // A factory: find the arrow function this constructor belongs to.
      const before = source.slice(0, m.index);
      const helper = [...before.matchAll(/const\s+(\w+)\s*=\s*\(\s*name\s*:\s*string/g)].pop()?.[1];
      if (helper) helpers.set(helper, { type, labels, buckets });
    } else {
      throw new Error(`${rel}: cannot read the name of a ${m[1]} declaration`);
    }
  }
  for (const [helper, shape] of helpers) {
    for (const call of source.matchAll(new RegExp(`\\b${helper}\\(\\s*'(safeguard_[a-z0-9_]+)'\\s*,\\s*'((?:[^'\\\\]|\\\\.)*)'`, 'g'))) {
      out.push({ name: call[1]!, ...shape, help: call[2]!, file: rel });
    }
  }
  return out;
}

/** Every metric family declared in the code base, by name. */
export function declaredMetrics(root = REPO_ROOT): Map<string, DeclaredMetric> {
  const all = new Map<string, DeclaredMetric>();
  for (const file of metricSourceFiles(root)) {
    for (const metric of parseMetricDeclarations(file, root)) {
      const seen = all.get(metric.name);
      if (seen) throw new Error(`${metric.name} declared twice: ${seen.file} and ${metric.file}`);
      all.set(metric.name, metric);
    }
  }
  return all;
}

/** Every `'safeguard_…'` string literal of a file: the parser must account for each one. */
export function metricNameLiterals(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/'(safeguard_[a-z0-9_]+)'/g)].map((m) => m[1]!);
}

/**
 * The series names a family exposes: a histogram `x` exposes `x_bucket`, `x_sum`, `x_count`;
 * a summary `x` and `x_sum`, `x_count`; counters and gauges their own name.
 */
export function exposedSeriesNames(metric: DeclaredMetric): string[] {
  if (metric.type === 'histogram') return [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`];
  if (metric.type === 'summary') return [metric.name, `${metric.name}_sum`, `${metric.name}_count`];
  return [metric.name];
}
