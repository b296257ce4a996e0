#!/usr/bin/env node
// Composition root of the hasher service: the only file that reads process.env or exits.
import { runServiceMain } from '@safeguard/service-runtime';
import { hasherConfigSchema } from './config';
import { startHasher } from './service';

void runServiceMain({
  service: 'hasher',
  configSchema: hasherConfigSchema,
  env: process.env,
  start: (config, runtime) => startHasher(config, runtime),
  stderr: process.stderr,
  onSignal: (handler) => {
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  },
}).then((code) => process.exit(code));
