// Unit project: src/**/*.test.ts and the in-process conformance run. Integration project:
// test/**/*.int.test.ts, with the testkit global setup that selects or starts the real broker
// and registry (only when an integration test is selected).
module.exports = require('@safeguard/testkit/jest-config').withIntegrationProject(require('../../jest.preset.js'));
