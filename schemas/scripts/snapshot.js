#!/usr/bin/env node
'use strict';
/*
 * Records the current bundled schemas as the next committed versions in compat/<Name>/v<N>.avsc,
 * the history the compatibility test checks against (like a registry's subject versions).
 * Refuses a change that is not BACKWARD compatible (new readers must read old data): such a
 * change needs a new topic major version instead. Also writes the golden bytes
 * golden/<Name>/v<N>.avro.hex for any golden/<Name>/v<N>.json that has none.
 */
const fs = require('node:fs');
const path = require('node:path');
const avro = require('avsc');
const { loadAll } = require('./avro-bundle');
const { fromGoldenJson } = require('./golden-json');

const root = path.resolve(__dirname, '..');

function versions(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^v(\d+)\.avsc$/.exec(f))
    .filter(Boolean)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

let failed = false;
for (const [name, schema] of loadAll()) {
  const dir = path.join(root, 'compat', name);
  const vs = versions(dir);
  const latest = vs.length ? JSON.parse(fs.readFileSync(path.join(dir, `v${vs[vs.length - 1]}.avsc`), 'utf8')) : undefined;
  if (latest && JSON.stringify(latest) === JSON.stringify(schema)) continue;
  if (latest) {
    try {
      avro.Type.forSchema(schema).createResolver(avro.Type.forSchema(latest));
    } catch (err) {
      process.stderr.write(`${name}: not BACKWARD compatible with v${vs[vs.length - 1]}: ${err.message}\n`);
      failed = true;
      continue;
    }
  }
  const next = vs.length ? vs[vs.length - 1] + 1 : 1;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `v${next}.avsc`), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`${name}: recorded v${next}\n`);
}

for (const name of fs.existsSync(path.join(root, 'golden')) ? fs.readdirSync(path.join(root, 'golden')) : []) {
  const gdir = path.join(root, 'golden', name);
  for (const f of fs.readdirSync(gdir).filter((n) => /^v\d+\.json$/.test(n))) {
    const hexFile = path.join(gdir, f.replace(/\.json$/, '.avro.hex'));
    if (fs.existsSync(hexFile)) continue;
    const schemaFile = path.join(root, 'compat', name, f.replace(/\.json$/, '.avsc'));
    const type = avro.Type.forSchema(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
    const value = fromGoldenJson(JSON.parse(fs.readFileSync(path.join(gdir, f), 'utf8')));
    fs.writeFileSync(hexFile, `${type.toBuffer(value).toString('hex')}\n`);
    process.stdout.write(`${name}: wrote golden ${path.basename(hexFile)}\n`);
  }
}
if (failed) process.exitCode = 1;
