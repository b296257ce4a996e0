import { TestkitError, errorMessage } from './errors';

/** Default images for the Docker path (Kafka 3.9 in Confluent's packaging, which @testcontainers/kafka drives). */
export const DEFAULT_TESTCONTAINERS_IMAGES = {
  kafka: 'confluentinc/cp-kafka:7.9.0',
  registry: 'apicurio/apicurio-registry:3.3.3',
} as const;

/** A broker and registry running in containers, and how to stop them. */
export interface StartedTestcontainers {
  brokers: string;
  registryUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts Kafka (KRaft) and Apicurio Registry with Testcontainers. `testcontainers` and
 * `@testcontainers/kafka` are loaded here, by dynamic import, so machines without Docker never
 * load them. Broker settings mirror infra/infra.sh (no topic auto-creation, replication 1,
 * no initial rebalance delay); the registry is set to BACKWARD compatibility over its Confluent
 * API. Images: `SAFEGUARD_TC_KAFKA_IMAGE`, `SAFEGUARD_TC_REGISTRY_IMAGE`, defaults
 * {@link DEFAULT_TESTCONTAINERS_IMAGES}.
 *
 * @throws TestkitError `testcontainers_failed` if a container does not start or the registry refuses its config.
 */
export async function startTestcontainers(env: NodeJS.ProcessEnv = process.env): Promise<StartedTestcontainers> {
  const kafkaImage = env.SAFEGUARD_TC_KAFKA_IMAGE || DEFAULT_TESTCONTAINERS_IMAGES.kafka;
  const registryImage = env.SAFEGUARD_TC_REGISTRY_IMAGE || DEFAULT_TESTCONTAINERS_IMAGES.registry;
  let tc: typeof import('testcontainers');
  let kafkaModule: typeof import('@testcontainers/kafka');
  try {
    tc = await import('testcontainers');
    kafkaModule = await import('@testcontainers/kafka');
  } catch (err) {
    throw new TestkitError('testcontainers_failed', `cannot load testcontainers (npm install in the repository root): ${errorMessage(err)}`, { cause: err });
  }
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const kafka = await new kafkaModule.KafkaContainer(kafkaImage)
      .withKraft()
      .withEnvironment({
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
        KAFKA_MIN_INSYNC_REPLICAS: '1',
        KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
        KAFKA_LOG_CLEANER_BACKOFF_MS: '1000',
        KAFKA_LOG_CLEANER_MIN_CLEANABLE_RATIO: '0.1',
      })
      .start();
    stops.push(() => kafka.stop());
    const brokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;

    const registry = await new tc.GenericContainer(registryImage)
      .withExposedPorts(8080)
      .withEnvironment({ APICURIO_CCOMPAT_LEGACY_ID_MODE_ENABLED: 'false' })
      .withWaitStrategy(tc.Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
      .withStartupTimeout(180_000)
      .start();
    stops.push(() => registry.stop());
    const registryUrl = `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
    const res = await fetch(`${registryUrl}/config`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    if (!res.ok) throw new Error(`PUT ${registryUrl}/config answered ${res.status}: ${await res.text()}`);
    return { brokers, registryUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    if (err instanceof TestkitError) throw err;
    throw new TestkitError('testcontainers_failed', `Testcontainers could not start Kafka (${kafkaImage}) and the registry (${registryImage}): ${errorMessage(err)}`, {
      cause: err,
    });
  }
}
