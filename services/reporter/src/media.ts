import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MediaSource } from '@safeguard/reporting';

/** Why a media file was not uploaded (closed set: metric label). */
export type MediaSkipReason = 'not_file_uri' | 'outside_root' | 'missing' | 'too_large';

/**
 * Reads the media of an NCMEC report from the platform's storage mounted at `root`: only
 * `file://` URIs that resolve (symlinks included) inside `root`, at most `maxBytes`. Anything
 * else is skipped, and the report goes with the file's hashes but without its bytes. Why so
 * narrow: the reporter must not become a way to read arbitrary files or fetch URLs
 * (`http(s)` media would need the hasher's SSRF rules; add them here before allowing it).
 */
export class FileMediaSource implements MediaSource {
  private rootReal: Promise<string> | undefined;

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly onSkip: (reason: MediaSkipReason) => void = () => undefined,
  ) {}

  async read(mediaUri: string): Promise<Uint8Array | undefined> {
    if (!mediaUri.startsWith('file://')) return this.skip('not_file_uri');
    let path: string;
    try {
      path = fileURLToPath(mediaUri);
    } catch {
      return this.skip('not_file_uri');
    }
    this.rootReal ??= realpath(resolve(this.root));
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return this.skip('missing');
    }
    const rel = relative(await this.rootReal, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return this.skip('outside_root');
    const handle = await open(real, 'r').catch(() => undefined);
    if (!handle) return this.skip('missing');
    try {
      const { size } = await handle.stat();
      if (size > this.maxBytes) return this.skip('too_large');
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  private skip(reason: MediaSkipReason): undefined {
    this.onSkip(reason);
    return undefined;
  }
}
