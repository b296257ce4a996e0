import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metric } from 'prom-client';

/**
 * Outcomes counted by `safeguard_messages_consumed_total`, one per handling attempt:
 * `ok` handled; `retried` failed and will be retried; `dead_lettered` sent to `<topic>.dlq`;
 * `paused` capacity error, the partition pauses and the message comes again; `skipped` a reader
 * skipped an invalid record.
 */
export type ConsumeOutcome = 'ok' | 'retried' | 'dead_lettered' | 'paused' | 'skipped';

/** Names of the metrics the transport owns. */
export const TransportMetricNames = {
  consumed: 'safeguard_messages_consumed_total',
  processingSeconds: 'safeguard_message_processing_seconds',
  lag: 'safeguard_consumer_lag',
  deadLetters: 'safeguard_dead_letters_total',
  produced: 'safeguard_messages_produced_total',
} as const;

/**
 * The standard consumer and producer metrics, declared once per registry. Why here: every service
 * consumes through this package, so every service gets the same series without declaring them.
 * Labels are topics, partitions, outcomes and reason codes only (closed sets).
 */
export class TransportMetrics {
  readonly consumed: Counter<'topic' | 'outcome'>;
  readonly processingSeconds: Histogram<'topic'>;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly deadLetters: Counter<'topic' | 'reason'>;
  readonly produced: Counter<'topic'>;

  /** @param registry - where to register; a private registry when omitted (metrics then go nowhere). */
  constructor(registry: Registry = new Registry()) {
    this.consumed = reuse(registry, TransportMetricNames.consumed, () => new Counter({
      name: TransportMetricNames.consumed,
      help: 'Message handling attempts by topic and outcome (ok, retried, dead_lettered, paused, skipped).',
      labelNames: ['topic', 'outcome'] as const,
      registers: [registry],
    }));
    this.processingSeconds = reuse(registry, TransportMetricNames.processingSeconds, () => new Histogram({
      name: TransportMetricNames.processingSeconds,
      help: 'Time from handing a message to its handler until the handler settled, seconds, per attempt.',
      labelNames: ['topic'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }));
    this.lag = reuse(registry, TransportMetricNames.lag, () => new Gauge({
      name: TransportMetricNames.lag,
      help: 'Records between the consumer position and the high watermark, per assigned partition.',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }));
    this.deadLetters = reuse(registry, TransportMetricNames.deadLetters, () => new Counter({
      name: TransportMetricNames.deadLetters,
      help: 'Records written to <topic>.dlq, by source topic and reason code.',
      labelNames: ['topic', 'reason'] as const,
      registers: [registry],
    }));
    this.produced = reuse(registry, TransportMetricNames.produced, () => new Counter({
      name: TransportMetricNames.produced,
      help: 'Records acknowledged by the broker, by topic.',
      labelNames: ['topic'] as const,
      registers: [registry],
    }));
  }
}

/** Returns the metric already registered under `name` (a second transport on the same registry) or creates it. */
function reuse<T extends Metric>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
