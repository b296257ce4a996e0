import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixedSizeLimit } from './bounded-buffer';
import { FetchRefusedError } from './errors';
import { FileFetcher } from './file-fetcher';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FetchRefusedError);
    return (err as FetchRefusedError).code;
  }
  throw new Error('expected the fetch to fail');
}

describe('FileFetcher', () => {
  let base: string;
  let root: string;
  let outside: string;
  let files: FileFetcher;

  beforeEach(async () => {
    base = mkdtempSync(join(tmpdir(), 'hasher-files-'));
    root = join(base, 'media');
    outside = join(base, 'secret');
    mkdirSync(join(root, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'a.jpg'), 'image bytes');
    writeFileSync(join(root, 'sub', 'b.jpg'), 'more bytes');
    writeFileSync(join(outside, 'passwd'), 'root:x:0:0');
    writeFileSync(join(root, 'big.bin'), Buffer.alloc(5000));
    symlinkSync(join(outside, 'passwd'), join(root, 'escape.jpg'));
    symlinkSync(outside, join(root, 'escape-dir'));
    symlinkSync(join(root, 'a.jpg'), join(root, 'inside-link.jpg'));
    files = await FileFetcher.create([root], fixedSizeLimit(4096));
  });

  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const url = (path: string): URL => new URL(`file://${path}`);

  it('reads a file under a root into a buffer that owns its memory', async () => {
    const bytes = await files.fetch(pathToFileURL(join(root, 'sub', 'b.jpg')));
    expect(bytes.toString()).toBe('more bytes');
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    expect((await files.fetch(new URL(`file://localhost${root}/a.jpg`))).toString()).toBe('image bytes');
  });

  it('follows symlinks that stay inside the roots', async () => {
    expect((await files.fetch(url(`${root}/inside-link.jpg`))).toString()).toBe('image bytes');
  });

  it('refuses paths outside the roots, however spelled', async () => {
    expect(await code(files.fetch(url(`${outside}/passwd`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url(`${root}/../secret/passwd`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url(`${root}/%2e%2e/secret/passwd`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url(`${root}/sub/%2E%2E/%2E%2E/secret/passwd`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url(`${root}-other/a.jpg`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url('/etc/passwd')))).toBe('fetch_refused');
  });

  it('refuses encoded separators and NUL bytes as unusable URIs', async () => {
    expect(await code(files.fetch(url(`${root}/..%2f..%2fsecret/passwd`)))).toBe('fetch_invalid_uri');
    expect(await code(files.fetch(url(`${root}/a.jpg%00.png`)))).toBe('fetch_invalid_uri');
  });

  it('refuses symlinks that lead outside the roots', async () => {
    expect(await code(files.fetch(url(`${root}/escape.jpg`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url(`${root}/escape-dir/passwd`)))).toBe('fetch_refused');
  });

  it('refuses a remote host, directories and FIFOs (without blocking on the FIFO)', async () => {
    expect(await code(files.fetch(new URL(`file://fileserver${root}/a.jpg`)))).toBe('fetch_refused');
    expect(await code(files.fetch(url(`${root}/sub`)))).toBe('fetch_refused');
    execFileSync('mkfifo', [join(root, 'pipe.jpg')]);
    expect(await code(files.fetch(url(`${root}/pipe.jpg`)))).toBe('fetch_refused');
  });

  it('reports missing files and files over the cap', async () => {
    expect(await code(files.fetch(url(`${root}/missing.jpg`)))).toBe('fetch_not_found');
    expect(await code(files.fetch(url(`${root}/a.jpg/x`)))).toBe('fetch_not_found');
    expect(await code(files.fetch(url(`${root}/big.bin`)))).toBe('fetch_too_large');
  });

  it('narrows the cap by the first bytes', async () => {
    writeFileSync(join(root, 'v.bin'), Buffer.alloc(3000, 0x56));
    writeFileSync(join(root, 'i.bin'), Buffer.alloc(3000, 0x49));
    const f = await FileFetcher.create([root], { maxBytes: 4096, forHead: (head) => (head[0] === 0x56 ? 4096 : 1024) });
    expect((await f.fetch(url(`${root}/v.bin`))).length).toBe(3000);
    expect(await code(f.fetch(url(`${root}/i.bin`)))).toBe('fetch_too_large');
  });

  it('refuses everything without roots, and enforces a symlinked root by its real path', async () => {
    const none = await FileFetcher.create([], fixedSizeLimit(4096));
    expect(await code(none.fetch(url(`${root}/a.jpg`)))).toBe('fetch_refused');
    symlinkSync(root, join(base, 'media-link'));
    const linked = await FileFetcher.create([join(base, 'media-link')], fixedSizeLimit(4096));
    expect(linked.roots).toEqual([root]);
    expect((await linked.fetch(url(`${base}/media-link/a.jpg`))).toString()).toBe('image bytes');
    expect(await code(linked.fetch(url(`${base}/media-link/escape.jpg`)))).toBe('fetch_refused');
    await expect(FileFetcher.create(['relative/dir'], fixedSizeLimit(1))).rejects.toThrow(RangeError);
  });
});
