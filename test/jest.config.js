// Two projects, like every package: `unit` (no broker) and `integration` (`*.int.test.ts`, with the
// testkit global setup that provides the real broker and registry). Tests live in folders by area
// (ops/ ...), not under src/.
const preset = { ...require('../jest.preset.js'), testMatch: ['<rootDir>/**/*.test.ts'] };
module.exports = require('@safeguard/testkit/jest-config').withIntegrationProject(preset, { integrationMatch: ['<rootDir>/**/*.int.test.ts'] });
