// STYLE.md "Metrics", checked on every metric the code declares (services' src/metrics.ts and the
// transport's metrics): names, units, counter suffixes, closed label sets, series per pod.
import { declaredMetrics, metricNameLiterals, metricSourceFiles, parseMetricDeclarations, REPO_ROOT, type DeclaredMetric } from './lib/metric-catalog';
import { relative } from 'node:path';

/** Label names whose values come from closed sets (codes, enums, bounded configuration). */
const CLOSED_SET_LABELS = new Set([
  'topic', // topics a service consumes or produces
  'partition', // partitions of those topics (6 by default)
  'outcome',
  'reason', // error and reason codes
  'algorithm', // pdq, md5, sha1, sha256, vpdq, crypto, video
  'route', // HTTP route patterns, not URLs
  'kind',
  'channel',
  'source',
  'scheme',
  'media_type',
  'stage',
  'state',
  'destination',
  'status', // HTTP status codes
  'task',
  'decision',
  'phase',
  'vote',
  'action',
  'bank', // bank names: configured by the operator, a handful per deployment (STYLE.md: index entries by algorithm and bank)
]);

/** Label names that would carry ids, hashes, content or personal data. */
const FORBIDDEN_LABEL = /(^|_)(id|ids|hash|uri|url|user|account|conversation|message|content|email|ip|text|platform|key)(_|$)/;

/**
 * Worst-case label combinations per pod of every labelled histogram, with where the bound comes
 * from. A histogram exposes (buckets + 3) series per combination (+Inf, _sum, _count), so these
 * decide whether it stays under 100 series. Keyed by name and label names: a new
 * labelled histogram, or a new label on one, must be added here.
 */
const HISTOGRAM_COMBINATIONS: Record<string, number> = {
  'safeguard_message_processing_seconds{topic}': 2, // topics consumed by one service: at most 2 (ingest, matcher, reporter)
  'safeguard_ingest_request_seconds{route}': 2, // routes content, messages
  'safeguard_hasher_hash_seconds{algorithm}': 3, // pdq, crypto, video
  'safeguard_hasher_input_bytes{source}': 4, // inline, file, http, https
  'safeguard_hasher_fetch_seconds{scheme}': 5, // inline, file, http, https, other
  'safeguard_matcher_match_seconds{channel}': 2, // stream, check
  'safeguard_matcher_check_seconds{phase}': 3, // hash, match, total
  'safeguard_reporter_delivery_seconds{destination}': 2, // ncmec, eu_centre
};

/** prom-client's default histogram buckets. */
const DEFAULT_BUCKETS = 11;
const MAX_SERIES = 100;

function histogramSeries(m: DeclaredMetric): number {
  const perCombination = (m.buckets ?? DEFAULT_BUCKETS) + 3;
  return perCombination * (m.labels.length === 0 ? 1 : (HISTOGRAM_COMBINATIONS[`${m.name}{${m.labels.join(',')}}`] ?? Number.POSITIVE_INFINITY));
}

const metrics = [...declaredMetrics().values()];

describe('metric declarations (STYLE.md, Metrics)', () => {
  it('finds the transport metrics and every service that has a metrics.ts', () => {
    const files = metricSourceFiles().map((f) => relative(REPO_ROOT, f));
    expect(files).toEqual(expect.arrayContaining(['packages/kafka/src/core/metrics.ts', 'services/ingest/src/metrics.ts', 'services/hasher/src/metrics.ts', 'services/grooming/src/metrics.ts', 'services/reporter/src/metrics.ts', 'services/matcher/src/metrics.ts']));
    expect(metrics.map((m) => m.name)).toEqual(expect.arrayContaining(['safeguard_messages_consumed_total', 'safeguard_consumer_lag', 'safeguard_dead_letters_total']));
  });

  it.each(metricSourceFiles().map((f) => [relative(REPO_ROOT, f), f]))('reads every declaration of %s (no metric name the parser missed)', (_rel, file) => {
    const parsed = parseMetricDeclarations(file).map((m) => m.name).sort();
    expect(parsed.length).toBeGreaterThan(0);
    expect(parsed).toEqual(expect.arrayContaining([...new Set(metricNameLiterals(file))]));
  });

  it('uses one prefix and snake_case', () => {
    const bad = metrics.filter((m) => !/^safeguard_[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(m.name)).map((m) => m.name);
    expect(bad).toEqual([]);
  });

  it('ends counters in _total, and only counters', () => {
    const bad = metrics.filter((m) => (m.type === 'counter') !== m.name.endsWith('_total')).map((m) => `${m.type} ${m.name}`);
    expect(bad).toEqual([]);
  });

  it('uses base units as suffixes (_seconds, _bytes, _ratio), never ms, minutes, KB or percent', () => {
    const bad: string[] = [];
    for (const m of metrics) {
      const words = m.name.split('_');
      if (words.some((w) => ['ms', 'millis', 'milliseconds', 'us', 'microseconds', 'minutes', 'hours', 'days', 'kb', 'mb', 'gb', 'kib', 'mib', 'percent', 'pct'].includes(w))) bad.push(`${m.name}: not a base unit`);
      const base = m.type === 'counter' ? m.name.replace(/_total$/, '') : m.name;
      for (const unit of ['seconds', 'bytes', 'ratio']) {
        if (words.includes(unit) && !base.endsWith(`_${unit}`)) bad.push(`${m.name}: _${unit} must be the suffix`);
      }
      if (/\bseconds\b/i.test(m.help) && !words.includes('seconds') && m.type !== 'counter') bad.push(`${m.name}: help says seconds, the name lacks _seconds`);
      if (/\bbytes\b/i.test(m.help) && !words.includes('bytes')) bad.push(`${m.name}: help says bytes, the name lacks _bytes`);
      if (/\bfraction\b/i.test(m.help) && !words.includes('ratio')) bad.push(`${m.name}: help says fraction, the name lacks _ratio`);
    }
    expect(bad).toEqual([]);
  });

  it('labels only from closed sets: never ids, hashes, URIs or text', () => {
    const bad: string[] = [];
    for (const m of metrics) {
      for (const label of m.labels) {
        if (FORBIDDEN_LABEL.test(label)) bad.push(`${m.name}{${label}}: may carry ids or personal data`);
        else if (!CLOSED_SET_LABELS.has(label)) bad.push(`${m.name}{${label}}: not a known closed-set label (add it to CLOSED_SET_LABELS with its value set if it is one)`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('keeps every histogram under 100 series per pod (buckets + 3 per label combination)', () => {
    const bad = metrics
      .filter((m) => m.type === 'histogram')
      .map((m) => ({ m, series: histogramSeries(m) }))
      .filter(({ series }) => series >= MAX_SERIES)
      .map(({ m, series }) => `${m.name}{${m.labels.join(',')}}: ${Number.isFinite(series) ? series : 'unbounded (add it to HISTOGRAM_COMBINATIONS)'} series`);
    expect(bad).toEqual([]);
  });

  it('has help text on every metric', () => {
    expect(metrics.filter((m) => m.help.trim().length < 10).map((m) => m.name)).toEqual([]);
  });
});
