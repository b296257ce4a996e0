import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

/** Cryptographic digests of the original bytes, lowercase hex. Algorithm ids match STYLE.md (`md5`, `sha1`, `sha256`). */
export interface CryptoHashes {
  /** MD5, 32 hex digits (for lists that still use it, e.g. NCMEC). */
  md5: string;
  /** SHA-1, 40 hex digits. */
  sha1: string;
  /** SHA-256, 64 hex digits. */
  sha256: string;
}

/**
 * Accumulates MD5, SHA-1 and SHA-256 over the same chunks in one pass (each chunk is read once
 * while it is hot in cache). Use for streamed files; {@link cryptoHashes} for a buffer.
 */
export class CryptoHasher {
  private readonly md5: Hash = createHash('md5');
  private readonly sha1: Hash = createHash('sha1');
  private readonly sha256: Hash = createHash('sha256');

  /** Adds a chunk. */
  update(chunk: Uint8Array): this {
    this.md5.update(chunk);
    this.sha1.update(chunk);
    this.sha256.update(chunk);
    return this;
  }

  /** Finishes and returns the three digests; the hasher cannot be used afterwards. */
  digest(): CryptoHashes {
    return { md5: this.md5.digest('hex'), sha1: this.sha1.digest('hex'), sha256: this.sha256.digest('hex') };
  }
}

/** MD5, SHA-1 and SHA-256 of `bytes` (node:crypto, one pass over 1 MiB slices). */
export function cryptoHashes(bytes: Uint8Array): CryptoHashes {
  const h = new CryptoHasher();
  const slice = 1 << 20;
  for (let off = 0; off < bytes.length; off += slice) h.update(bytes.subarray(off, Math.min(bytes.length, off + slice)));
  return h.digest();
}
