#!/usr/bin/env node
'use strict';
require('../dist/main.js').main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`safeguard: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
