import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedSizeLimit } from './bounded-buffer';
import { FetchRefusedError, FetchTransientError } from './errors';
import { HttpFetcher, type HttpFetcherOptions, type Resolver } from './http-fetcher';
import { AddressPolicy } from './ip-policy';

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A local server on 127.0.0.1 whose routes the tests define; counts connections. */
class LocalServer {
  connections = 0;
  readonly routes = new Map<string, Route>();
  constructor(readonly server: http.Server | https.Server) {
    server.on('connection', () => this.connections++);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const route = this.routes.get(req.url ?? '');
      if (route) route(req, res);
      else res.writeHead(404).end();
    });
  }
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const BODY = Buffer.from('0123456789'.repeat(100));

function fetcher(overrides: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  return new HttpFetcher({
    policy: new AddressPolicy(['127.0.0.1/32']),
    schemes: new Set(['http', 'https']),
    connectTimeoutMs: 2_000,
    responseTimeoutMs: 2_000,
    totalTimeoutMs: 10_000,
    maxRedirects: 3,
    sizeLimit: fixedSizeLimit(4096),
    ...overrides,
  });
}

/** A resolver answering from a fixed table (no real DNS in tests). */
function table(entries: Record<string, string[]>, calls: string[] = []): Resolver {
  return async (hostname) => {
    calls.push(hostname);
    const addresses = entries[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function failure(p: Promise<unknown>): Promise<{ kind: string; code: string }> {
  try {
    await p;
  } catch (err) {
    const kind = err instanceof FetchRefusedError ? 'refused' : err instanceof FetchTransientError ? 'transient' : 'other';
    return { kind, code: (err as { code?: string }).code ?? String(err) };
  }
  throw new Error('expected the fetch to fail');
}

describe('HttpFetcher', () => {
  let server: LocalServer;
  let base: string;
  let f: HttpFetcher;

  beforeEach(async () => {
    server = await new LocalServer(http.createServer()).listen();
    base = `http://127.0.0.1:${server.port}`;
    server.routes.set('/ok', (_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(BODY));
    f = fetcher();
  });

  afterEach(async () => {
    f.close();
    await server.close();
  });

  it('fetches from an allow-listed address, into a buffer that owns its memory', async () => {
    const bytes = await f.fetch(new URL(`${base}/ok`));
    expect(bytes.equals(BODY)).toBe(true);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(BODY.length);
  });

  it('refuses loopback without an allow-list entry, before connecting', async () => {
    const strict = fetcher({ policy: new AddressPolicy() });
    expect(await failure(strict.fetch(new URL(`${base}/ok`)))).toEqual({ kind: 'refused', code: 'fetch_refused' });
    expect(server.connections).toBe(0);
    strict.close();
  });

  it.each([
    'http://10.0.0.1/a.jpg',
    'http://172.16.5.4/a.jpg',
    'http://192.168.0.10/a.jpg',
    'http://100.64.1.1/a.jpg',
    'http://169.254.169.254/latest/meta-data/',
    'http://0.0.0.0/a.jpg',
    'http://224.0.0.1/a.jpg',
    'http://127.0.0.2/a.jpg',
    'http://2130706434/a.jpg',
    'http://0x7f.2/a.jpg',
    'http://[::1]/a.jpg',
    'http://[::]/a.jpg',
    'http://[::ffff:127.0.0.2]/a.jpg',
    'http://[::ffff:7f00:2]/a.jpg',
    'http://[::ffff:a9fe:a9fe]/a.jpg',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[fe80::1]/a.jpg',
    'http://[fc00::1]/a.jpg',
    'http://[ff02::1]/a.jpg',
    'http://[64:ff9b::a00:1]/a.jpg',
  ])('refuses the IP literal %s', async (uri) => {
    expect(await failure(f.fetch(new URL(uri)))).toEqual({ kind: 'refused', code: 'fetch_refused' });
  });

  it('refuses a host name whose DNS answer is private, and never connects', async () => {
    const calls: string[] = [];
    const g = fetcher({ resolve: table({ 'storage.test': ['10.1.2.3'], 'mixed.test': ['93.184.216.34', '127.0.0.2'], 'meta.test': ['169.254.169.254'] }, calls) });
    expect(await failure(g.fetch(new URL(`http://storage.test:${server.port}/ok`)))).toEqual({ kind: 'refused', code: 'fetch_refused' });
    expect(await failure(g.fetch(new URL(`http://mixed.test:${server.port}/ok`)))).toEqual({ kind: 'refused', code: 'fetch_refused' });
    expect(await failure(g.fetch(new URL('http://meta.test/latest/meta-data/')))).toEqual({ kind: 'refused', code: 'fetch_refused' });
    expect(calls).toEqual(['storage.test', 'mixed.test', 'meta.test']);
    expect(server.connections).toBe(0);
    g.close();
  });

  it('connects to exactly the address it checked (the resolver is the only source of addresses)', async () => {
    const g = fetcher({ resolve: table({ 'storage.test': ['127.0.0.1'] }) });
    const bytes = await g.fetch(new URL(`http://storage.test:${server.port}/ok`));
    expect(bytes.equals(BODY)).toBe(true);
    expect(server.connections).toBe(1);
    g.close();
  });

  it('maps unresolvable names to a transient DNS failure', async () => {
    const g = fetcher({ resolve: table({}) });
    expect(await failure(g.fetch(new URL('http://nowhere.test/a.jpg')))).toEqual({ kind: 'transient', code: 'fetch_dns_failed' });
    g.close();
  });

  it('follows allowed redirects and re-checks every hop', async () => {
    const g = fetcher({ resolve: table({ 'storage.test': ['127.0.0.1'], 'evil.test': ['192.168.1.1'] }) });
    const redirect = (location: string, status = 302): Route => (_req, res) => res.writeHead(status, { location }).end();
    server.routes.set('/r-ok', redirect('/ok', 301));
    server.routes.set('/r-abs', redirect(`http://storage.test:${server.port}/r-ok`, 307));
    server.routes.set('/r-private', redirect('http://10.0.0.5/a.jpg'));
    server.routes.set('/r-meta', redirect('http://169.254.169.254/latest/meta-data/iam/'));
    server.routes.set('/r-mapped', redirect('http://[::ffff:10.0.0.5]/a.jpg'));
    server.routes.set('/r-dns', redirect(`http://evil.test:${server.port}/ok`));
    server.routes.set('/r-file', redirect('file:///etc/passwd'));
    server.routes.set('/r-gopher', redirect('gopher://127.0.0.1/'));
    server.routes.set('/r-none', (_req, res) => res.writeHead(302).end());
    server.routes.set('/loop', redirect('/loop'));
    expect((await g.fetch(new URL(`${base}/r-abs`))).equals(BODY)).toBe(true);
    for (const path of ['/r-private', '/r-meta', '/r-mapped', '/r-dns', '/r-file', '/r-gopher']) {
      expect([path, await failure(g.fetch(new URL(`${base}${path}`)))]).toEqual([path, { kind: 'refused', code: 'fetch_refused' }]);
    }
    expect(await failure(g.fetch(new URL(`${base}/r-none`)))).toEqual({ kind: 'refused', code: 'fetch_client_error' });
    expect(await failure(g.fetch(new URL(`${base}/loop`)))).toEqual({ kind: 'refused', code: 'fetch_too_many_redirects' });
    g.close();
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    let finished = false;
    server.routes.set('/big', (_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
      res.on('finish', () => (finished = true));
    });
    expect(await failure(f.fetch(new URL(`${base}/big`)))).toEqual({ kind: 'refused', code: 'fetch_too_large' });
    expect(finished).toBe(false);
  });

  it('counts streamed bytes without Content-Length and aborts over the cap', async () => {
    let written = 0;
    let closedEarly = false;
    server.routes.set('/stream', (_req, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      const timer = setInterval(() => {
        if (res.destroyed || res.writableEnded) return;
        res.write(Buffer.alloc(1024));
        written += 1024;
      }, 5);
      res.on('close', () => {
        clearInterval(timer);
        closedEarly = !res.writableEnded;
      });
    });
    expect(await failure(f.fetch(new URL(`${base}/stream`)))).toEqual({ kind: 'refused', code: 'fetch_too_large' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => closedEarly && (clearInterval(poll), resolve()), 5);
    });
    expect(written).toBeGreaterThan(4096);
    expect(written).toBeLessThan(1024 * 1024);
  });

  it('narrows the cap once the first bytes tell the kind of media', async () => {
    const g = fetcher({ sizeLimit: { maxBytes: 8192, forHead: (head) => (head[0] === 0x56 ? 8192 : 2048) } });
    server.routes.set('/video-ish', (_req, res) => res.writeHead(200).end(Buffer.alloc(6000, 0x56)));
    server.routes.set('/image-ish', (_req, res) => res.writeHead(200).end(Buffer.alloc(6000, 0x49)));
    expect((await g.fetch(new URL(`${base}/video-ish`))).length).toBe(6000);
    expect(await failure(g.fetch(new URL(`${base}/image-ish`)))).toEqual({ kind: 'refused', code: 'fetch_too_large' });
    g.close();
  });

  it('maps statuses: 4xx refused, 408/429/5xx transient', async () => {
    for (const [status, expected] of [
      [404, { kind: 'refused', code: 'fetch_not_found' }],
      [410, { kind: 'refused', code: 'fetch_not_found' }],
      [401, { kind: 'refused', code: 'fetch_forbidden' }],
      [403, { kind: 'refused', code: 'fetch_forbidden' }],
      [400, { kind: 'refused', code: 'fetch_client_error' }],
      [408, { kind: 'transient', code: 'fetch_timeout' }],
      [429, { kind: 'transient', code: 'fetch_throttled' }],
      [500, { kind: 'transient', code: 'fetch_server_error' }],
      [503, { kind: 'transient', code: 'fetch_server_error' }],
    ] as const) {
      server.routes.set(`/s${status}`, (_req, res) => res.writeHead(status).end('no'));
      expect([status, await failure(f.fetch(new URL(`${base}/s${status}`)))]).toEqual([status, expected]);
    }
  });

  it('times out: no response, stalled body, slow trickle, slow DNS', async () => {
    const g = fetcher({ responseTimeoutMs: 150, totalTimeoutMs: 600, connectTimeoutMs: 150, resolve: (host) => (host === 'slow.test' ? new Promise(() => undefined) : table({})(host)) });
    server.routes.set('/silent', () => undefined);
    server.routes.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10));
    });
    server.routes.set('/trickle', (_req, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      const timer = setInterval(() => !res.destroyed && res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const timeout = { kind: 'transient', code: 'fetch_timeout' };
    expect(await failure(g.fetch(new URL(`${base}/silent`)))).toEqual(timeout);
    expect(await failure(g.fetch(new URL(`${base}/stall`)))).toEqual(timeout);
    expect(await failure(g.fetch(new URL(`${base}/trickle`)))).toEqual(timeout);
    expect(await failure(g.fetch(new URL(`http://slow.test:${server.port}/ok`)))).toEqual(timeout);
    g.close();
  });

  it('treats a reset or a short body as a transient connection failure', async () => {
    server.routes.set('/reset', (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(100), () => req.socket.destroy());
    });
    server.routes.set('/short', (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10), () => req.socket.end());
    });
    const g = fetcher();
    expect(await failure(g.fetch(new URL(`${base}/reset`)))).toEqual({ kind: 'transient', code: 'fetch_connection_failed' });
    expect(await failure(g.fetch(new URL(`${base}/short`)))).toEqual({ kind: 'transient', code: 'fetch_connection_failed' });
    g.close();
    const closed = fetcher();
    const port = server.port;
    await server.close();
    expect(await failure(closed.fetch(new URL(`http://127.0.0.1:${port}/ok`)))).toEqual({ kind: 'transient', code: 'fetch_connection_failed' });
    closed.close();
    server = await new LocalServer(http.createServer()).listen();
  });

  it('refuses schemes it was not given', async () => {
    const httpsOnly = fetcher({ schemes: new Set(['https']) });
    expect(await failure(httpsOnly.fetch(new URL(`${base}/ok`)))).toEqual({ kind: 'refused', code: 'fetch_refused' });
    expect(server.connections).toBe(0);
    httpsOnly.close();
  });
});

