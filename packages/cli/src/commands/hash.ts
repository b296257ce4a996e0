import { Command, InvalidArgumentError } from 'commander';
import { hashFile } from '@safeguard/hashing';
import type { CliIo } from '../program';

/** One output line: a result or an error for one file. */
type Line = Record<string, unknown>;

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 60) throw new InvalidArgumentError('must be a number in (0, 60]');
  return n;
}

/**
 * `safeguard hash [--dihedral] [--video-fps N] [--fast] [--auto-orient] <files...>`: prints one JSON
 * object per line and file: `{"file","pdq","quality","md5","sha1","sha256","width","height"}`
 * (plus `"dihedral"` with `--dihedral`; `"frames"` instead of `"pdq"` for videos), or
 * `{"file","error":{"code","message"}}`. Exit status 0 when every file was processed, even if
 * some were refused; 1 only if an unexpected internal error occurred.
 */
export const registerHash = (program: Command, io: CliIo, exit: { code: number }): void => {
  program
    .command('hash')
    .description('Hash images and videos: PDQ (reference layout), MD5, SHA-1, SHA-256; one JSON line per file')
    .argument('<files...>', 'image or video files')
    .option('--dihedral', 'also print the 8 dihedral PDQ hashes (orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1)')
    .option('--video-fps <n>', 'frames sampled per second of video (default 1)', positiveNumber)
    .option('--fast', 'fast mode for large JPEG/WebP (reduced-scale decode; a few bits from the reference)')
    .option('--auto-orient', 'apply EXIF orientation before hashing (the reference does not)')
    .action(async (files: string[], opts: { dihedral?: boolean; videoFps?: number; fast?: boolean; autoOrient?: boolean }) => {
      for (const file of files) {
        let line: Line;
        try {
          const r = await hashFile(file, {
            dihedral: opts.dihedral ?? false,
            mode: opts.fast ? 'fast' : 'exact',
            autoOrient: opts.autoOrient ?? false,
            video: { framesPerSecond: opts.videoFps },
          });
          if (r.kind === 'image') {
            line = { file, pdq: r.pdq, quality: r.quality, md5: r.md5, sha1: r.sha1, sha256: r.sha256, width: r.width, height: r.height };
            if (opts.dihedral) line.dihedral = r.dihedral;
          } else {
            line = {
              file,
              md5: r.md5,
              sha1: r.sha1,
              sha256: r.sha256,
              width: r.width,
              height: r.height,
              durationSec: r.durationSec,
              framesPerSecond: r.framesPerSecond,
              frames: r.frames,
            };
          }
        } catch (err) {
          line = { file, error: describe(err) };
          if (line.error && (line.error as { code: string }).code === 'internal_error') exit.code = 1;
        }
        await write(io.stdout, JSON.stringify(line) + '\n');
      }
    });
};

function describe(err: unknown): { code: string; message: string } {
  if (err instanceof Error && typeof (err as { retriable?: unknown }).retriable === 'boolean' && typeof (err as { code?: unknown }).code === 'string') {
    return { code: (err as Error & { code: string }).code, message: err.message };
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return { code: 'file_not_found', message: 'no such file' };
  if (code === 'EACCES' || code === 'EPERM') return { code: 'file_unreadable', message: 'permission denied' };
  if (code === 'EISDIR') return { code: 'media_unsupported_type', message: 'is a directory' };
  if (typeof code === 'string' && code.startsWith('E')) return { code: 'file_unreadable', message: `file could not be read (${code})` };
  return { code: 'internal_error', message: err instanceof Error ? err.message : String(err) };
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', () => resolve());
  });
}
