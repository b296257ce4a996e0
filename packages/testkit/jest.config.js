// Unit tests (src/) run alone; the integration project (test/*.int.test.ts) brings up the real
// broker and registry through the testkit global setup, which it loads from dist/ (built first).
module.exports = require('./dist/jest-config.js').withIntegrationProject(require('../../jest.preset.js'));
