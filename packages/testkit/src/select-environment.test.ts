import { chooseIntegrationPath } from './select-environment';

const docker = (answers: boolean) => {
  const probe = jest.fn(async () => answers);
  return probe;
};

describe('chooseIntegrationPath', () => {
  const given = { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7' };

  it('uses given endpoints without probing Docker', async () => {
    const probe = docker(true);
    await expect(chooseIntegrationPath(given, probe)).resolves.toMatchObject({ source: 'env' });
    expect(probe).not.toHaveBeenCalled();
  });

  it('prefers Testcontainers when Docker answers and nothing is given', async () => {
    await expect(chooseIntegrationPath({}, docker(true))).resolves.toMatchObject({ source: 'testcontainers' });
  });

  it('falls back to infra/infra.sh without Docker', async () => {
    await expect(chooseIntegrationPath({}, docker(false))).resolves.toMatchObject({ source: 'infra' });
  });

  it('honours SAFEGUARD_TEST_INFRA over everything else', async () => {
    await expect(chooseIntegrationPath({ ...given, SAFEGUARD_TEST_INFRA: 'infra' }, docker(true))).resolves.toMatchObject({ source: 'infra' });
    await expect(chooseIntegrationPath({ SAFEGUARD_TEST_INFRA: 'testcontainers' }, docker(false))).resolves.toMatchObject({ source: 'testcontainers' });
  });

  it('refuses half a configuration', async () => {
    await expect(chooseIntegrationPath({ KAFKA_BROKERS: 'x:1' }, docker(false))).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('refuses a forced env path without the variables, and unknown preferences', async () => {
    await expect(chooseIntegrationPath({ SAFEGUARD_TEST_INFRA: 'env' }, docker(false))).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(chooseIntegrationPath({ SAFEGUARD_TEST_INFRA: 'docker' }, docker(false))).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
