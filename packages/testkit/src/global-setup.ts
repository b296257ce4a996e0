import { Socket } from 'node:net';
import { dockerEngineAnswers } from './docker-probe';
import { TestkitError, errorMessage } from './errors';
import { parseExports, runInfraScript } from './infra-script';
import { INTEGRATION_SOURCE_VARIABLE } from './integration-env';
import { chooseIntegrationPath } from './select-environment';
import { startTestcontainers, type StartedTestcontainers } from './testcontainers-env';

/** Where the global setup leaves started containers for the teardown (same process). */
export const TESTCONTAINERS_HANDLE = Symbol.for('safeguard.testkit.testcontainers');

type HandleHolder = { [TESTCONTAINERS_HANDLE]?: StartedTestcontainers };

/**
 * Jest `globalSetup` (`@safeguard/testkit/global-setup`): picks the integration environment
 * (see {@link chooseIntegrationPath}: given variables, else Testcontainers when Docker answers,
 * else `infra/infra.sh up`), exports `KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL` and
 * `SAFEGUARD_TEST_ENV_SOURCE` to the test workers, and prints one line naming the path taken.
 *
 * @throws TestkitError `integration_env_unreachable` if given endpoints do not answer,
 *   `infra_script_failed` / `testcontainers_failed` if starting fails.
 */
export default async function globalSetup(): Promise<void> {
  const env = process.env;
  const choice = await chooseIntegrationPath(env, () => dockerEngineAnswers(env));
  let brokers: string;
  let registryUrl: string;
  let detail = '';
  if (choice.source === 'env') {
    brokers = (env.KAFKA_BROKERS ?? '').trim();
    registryUrl = (env.SCHEMA_REGISTRY_URL ?? '').trim().replace(/\/+$/, '');
    await checkReachable(brokers, registryUrl);
  } else if (choice.source === 'testcontainers') {
    const started = await startTestcontainers(env);
    (globalThis as HandleHolder)[TESTCONTAINERS_HANDLE] = started;
    brokers = started.brokers;
    registryUrl = started.registryUrl;
  } else {
    await runInfraScript('up', env);
    const vars = parseExports(await runInfraScript('env', env));
    brokers = vars.KAFKA_BROKERS ?? '';
    registryUrl = vars.SCHEMA_REGISTRY_URL ?? '';
    const status = await runInfraScript('status', env).catch(() => '');
    const version = /kafka\s+up\s+\S+\s+version\s+(\S+)/.exec(status)?.[1];
    detail = version ? `, Kafka ${version} and Apicurio started by infra/infra.sh` : ', started by infra/infra.sh';
  }
  env.KAFKA_BROKERS = brokers;
  env.SCHEMA_REGISTRY_URL = registryUrl;
  env[INTEGRATION_SOURCE_VARIABLE] = choice.source;
  process.stdout.write(
    `\n[testkit] integration environment: ${choice.source} (${choice.reason}${detail}): KAFKA_BROKERS=${brokers} SCHEMA_REGISTRY_URL=${registryUrl}\n`,
  );
}

async function checkReachable(brokers: string, registryUrl: string): Promise<void> {
  const first = brokers.split(',')[0]?.trim() ?? '';
  const at = first.lastIndexOf(':');
  const host = first.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(first.slice(at + 1));
  const brokerOk = at > 0 && Number.isInteger(port) && (await tcpConnects(host, port, 5_000));
  if (!brokerOk) {
    throw new TestkitError('integration_env_unreachable', `KAFKA_BROKERS=${brokers}: nothing accepts connections at ${first} (is the broker running?)`);
  }
  try {
    const res = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`GET ${registryUrl}/subjects answered ${res.status}`);
  } catch (err) {
    throw new TestkitError(
      'integration_env_unreachable',
      `SCHEMA_REGISTRY_URL=${registryUrl} does not answer the Confluent API (for Apicurio it ends in /apis/ccompat/v7): ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

function tcpConnects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}
