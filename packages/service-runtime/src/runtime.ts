import { createTransport, type InProcessBroker, type Transport } from '@safeguard/kafka';
import {
  createLogger,
  createMetricsRegistry,
  HealthServer,
  type Logger,
  type Registry,
  ShutdownCoordinator,
  type ShutdownStepResult,
  startHealthServer,
} from '@safeguard/observability';
import type { CommonConfig } from './config';

/** Options of {@link ServiceRuntime.start}. */
export interface RuntimeOptions {
  /** Service name: logger `service` field, metrics `service` label, Kafka client id and consumer group. */
  service: string;
  common: CommonConfig;
  /** Use this logger instead of a new one (the embedded demo shares one). */
  logger?: Logger;
  /** Use this registry instead of a new one (the embedded demo shares one). */
  registry?: Registry;
  /** With the in-process transport: the broker to join (the demo connects every service to one). */
  inProcessBroker?: InProcessBroker;
  /** Use this transport instead of creating one (tests). It is closed at shutdown. */
  transport?: Transport;
  /** Start the /metrics /healthz /readyz server (default true; the demo serves one for all). */
  healthServer?: boolean;
}

/**
 * What a running service is made of, built once by its composition root. Why a class: every
 * service needs the same logger, metrics registry, transport, management server and shutdown
 * order (mark unready → service steps → close transport → close the management server), and
 * writing that five times is how one of them forgets a step.
 */
export class ServiceRuntime {
  readonly shutdown: ShutdownCoordinator;

  private constructor(
    readonly service: string,
    readonly logger: Logger,
    readonly registry: Registry,
    readonly transport: Transport,
    readonly health: HealthServer | undefined,
    timeoutMs: number,
    /** Prefix of every topic name and consumer group of this deployment. */
    readonly topicPrefix: string,
  ) {
    this.shutdown = new ShutdownCoordinator({
      timeoutMs,
      onStep: (r) =>
        r.ok
          ? logger.info({ step: r.name, durationMs: r.durationMs }, 'shutdown step done')
          : logger.error({ step: r.name, durationMs: r.durationMs, err: r.error }, 'shutdown step failed'),
    });
    this.shutdown.add('mark_unready', () => health?.markShuttingDown());
  }

  /** Builds the runtime: logger, registry, transport and (unless disabled) the management server. */
  static async start(options: RuntimeOptions): Promise<ServiceRuntime> {
    const { common, service } = options;
    const logger = options.logger ?? createLogger({ service, level: common.logLevel });
    const registry = options.registry ?? createMetricsRegistry({ service });
    const transport =
      options.transport ??
      (common.transport === 'in-process'
        ? createTransport({ kind: 'in-process', broker: options.inProcessBroker, clientId: service, logger, metricsRegistry: registry })
        : createTransport({
            kind: 'kafka',
            brokers: common.kafkaBrokers,
            clientId: service,
            schemaRegistryUrl: common.schemaRegistryUrl ?? '',
            logger,
            metricsRegistry: registry,
          }));
    const health = options.healthServer === false ? undefined : await startHealthServer({ port: common.metricsPort, registry });
    return new ServiceRuntime(service, logger, registry, transport, health, common.shutdownTimeoutMs, common.topicPrefix);
  }

  /** The binding with this deployment's topic prefix applied (see `SAFEGUARD_TOPIC_PREFIX`). */
  topic<B extends { readonly topic: string }>(binding: B): B {
    return this.topicPrefix === '' ? binding : { ...binding, topic: `${this.topicPrefix}${binding.topic}` };
  }

  /** The consumer group of this service: the service name, with the topic prefix. */
  get groupId(): string {
    return `${this.topicPrefix}${this.service}`;
  }

  /** Adds a readiness condition to `/readyz` (no-op without a management server). */
  addReadinessCheck(name: string, check: () => boolean | Promise<boolean>): void {
    this.health?.addReadinessCheck({ name, check });
  }

  /**
   * Runs the orderly shutdown: readiness turns false first, then the service's own steps in the
   * order they were added, then the transport and the management server. Idempotent.
   */
  stop(): Promise<ShutdownStepResult[]> {
    if (!this.shutdown.started) {
      this.shutdown.add('close_transport', () => this.transport.close());
      this.shutdown.add('close_health_server', () => this.health?.close());
    }
    return this.shutdown.shutdown();
  }
}
