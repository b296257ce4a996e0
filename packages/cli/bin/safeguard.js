#!/usr/bin/env node
'use strict';
// The `safeguard` command. On the first run after `npm ci` the TypeScript is not built yet:
// build this package and what it depends on (Turborepo, cached), then continue.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

// A closed pipe (`safeguard ... | head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const entry = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(entry)) {
  const root = path.resolve(__dirname, '..', '..', '..');
  process.stderr.write('safeguard: first run, building the CLI and its packages...\n');
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  const built = spawnSync(turbo, ['run', 'build', '--filter=@safeguard/cli...', '--output-logs=errors-only'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (built.status !== 0 || !fs.existsSync(entry)) {
    process.stderr.write('safeguard: build failed; run `npm run build` to see why\n');
    process.exit(1);
  }
}
require(entry).main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`safeguard: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
