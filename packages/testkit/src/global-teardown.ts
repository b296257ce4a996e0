import { TESTCONTAINERS_HANDLE } from './global-setup';
import type { StartedTestcontainers } from './testcontainers-env';

/**
 * Jest `globalTeardown` (`@safeguard/testkit/global-teardown`): stops the containers the global
 * setup started. A broker started by `infra/infra.sh` keeps running, because several jest
 * processes share it; `scripts/test-all.sh` (or `npm run infra:down`) stops it.
 */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { [TESTCONTAINERS_HANDLE]?: StartedTestcontainers };
  const started = holder[TESTCONTAINERS_HANDLE];
  if (started) {
    delete holder[TESTCONTAINERS_HANDLE];
    await started.stop();
  }
}
