#!/usr/bin/env node
// Composition root of the matcher service: the only file that reads process.env or exits.
import { runServiceMain } from '@safeguard/service-runtime';
import { matcherConfigSchema } from './config';
import { startMatcher } from './service';

void runServiceMain({
  service: 'matcher',
  configSchema: matcherConfigSchema,
  env: process.env,
  start: (config, runtime) => startMatcher(config, runtime),
  stderr: process.stderr,
  onSignal: (handler) => {
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  },
}).then((code) => process.exit(code));
