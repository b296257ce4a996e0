/**
 * `file://` media fetching, confined to configured root directories.
 *
 * Why three checks: the lexical path must lie under a root (no `..` escape), its real path
 * (symlinks resolved) must too (no symlink pointing out), and the file actually opened must too
 * (read back from `/proc/self/fd` on Linux), which closes the window between `realpath` and
 * `open` in which a directory could be swapped for a symlink. The file is opened with
 * O_NOFOLLOW (a symlink appearing at the last moment fails) and O_NONBLOCK (a FIFO cannot hang
 * the open), and must be a regular file.
 */
import { constants } from 'node:fs';
import { open, readlink, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAD_BYTES, type SizeLimit } from './bounded-buffer';
import { FetchRefusedError, FetchTransientError } from './errors';

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

function errnoOf(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? '');
}

/** Maps a filesystem error to a fetch error. */
function fsError(err: unknown): Error {
  const code = errnoOf(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FetchRefusedError('fetch_not_found', 'no such file', { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new FetchRefusedError('fetch_forbidden', 'file not readable', { cause: err });
  if (code === 'ELOOP') return new FetchRefusedError('fetch_refused', 'symbolic link refused', { cause: err });
  if (code === 'EISDIR') return new FetchRefusedError('fetch_refused', 'not a regular file', { cause: err });
  if (code === 'ENAMETOOLONG' || code === 'ERR_INVALID_ARG_VALUE') return new FetchRefusedError('fetch_invalid_uri', 'unusable file path', { cause: err });
  return new FetchTransientError('fetch_io_error', 'file could not be read', { cause: err });
}

/**
 * Reads `file://` URIs under a set of root directories. Create with {@link FileFetcher.create},
 * which resolves the roots' own symlinks once.
 * @throws FetchRefusedError `fetch_refused` (outside the roots, symlink escape, not a regular
 *   file, remote host), `fetch_invalid_uri`, `fetch_not_found`, `fetch_forbidden`,
 *   `fetch_too_large`; FetchTransientError `fetch_io_error`.
 */
export class FileFetcher {
  private constructor(
    /** Real paths of the roots: where every file read must lie. */
    readonly roots: readonly string[],
    /** The roots as configured (normalised): where a URI's path may point before symlinks are resolved. */
    private readonly configured: readonly string[],
    private readonly sizeLimit: SizeLimit,
  ) {}

  /**
   * @param roots absolute directories; each must exist (their real paths are what is enforced).
   * @throws RangeError for a relative root; Node's error for a missing one.
   */
  static async create(roots: readonly string[], sizeLimit: SizeLimit): Promise<FileFetcher> {
    const real: string[] = [];
    for (const root of roots) {
      if (!root.startsWith('/')) throw new RangeError(`file root must be an absolute path: ${root}`);
      real.push(await realpath(root));
    }
    return new FileFetcher(real, [...new Set([...roots.map((r) => resolve(r)), ...real])], sizeLimit);
  }

  /** True when `path` (absolute, normalised, symlinks resolved) is a root or lies below one. */
  within(path: string, roots: readonly string[] = this.roots): boolean {
    return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`));
  }

  /** Reads the file `url` names. */
  async fetch(url: URL): Promise<Buffer> {
    if (url.protocol !== 'file:') throw new FetchRefusedError('fetch_refused', 'not a file URI');
    if (url.host !== '' && url.host !== 'localhost') throw new FetchRefusedError('fetch_refused', 'file URI names a remote host');
    if (this.roots.length === 0) throw new FetchRefusedError('fetch_refused', 'no file roots configured');
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new FetchRefusedError('fetch_invalid_uri', 'unusable file URI', { cause: err });
    }
    if (path.includes('\0')) throw new FetchRefusedError('fetch_invalid_uri', 'file path contains NUL');
    const lexical = resolve(path);
    if (!this.within(lexical, this.configured)) throw new FetchRefusedError('fetch_refused', 'path outside the file roots');
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (err) {
      throw fsError(err);
    }
    if (!this.within(real)) throw new FetchRefusedError('fetch_refused', 'symbolic link leads outside the file roots');
    let handle: FileHandle;
    try {
      handle = await open(real, OPEN_FLAGS);
    } catch (err) {
      throw fsError(err);
    }
    try {
      const size = await this.checkOpened(handle);
      return await this.readAll(handle, size);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** Checks where the opened file lies and what it is; returns its size. */
  private async checkOpened(handle: FileHandle): Promise<number> {
    let opened: string | undefined;
    try {
      opened = await readlink(`/proc/self/fd/${handle.fd}`);
    } catch {
      opened = undefined; // no procfs (not Linux): the lexical and realpath checks stand
    }
    if (opened !== undefined && !this.within(opened)) throw new FetchRefusedError('fetch_refused', 'opened file lies outside the file roots');
    const info = await handle.stat().catch((err: unknown) => {
      throw fsError(err);
    });
    if (!info.isFile()) throw new FetchRefusedError('fetch_refused', 'not a regular file');
    return info.size;
  }

  private async readAll(handle: FileHandle, size: number): Promise<Buffer> {
    try {
      if (size > this.sizeLimit.maxBytes) throw tooLarge(size, this.sizeLimit.maxBytes);
      const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
      const { bytesRead: headRead } = await handle.read(head, 0, head.length, 0);
      const cap = Math.min(this.sizeLimit.maxBytes, this.sizeLimit.forHead(head.subarray(0, headRead)));
      if (size > cap) throw tooLarge(size, cap);
      // One exclusively owned buffer (transferable to a worker without a copy).
      const out = Buffer.allocUnsafeSlow(size);
      let offset = 0;
      while (offset < size) {
        const { bytesRead } = await handle.read(out, offset, size - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return offset === size ? out : out.subarray(0, offset);
    } catch (err) {
      if (err instanceof FetchRefusedError || err instanceof FetchTransientError) throw err;
      throw fsError(err);
    }
  }
}

function tooLarge(size: number, cap: number): FetchRefusedError {
  return new FetchRefusedError('fetch_too_large', `file of ${size} bytes exceeds the cap of ${cap}`);
}
