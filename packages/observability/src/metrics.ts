import { Registry, collectDefaultMetrics } from 'prom-client';

/** Prefix of every metric Safeguard owns (process and Node.js default metrics keep their standard names). */
export const METRIC_PREFIX = 'safeguard_';

/** Options for {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Service name, added as the constant label `service` on every series. */
  service: string;
  /** Collect prom-client's default process and Node.js metrics. Default true. */
  defaultMetrics?: boolean;
}

/**
 * Creates the one Prometheus registry of a process. Services declare their metrics against it
 * once (in their `metrics.ts`). Labels must come from closed sets: never ids, hashes or text.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

export { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
