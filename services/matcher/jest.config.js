module.exports = require('@safeguard/testkit/jest-config').withIntegrationProject(require('../../jest.preset.js'));
