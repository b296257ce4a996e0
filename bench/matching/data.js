'use strict';
// Benchmark data: PDQ-sized (256-bit) hashes as raw little-endian uint32 words, 8 per hash
// (32 bytes), so Node and Python read the same bytes. Hamming distance is bitwise, so reading
// the 32 bytes as uint8 codes (FAISS) gives the same distances as reading 8 uint32 words.
const fs = require('node:fs');

/** Seeded xorshift128 generator of uint32 values (deterministic data across runs). */
function rng(seed) {
  let x = seed >>> 0 || 1, y = 362436069, z = 521288629, w = 88675123;
  return () => {
    const t = x ^ (x << 11);
    x = y; y = z; z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return w;
  };
}

function flip(words, base, bits, rand) {
  // Flip `bits` distinct bits of the hash at words[base..base+8).
  const seen = new Uint8Array(256);
  let n = 0;
  while (n < bits) {
    const b = rand() & 255;
    if (seen[b]) continue;
    seen[b] = 1;
    words[base + (b >>> 5)] ^= 1 << (b & 31);
    n++;
  }
}

/**
 * Bank of n hashes. `uniform`: independent random hashes. `clustered`: families of 1..19
 * near-duplicates (each member 0..24 bits from a random family center), like re-encodes and
 * crops of one image; family members are within 31 bits of each other often.
 */
function makeBank(n, kind, seed) {
  const rand = rng(seed);
  const words = new Uint32Array(n * 8);
  if (kind === 'uniform') {
    for (let i = 0; i < words.length; i++) words[i] = rand();
    return words;
  }
  const center = new Uint32Array(8);
  let i = 0;
  while (i < n) {
    for (let k = 0; k < 8; k++) center[k] = rand();
    const size = Math.min(n - i, 1 + (rand() % 19));
    for (let j = 0; j < size; j++, i++) {
      words.set(center, i * 8);
      flip(words, i * 8, rand() % 25, rand);
    }
  }
  return words;
}

/** q queries: half near-duplicates of random bank entries (0..31 bits flipped), half random. */
function makeQueries(bank, n, q, seed) {
  const rand = rng(seed);
  const words = new Uint32Array(q * 8);
  for (let i = 0; i < q; i++) {
    if (i % 2 === 0) {
      const src = rand() % n;
      words.set(bank.subarray(src * 8, src * 8 + 8), i * 8);
      flip(words, i * 8, rand() % 32, rand);
    } else {
      for (let k = 0; k < 8; k++) words[i * 8 + k] = rand();
    }
  }
  return words;
}

function readWords(path) {
  const buf = fs.readFileSync(path);
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
}

function writeWords(path, words) {
  fs.writeFileSync(path, Buffer.from(words.buffer, words.byteOffset, words.byteLength));
}

/**
 * `e` adversarial queries at distance exactly 32 from a bank entry with exactly 2 bits flipped
 * in each 16-bit slot (bytes 2k, 2k+1 = FAISS's k-th 16-bit substring; in our little-endian
 * words, half-word k). Multi-index hashing with 16 slots and one flip per slot misses them.
 */
function makeEdgeQueries(bank, n, e, seed) {
  const rand = rng(seed);
  const words = new Uint32Array(e * 8);
  for (let i = 0; i < e; i++) {
    const src = rand() % n;
    words.set(bank.subarray(src * 8, src * 8 + 8), i * 8);
    for (let slot = 0; slot < 16; slot++) {
      const a = rand() % 16;
      let b = rand() % 16;
      while (b === a) b = rand() % 16;
      const base = i * 8 + (slot >>> 1);
      const shift = (slot & 1) * 16;
      words[base] ^= (1 << (shift + a)) | (1 << (shift + b));
    }
  }
  return words;
}

module.exports = { rng, flip, makeBank, makeQueries, makeEdgeQueries, readWords, writeWords };
