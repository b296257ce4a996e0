import { TestkitError } from './errors';

/** Where the broker and registry of an integration run came from (see the global setup). */
export type IntegrationSource = 'env' | 'testcontainers' | 'infra';

/** Environment variable the global setup uses to tell test workers which path it took. */
export const INTEGRATION_SOURCE_VARIABLE = 'SAFEGUARD_TEST_ENV_SOURCE';

/** The real Kafka broker and Confluent-compatible schema registry integration tests talk to. */
export interface IntegrationEnv {
  /** Bootstrap servers, `host:port` each (from `KAFKA_BROKERS`, comma-separated). */
  brokers: string[];
  /** `KAFKA_BROKERS` as given, for tools that take one comma-separated string (kcat `-b`). */
  brokersCsv: string;
  /**
   * Base URL of the Confluent API (`SCHEMA_REGISTRY_URL`), without a trailing slash; for
   * Apicurio this ends in `/apis/ccompat/v7`. Pass it as `host` to Confluent clients.
   */
  registryUrl: string;
  /** Which path provided them, or `unknown` when the variables were set outside the global setup. */
  source: IntegrationSource | 'unknown';
}

/**
 * Reads the integration environment from `KAFKA_BROKERS` and `SCHEMA_REGISTRY_URL`, which the
 * testkit global setup (`@safeguard/testkit/global-setup`) sets for every jest worker.
 *
 * @param env - variables to read; default `process.env`.
 * @throws TestkitError `integration_env_missing` if either variable is unset or empty, with
 *   what to do about it.
 */
export function integrationEnv(env: NodeJS.ProcessEnv = process.env): IntegrationEnv {
  const brokersCsv = env.KAFKA_BROKERS?.trim() ?? '';
  const registryUrl = (env.SCHEMA_REGISTRY_URL?.trim() ?? '').replace(/\/+$/, '');
  const brokers = brokersCsv
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0 || registryUrl.length === 0) {
    throw new TestkitError(
      'integration_env_missing',
      'KAFKA_BROKERS and SCHEMA_REGISTRY_URL are not set. Run integration tests through a jest config ' +
        "whose globalSetup is '@safeguard/testkit/global-setup' (see README \"Infrastructure\"), or " +
        'start the local infrastructure with `npm run infra:up` and `eval "$(bash infra/infra.sh env)"`.',
    );
  }
  const source = env[INTEGRATION_SOURCE_VARIABLE];
  return {
    brokers,
    brokersCsv: brokers.join(','),
    registryUrl,
    source: source === 'env' || source === 'testcontainers' || source === 'infra' ? source : 'unknown',
  };
}
