/** Summary of a sample of latencies, ms. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** The `q`-quantile (0..1) of sorted values, nearest-rank; null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** p50/p90/p95/p99/max of `values` (any order). */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : null,
  };
}

/**
 * Throughput of a burst from its completion times (epoch ms): (n − 1) / (last − first), per
 * second. Measuring between the first and the last completion leaves start-up (consumer join,
 * pool warm-up) out of both sides of a comparison.
 */
export function burstRate(completedAtMs: readonly number[]): number | null {
  if (completedAtMs.length < 2) return null;
  let first = Infinity;
  let last = -Infinity;
  for (const t of completedAtMs) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return last > first ? ((completedAtMs.length - 1) * 1000) / (last - first) : null;
}

/** Least-squares slope of `y` over `x` (units of y per unit of x); null with fewer than 2 points. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}
