import { Counter, Gauge, Histogram, type Registry } from '@safeguard/observability';

/** Every metric the ingest service owns (transport metrics come from @safeguard/kafka). */
export interface IngestMetrics {
  /** HTTP requests by route (`content`, `messages`) and outcome (accepted, duplicate, rejected, unauthorized, unavailable). */
  requests: Counter<'route' | 'outcome'>;
  /** HTTP request duration by route. */
  requestSeconds: Histogram<'route'>;
  /** Events by kind (`content`, `message`), channel (`http`, `kafka`) and outcome (accepted, duplicate, rejected). */
  events: Counter<'kind' | 'channel' | 'outcome'>;
  /** Refused inputs by reason code. */
  rejections: Counter<'reason'>;
  /** Size of accepted inline media. */
  inlineBytes: Histogram<string>;
  /** Ids remembered for de-duplication. */
  dedupEntries: Gauge<string>;
}

/** Declares the ingest metrics on `registry`. */
export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    requests: new Counter({
      name: 'safeguard_ingest_requests_total',
      help: 'HTTP gateway requests by route and outcome.',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'safeguard_ingest_request_seconds',
      help: 'HTTP gateway request duration, including publication to Kafka.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    events: new Counter({
      name: 'safeguard_ingest_events_total',
      help: 'Content and chat-message events by channel and outcome.',
      labelNames: ['kind', 'channel', 'outcome'],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'safeguard_ingest_rejections_total',
      help: 'Refused inputs by reason code.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    inlineBytes: new Histogram({
      name: 'safeguard_ingest_inline_bytes',
      help: 'Size of accepted inline media, bytes.',
      buckets: [1024, 8192, 32768, 131072, 262144, 524288, 921600],
      registers: [registry],
    }),
    dedupEntries: new Gauge({
      name: 'safeguard_ingest_dedup_entries',
      help: 'Content and message ids remembered for de-duplication on this replica.',
      registers: [registry],
    }),
  };
}
