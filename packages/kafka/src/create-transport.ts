import type { Registry } from 'prom-client';
import { CoreTransport } from './core/transport';
import { silentLogger } from './core/logger';
import { TransportConfigError } from './errors';
import { InProcessBroker } from './in-process/in-process-broker';
import { InProcessDriver } from './in-process/in-process-driver';
import { KafkaDriver } from './kafka/kafka-driver';
import type { Transport, TransportLogger } from './types';

/** Settings both transports accept. */
export interface CommonTransportConfig {
  /** Client id: the service name. Sent to the broker, written to dead-letter headers. Default `safeguard`. */
  clientId?: string;
  /** Where the transport logs (pino fits). kafkajs lines at warn and above are routed here too. Default: silent. */
  logger?: TransportLogger;
  /** The process's Prometheus registry; the transport registers its metrics on it once. Default: none. */
  metricsRegistry?: Registry;
  /**
   * Register a binding's schema on first send (default true). Turn off where schemas are
   * registered by CI (the send then fails with `serialization_failed` until they are).
   */
  autoRegisterSchemas?: boolean;
}

/** A real Kafka cluster and Confluent-compatible schema registry. */
export interface KafkaTransportConfig extends CommonTransportConfig {
  kind: 'kafka';
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Required here: it names the service to the broker and in dead letters. */
  clientId: string;
  /** Base URL of the Confluent schema registry API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7` (Apicurio). */
  schemaRegistryUrl: string;
  /** Use TLS to the brokers. Default false. */
  ssl?: boolean;
  /** SASL credentials. Default none. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** TCP connect timeout, ms. Default 3000. */
  connectionTimeoutMs?: number;
  /**
   * Request timeout, ms. Default 30000. Also the produce acknowledgement timeout and the longest
   * `ensureTopics` waits for new topics to have leaders.
   */
  requestTimeoutMs?: number;
  /**
   * Longest a fetch waits for new records, ms. Default 500: bounds the latency of `stop()` and of
   * noticing a rebalance, at the cost of about two idle fetches per second per broker.
   */
  fetchMaxWaitMs?: number;
  /**
   * Idempotent producer (default true): broker-side de-duplication of retried sends, with acks=all.
   * kafkajs then serialises produce requests per broker.
   */
  idempotent?: boolean;
}

/** The in-memory broker with the same semantics and the same Avro wire format. */
export interface InProcessTransportConfig extends CommonTransportConfig {
  kind: 'in-process';
  /** The broker to use; share one between transports to connect services. Default: a new one. */
  broker?: InProcessBroker;
}

/** Either transport's configuration. */
export type TransportConfig = KafkaTransportConfig | InProcessTransportConfig;

/** An in-process transport, with access to its broker (compaction, inspection in tests). */
export interface InProcessTransport extends Transport {
  readonly kind: 'in-process';
  readonly broker: InProcessBroker;
}

class InProcessCoreTransport extends CoreTransport implements InProcessTransport {
  declare readonly kind: 'in-process';
  constructor(readonly broker: InProcessBroker, config: InProcessTransportConfig) {
    const logger = config.logger ?? silentLogger;
    const clientId = config.clientId ?? 'safeguard';
    super(new InProcessDriver(broker, clientId, logger), {
      clientId,
      logger,
      metricsRegistry: config.metricsRegistry,
      autoRegisterSchemas: config.autoRegisterSchemas ?? true,
    });
  }
}

/**
 * Creates the transport a process uses for every topic.
 *
 * @example
 * const transport = createTransport({ kind: 'kafka', brokers: ['127.0.0.1:9092'], clientId: 'hasher',
 *   schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7', logger, metricsRegistry });
 * @throws TransportConfigError (`invalid_config`) on a missing broker list, client id or registry URL.
 */
export function createTransport(config: InProcessTransportConfig): InProcessTransport;
export function createTransport(config: KafkaTransportConfig): Transport;
export function createTransport(config: TransportConfig): Transport;
export function createTransport(config: TransportConfig): Transport {
  if (config.kind === 'in-process') return new InProcessCoreTransport(config.broker ?? new InProcessBroker(), config);
  if (config.kind !== 'kafka') throw new TransportConfigError(`unknown transport kind ${(config as { kind?: unknown }).kind}`);
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) throw new TransportConfigError('brokers must list at least one host:port');
  if (!config.clientId) throw new TransportConfigError('clientId is required');
  if (!config.schemaRegistryUrl) throw new TransportConfigError('schemaRegistryUrl is required');
  const logger = config.logger ?? silentLogger;
  const driver = new KafkaDriver({
    brokers: config.brokers,
    clientId: config.clientId,
    schemaRegistryUrl: config.schemaRegistryUrl,
    ssl: config.ssl,
    sasl: config.sasl,
    connectionTimeoutMs: config.connectionTimeoutMs ?? 3_000,
    requestTimeoutMs: config.requestTimeoutMs ?? 30_000,
    fetchMaxWaitMs: config.fetchMaxWaitMs ?? 500,
    idempotent: config.idempotent ?? true,
    logger,
  });
  return new CoreTransport(driver, {
    clientId: config.clientId,
    logger,
    metricsRegistry: config.metricsRegistry,
    autoRegisterSchemas: config.autoRegisterSchemas ?? true,
  });
}
