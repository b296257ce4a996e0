#!/usr/bin/env node
// Composition root of the grooming service: the only file that reads process.env or exits.
import { runServiceMain } from '@safeguard/service-runtime';
import { groomingConfigSchema } from './config';
import { startGrooming } from './service';

void runServiceMain({
  service: 'grooming',
  configSchema: groomingConfigSchema,
  env: process.env,
  start: (config, runtime) => startGrooming(config, runtime),
  stderr: process.stderr,
  onSignal: (handler) => {
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  },
}).then((code) => process.exit(code));
