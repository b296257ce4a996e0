import type { Config } from 'jest';

/** Options of {@link withIntegrationProject}. */
export interface IntegrationProjectOptions {
  /** Integration test files; default `<rootDir>/test/**\/*.int.test.ts`. */
  integrationMatch?: string[];
}

/**
 * Splits a package's jest config into two projects: `unit` (everything but `*.int.test.ts`)
 * and `integration` (`test/**\/*.int.test.ts`, with the testkit global setup and teardown).
 * Jest runs a project's global setup only when one of its tests is selected, so
 * `npx jest src/foo.test.ts` never starts a broker. In a package's `jest.config.js`:
 *
 * ```js
 * module.exports = require('@safeguard/testkit/jest-config').withIntegrationProject(require('../../jest.preset.js'));
 * ```
 */
export function withIntegrationProject(preset: Config, options: IntegrationProjectOptions = {}): Config {
  const integrationMatch = options.integrationMatch ?? ['<rootDir>/test/**/*.int.test.ts'];
  const ignore = preset.testPathIgnorePatterns ?? ['/node_modules/', '/dist/'];
  return {
    projects: [
      { ...preset, displayName: 'unit', testPathIgnorePatterns: [...ignore, '\\.int\\.test\\.ts$'] },
      {
        ...preset,
        displayName: 'integration',
        testMatch: integrationMatch,
        testPathIgnorePatterns: ignore,
        globalSetup: require.resolve('./global-setup'),
        globalTeardown: require.resolve('./global-teardown'),
      },
    ],
  };
}
