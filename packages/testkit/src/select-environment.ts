import { TestkitError } from './errors';
import type { IntegrationSource } from './integration-env';

/** Values of `SAFEGUARD_TEST_INFRA`, which forces a path; `auto` (the default) decides as below. */
export type InfraPreference = 'auto' | IntegrationSource;

/** The path the global setup takes and why, for its one-line report. */
export interface IntegrationChoice {
  source: IntegrationSource;
  reason: string;
}

/**
 * Decides where integration tests get Kafka and the registry:
 * 1. `KAFKA_BROKERS` and `SCHEMA_REGISTRY_URL` both set: use them (`env`);
 * 2. else a Docker engine answers: start containers (`testcontainers`);
 * 3. else run `infra/infra.sh up` (`infra`).
 * `SAFEGUARD_TEST_INFRA=env|testcontainers|infra` forces a path.
 *
 * @param dockerAnswers - probe, only called when the decision needs it.
 * @throws TestkitError `invalid_argument` if only one of the two variables is set, the
 *   preference is unknown, or `env` is forced without the variables.
 */
export async function chooseIntegrationPath(env: NodeJS.ProcessEnv, dockerAnswers: () => Promise<boolean>): Promise<IntegrationChoice> {
  const preference = (env.SAFEGUARD_TEST_INFRA?.trim() || 'auto') as InfraPreference;
  if (!['auto', 'env', 'testcontainers', 'infra'].includes(preference)) {
    throw new TestkitError('invalid_argument', `SAFEGUARD_TEST_INFRA must be auto, env, testcontainers or infra, got ${JSON.stringify(preference)}`);
  }
  const hasBrokers = Boolean(env.KAFKA_BROKERS?.trim());
  const hasRegistry = Boolean(env.SCHEMA_REGISTRY_URL?.trim());
  if (hasBrokers !== hasRegistry) {
    throw new TestkitError(
      'invalid_argument',
      `set both KAFKA_BROKERS and SCHEMA_REGISTRY_URL, or neither (only ${hasBrokers ? 'KAFKA_BROKERS' : 'SCHEMA_REGISTRY_URL'} is set)`,
    );
  }
  const given = hasBrokers && hasRegistry;
  switch (preference) {
    case 'env':
      if (!given) throw new TestkitError('invalid_argument', 'SAFEGUARD_TEST_INFRA=env needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL');
      return { source: 'env', reason: 'SAFEGUARD_TEST_INFRA=env' };
    case 'testcontainers':
      return { source: 'testcontainers', reason: 'SAFEGUARD_TEST_INFRA=testcontainers' };
    case 'infra':
      return { source: 'infra', reason: 'SAFEGUARD_TEST_INFRA=infra' };
    default:
      if (given) return { source: 'env', reason: 'KAFKA_BROKERS and SCHEMA_REGISTRY_URL are set' };
      if (await dockerAnswers()) return { source: 'testcontainers', reason: 'a Docker engine answers' };
      return { source: 'infra', reason: 'no KAFKA_BROKERS/SCHEMA_REGISTRY_URL and no Docker engine' };
  }
}
