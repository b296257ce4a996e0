'use strict';
/* Loads the Avro sources in avro/ and bundles each top-level schema self-contained. */
const fs = require('node:fs');
const path = require('node:path');
const avro = require('avsc');

const root = path.resolve(__dirname, '..');
const avroDir = path.join(root, 'avro');
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${path.relative(root, file)}: ${err.message}`);
  }
}

function fullName(def, namespace) {
  if (def.name.includes('.')) return def.name;
  const ns = def.namespace ?? namespace;
  return ns ? `${ns}.${def.name}` : def.name;
}

function loadCommon() {
  const common = new Map();
  const dir = path.join(avroDir, 'common');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.avsc')).sort()) {
    const def = readJson(path.join(dir, f));
    common.set(fullName(def), def);
  }
  return common;
}

/** Inlines shared named types at their first use; returns a self-contained schema. */
function bundle(schema, common) {
  const defined = new Set();
  const visit = (node, namespace) => {
    if (typeof node === 'string') {
      if (PRIMITIVES.has(node)) return node;
      const name = node.includes('.') ? node : `${namespace}.${node}`;
      if (defined.has(name)) return node;
      const def = common.get(name);
      if (!def) throw new Error(`unknown type ${node} (namespace ${namespace})`);
      return visit(structuredClone(def), namespace);
    }
    if (Array.isArray(node)) return node.map((n) => visit(n, namespace));
    if (node && typeof node === 'object') {
      if (node.type === 'record' || node.type === 'enum' || node.type === 'fixed') {
        const name = fullName(node, namespace);
        defined.add(name);
        const ns = name.slice(0, name.lastIndexOf('.'));
        if (node.type === 'record') {
          node.fields = node.fields.map((f) => ({ ...f, type: visit(f.type, ns) }));
        }
        return node;
      }
      if (node.type === 'array') return { ...node, items: visit(node.items, namespace) };
      if (node.type === 'map') return { ...node, values: visit(node.values, namespace) };
      if (typeof node.type === 'string' && PRIMITIVES.has(node.type)) return node;
      return { ...node, type: visit(node.type, namespace) };
    }
    throw new Error(`unexpected schema node ${JSON.stringify(node)}`);
  };
  return visit(structuredClone(schema), schema.namespace);
}

/** Every top-level schema in avro/, bundled, by record name (sorted). */
function loadAll() {
  const common = loadCommon();
  const bundled = new Map();
  for (const f of fs.readdirSync(avroDir).filter((n) => n.endsWith('.avsc')).sort()) {
    const schema = readJson(path.join(avroDir, f));
    const b = bundle(schema, common);
    avro.Type.forSchema(b); // throws on an invalid schema
    bundled.set(schema.name, b);
  }
  return bundled;
}

module.exports = { loadAll, bundle, loadCommon };
