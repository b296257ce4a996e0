'use strict';
/** Golden values are JSON with bytes written as {"$bytes": "<hex>"}; this turns them into Buffers. */
function fromGoldenJson(value) {
  if (Array.isArray(value)) return value.map(fromGoldenJson);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes') return Buffer.from(value.$bytes, 'hex');
    return Object.fromEntries(keys.map((k) => [k, fromGoldenJson(value[k])]));
  }
  return value;
}
module.exports = { fromGoldenJson };