describe('HttpFetcher over HTTPS', () => {
  let dir: string;
  let cert: Buffer;
  let server: LocalServer;
  let plain: LocalServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hasher-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=storage.test',
      '-addext', 'subjectAltName=DNS:storage.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    server = await new LocalServer(https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert })).listen();
    plain = await new LocalServer(http.createServer()).listen();
    server.routes.set('/ok', (_req, res) => res.writeHead(200).end(BODY));
    server.routes.set('/downgrade', (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${plain.port}/ok` }).end());
    plain.routes.set('/ok', (_req, res) => res.writeHead(200).end(BODY));
  });

  afterAll(async () => {
    await server.close();
    await plain.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const resolve = table({ 'storage.test': ['127.0.0.1'] });

  it('verifies the certificate against the host name (SNI and checks use the name, the socket the checked IP)', async () => {
    const g = fetcher({ resolve, ca: cert });
    expect((await g.fetch(new URL(`https://storage.test:${server.port}/ok`))).equals(BODY)).toBe(true);
    g.close();
  });

  it('refuses a certificate that does not verify', async () => {
    const g = fetcher({ resolve });
    expect(await failure(g.fetch(new URL(`https://storage.test:${server.port}/ok`)))).toEqual({ kind: 'refused', code: 'fetch_tls_failed' });
    g.close();
  });

  it('refuses a redirect from https to http', async () => {
    const g = fetcher({ resolve, ca: cert });
    expect(await failure(g.fetch(new URL(`https://storage.test:${server.port}/downgrade`)))).toEqual({ kind: 'refused', code: 'fetch_refused' });
    expect(plain.connections).toBe(0);
    g.close();
  });
});
