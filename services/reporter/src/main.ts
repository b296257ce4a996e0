#!/usr/bin/env node
// Composition root of the reporter service: the only file that reads process.env or exits.
import { runServiceMain } from '@safeguard/service-runtime';
import { reporterConfigSchema } from './config';
import { startReporter } from './service';

void runServiceMain({
  service: 'reporter',
  configSchema: reporterConfigSchema,
  env: process.env,
  start: (config, runtime) => startReporter(config, runtime),
  stderr: process.stderr,
  onSignal: (handler) => {
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  },
}).then((code) => process.exit(code));
