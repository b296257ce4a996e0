'use strict';
// Preloaded (`node -r`) into a replica or the reference build when SAFEGUARD_BENCH_DOMAIN_DIR is
// set: `@safeguard/domain/matching` then resolves to that copy of packages/domain (with its
// dist/), e.g. the library before a change, so ready-time.js can run the same service on the old
// and new library side by side. A library without BankSet.beginBulkLoad gets a no-op one (the
// service calls it; the old library had no bulk-load mode).
const Module = require('node:module');
const path = require('node:path');

const dir = process.env.SAFEGUARD_BENCH_DOMAIN_DIR;
if (dir) {
  const target = path.join(path.resolve(dir), 'dist', 'matching', 'index.js');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === '@safeguard/domain/matching' ? target : resolve.call(this, request, ...rest);
  };
  const m = require(target);
  if (typeof m.BankSet.prototype.beginBulkLoad !== 'function') m.BankSet.prototype.beginBulkLoad = function () {};
}
