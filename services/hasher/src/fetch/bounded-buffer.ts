import { FetchRefusedError } from './errors';

/** Bytes looked at to decide which size cap applies (enough for every container signature we sniff). */
export const HEAD_BYTES = 512;

/**
 * How many bytes one fetch may bring. Why two steps: a video may be larger than an image, but we
 * only know which one it is after its first bytes; until then the larger cap applies, then the
 * cap of the sniffed kind (an image claiming to be 200 MB is refused at 64 MB, not at 256).
 */
export interface SizeLimit {
  /** Cap before the kind is known, bytes (the largest of the per-kind caps). */
  readonly maxBytes: number;
  /** Cap for media whose first bytes are `head` (up to {@link HEAD_BYTES} of them), bytes. */
  forHead(head: Uint8Array): number;
}

/** A fixed cap, whatever the media. */
export function fixedSizeLimit(maxBytes: number): SizeLimit {
  return { maxBytes, forHead: () => maxBytes };
}

/**
 * Collects streamed chunks under a {@link SizeLimit} and returns them as ONE buffer that owns its
 * whole ArrayBuffer (never a slice of Node's shared allocation pool), so it can be transferred to
 * a worker thread without a copy.
 */
export class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  private cap: number;
  private narrowed = false;
  private declared: number | undefined;

  constructor(private readonly limit: SizeLimit) {
    this.cap = limit.maxBytes;
  }

  /** Bytes collected so far. */
  get length(): number {
    return this.total;
  }

  /**
   * Records a declared length (Content-Length, file size) and checks it against the cap in force
   * now and again once the first bytes narrow the cap.
   * @throws FetchRefusedError `fetch_too_large`.
   */
  declare(length: number): void {
    this.declared = length;
    this.checkDeclared();
  }

  /**
   * Adds a chunk (kept by reference, not copied).
   * @throws FetchRefusedError `fetch_too_large` as soon as the count passes the cap.
   */
  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    if (!this.narrowed && this.total >= HEAD_BYTES) this.narrow();
    if (this.total > this.cap) throw new FetchRefusedError('fetch_too_large', `media exceeds the cap of ${this.cap} bytes`);
  }

  /** The bytes collected, in one exclusively owned buffer. */
  finish(): Buffer {
    if (!this.narrowed) this.narrow();
    if (this.total > this.cap) throw new FetchRefusedError('fetch_too_large', `media exceeds the cap of ${this.cap} bytes`);
    const out = Buffer.allocUnsafeSlow(this.total);
    let offset = 0;
    for (const c of this.chunks) {
      c.copy(out, offset);
      offset += c.length;
    }
    this.chunks.length = 0;
    return out;
  }

  private narrow(): void {
    this.narrowed = true;
    const head = Buffer.allocUnsafe(Math.min(HEAD_BYTES, this.total));
    let offset = 0;
    for (const c of this.chunks) {
      if (offset >= head.length) break;
      offset += c.copy(head, offset, 0, Math.min(c.length, head.length - offset));
    }
    this.cap = Math.min(this.cap, this.limit.forHead(head));
    this.checkDeclared();
  }

  private checkDeclared(): void {
    if (this.declared !== undefined && this.declared > this.cap) {
      throw new FetchRefusedError('fetch_too_large', `media declares ${this.declared} bytes, over the cap of ${this.cap}`);
    }
  }
}
