#!/usr/bin/env node
// Composition root of the ingest service: the only file that reads process.env or exits.
import { runServiceMain } from '@safeguard/service-runtime';
import { ingestConfigSchema } from './config';
import { startIngest } from './service';

void runServiceMain({
  service: 'ingest',
  configSchema: ingestConfigSchema,
  env: process.env,
  start: startIngest,
  stderr: process.stderr,
  onSignal: (handler) => {
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  },
}).then((code) => process.exit(code));
