#!/usr/bin/env node
'use strict';
// Builds native/build/safeguard_jpeg.node: exact-mode JPEG decoding through the system's
// libjpeg-turbo (see safeguard_jpeg.c). Run by the package's `build` script.
//
// Needs a C compiler (cc), libjpeg-turbo's headers (Debian: libjpeg62-turbo-dev, installed by
// infra/install-system-deps.sh) and Node's own headers (shipped with Node in <prefix>/include/node).
// Plain cc rather than node-gyp: one C file, no downloads (node-gyp fetches headers from the
// internet unless told where Node's are).
//
// Without them the build prints why and succeeds: decoding then goes through sharp, with
// identical results, only slower. SAFEGUARD_NATIVE_JPEG=required makes a missing toolchain an
// error (the test suite sets it, so CI cannot silently lose the fast path).
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, statSync } = require('node:fs');
const path = require('node:path');

const here = __dirname;
const source = path.join(here, 'safeguard_jpeg.c');
const outDir = path.join(here, 'build');
const target = path.join(outDir, 'safeguard_jpeg.node');
const required = process.env.SAFEGUARD_NATIVE_JPEG === 'required';

function giveUp(why) {
  const text = `[hashing] native JPEG decoder not built: ${why}; JPEGs decode through sharp (same hashes, slower)`;
  if (required) {
    console.error(text + ' (SAFEGUARD_NATIVE_JPEG=required)');
    process.exit(1);
  }
  console.warn(text);
  process.exit(0);
}

if (process.env.SAFEGUARD_NATIVE_JPEG === 'off') giveUp('SAFEGUARD_NATIVE_JPEG=off');
if (process.platform === 'win32') giveUp('not supported on Windows');
if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs && statSync(target).mtimeMs >= statSync(__filename).mtimeMs) {
  process.exit(0); // up to date
}
const nodeInclude = [path.resolve(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].find((d) =>
  existsSync(path.join(d, 'node_api.h')),
);
if (!nodeInclude) giveUp("Node's headers (node_api.h) not found next to the node binary");
const cc = process.env.CC || 'cc';
mkdirSync(outDir, { recursive: true });
const args = [
  '-O3',
  '-std=c11',
  // IEEE single precision exactly as written: no fused multiply-add, no fast-math (PDQ's luma and
  // filter must match the TypeScript and the reference bit for bit).
  '-ffp-contract=off',
  '-fno-fast-math',
  '-fPIC',
  '-shared',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-Wno-clobbered',
  `-I${nodeInclude}`,
  '-o',
  target,
  source,
  '-ljpeg',
];
const result = spawnSync(cc, args, { encoding: 'utf8' });
if (result.error) giveUp(`${cc} not available (${result.error.code ?? result.error.message})`);
if (result.status !== 0) {
  const detail = (result.stderr || '').split('\n').filter((l) => /error/i.test(l)).slice(0, 3).join(' | ');
  giveUp(`${cc} failed${detail ? `: ${detail}` : ''} (Debian: apt install libjpeg62-turbo-dev)`);
}
if (result.stderr.trim()) process.stderr.write(result.stderr);
console.log(`[hashing] built ${path.relative(process.cwd(), target)}`);
