/**
 * HTTP(S) media fetching with SSRF protection, on Node's own http/https.
 *
 * Why a custom `lookup` instead of resolving first and connecting later: the addresses we check
 * are the addresses the socket connects to (net hands our answers straight to connect), so a DNS
 * server cannot answer "public" to the check and "private" to the connection (rebinding). IP
 * literals skip the lookup and are checked before the request; every socket's peer address is
 * checked again on connect. Redirects are followed by hand, one hop at a time, each hop through
 * the same checks; a redirect to another scheme (file:) or from HTTPS to HTTP is refused.
 */
import { promises as dns } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { BoundedBuffer, type SizeLimit } from './bounded-buffer';
import { FetchRefusedError, FetchTransientError, isFetchError, type FetchError } from './errors';
import type { AddressPolicy } from './ip-policy';
import { parseIp } from './ip-policy';

/** Resolves a host name to every address it has (default: the OS resolver, like `dns.lookup`). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

/** The URL schemes the HTTP fetcher speaks. */
export type HttpScheme = 'http' | 'https';

/** Settings of {@link HttpFetcher}; every limit bounds what one hostile reference can cost. */
export interface HttpFetcherOptions {
  /** Which addresses may be connected to. */
  policy: AddressPolicy;
  /** Schemes accepted for the first request and for redirects. */
  schemes: ReadonlySet<HttpScheme>;
  /** Budget for the TCP connection (DNS included), ms. */
  connectTimeoutMs: number;
  /** Budget from connection to response headers, and for any pause between body chunks, ms. */
  responseTimeoutMs: number;
  /** Budget for the whole fetch, redirects and body included, ms. */
  totalTimeoutMs: number;
  /** Redirects followed before giving up (`fetch_too_many_redirects`). */
  maxRedirects: number;
  /** Byte cap. */
  sizeLimit: SizeLimit;
  /** Host name resolution; injectable for tests. Default: `dns.lookup(host, { all: true })`. */
  resolve?: Resolver;
  /** Extra trusted CA certificates (PEM) for HTTPS, e.g. a private PKI. Default: Node's bundle. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Sockets kept per host (keep-alive). Default 16. */
  maxSocketsPerHost?: number;
  /** User-Agent header. */
  userAgent?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const TLS_ERROR = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|HOSTNAME_MISMATCH)/;

const defaultResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** The host of a URL as a connect target: IPv6 literals lose their brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Fetches media over HTTP(S). Returns the body as one buffer that owns its memory.
 * @throws FetchRefusedError `fetch_refused` (scheme, address, downgrade), `fetch_invalid_uri`,
 *   `fetch_not_found`, `fetch_forbidden`, `fetch_client_error`, `fetch_too_large`,
 *   `fetch_too_many_redirects`, `fetch_tls_failed`.
 * @throws FetchTransientError `fetch_timeout`, `fetch_server_error`, `fetch_throttled`,
 *   `fetch_dns_failed`, `fetch_connection_failed`.
 */
export class HttpFetcher {
  private readonly resolve: Resolver;
  private readonly agents: Record<HttpScheme, http.Agent>;

  constructor(private readonly options: HttpFetcherOptions) {
    this.resolve = options.resolve ?? defaultResolver;
    const maxSockets = options.maxSocketsPerHost ?? 16;
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' }),
      https: new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo', ca: options.ca }),
    };
  }

  /** Fetches `url`, following up to `maxRedirects` checked redirects. */
  async fetch(url: URL, signal?: AbortSignal): Promise<Buffer> {
    const controller = new AbortController();
    const total = setTimeout(
      () => controller.abort(new FetchTransientError('fetch_timeout', `fetch exceeded ${this.options.totalTimeoutMs} ms`)),
      this.options.totalTimeoutMs,
    );
    const onOuterAbort = (): void => controller.abort(new FetchTransientError('fetch_connection_failed', 'fetch cancelled'));
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const origin = url.origin;
      let current = url;
      for (let hop = 0; ; hop++) {
        this.checkUrl(current);
        const res = await this.request(current, current.origin === origin ? url : undefined, controller.signal);
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.destroy();
          if (hop >= this.options.maxRedirects) throw new FetchRefusedError('fetch_too_many_redirects', `more than ${this.options.maxRedirects} redirects`);
          current = this.nextHop(current, res.headers.location);
          continue;
        }
        if (status >= 200 && status < 300) return await this.readBody(res, controller.signal);
        res.destroy();
        throw statusError(status);
      }
    } catch (err) {
      throw toFetchError(err, controller.signal);
    } finally {
      clearTimeout(total);
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private checkUrl(url: URL): void {
    const scheme = url.protocol.slice(0, -1);
    if (!this.options.schemes.has(scheme as HttpScheme)) throw new FetchRefusedError('fetch_refused', `scheme ${scheme} is not allowed`);
    const literal = parseIp(hostOf(url));
    if (literal) {
      const verdict = this.options.policy.check(hostOf(url));
      if (!verdict.allowed) throw new FetchRefusedError('fetch_refused', `address refused (${verdict.reason})`);
    } else if (hostOf(url) === '') {
      throw new FetchRefusedError('fetch_invalid_uri', 'URI has no host');
    }
  }

  private nextHop(current: URL, location: string | undefined): URL {
    if (!location) throw new FetchRefusedError('fetch_client_error', 'redirect without a Location header');
    let next: URL;
    try {
      next = new URL(location, current);
    } catch (err) {
      throw new FetchRefusedError('fetch_invalid_uri', 'redirect to an unparsable location', { cause: err });
    }
    if (current.protocol === 'https:' && next.protocol === 'http:') throw new FetchRefusedError('fetch_refused', 'redirect from https to http refused');
    return next;
  }

  /** Sends one GET; resolves with the response once its headers arrived. */
  private request(url: URL, credentialsFrom: URL | undefined, signal: AbortSignal): Promise<IncomingMessage> {
    const scheme = url.protocol === 'https:' ? 'https' : 'http';
    const { connectTimeoutMs, responseTimeoutMs, policy } = this.options;
    const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': this.options.userAgent ?? 'safeguard-hasher' };
    const auth = credentialsFrom && (credentialsFrom.username || credentialsFrom.password) ? `${decodeURIComponent(credentialsFrom.username)}:${decodeURIComponent(credentialsFrom.password)}` : undefined;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = (ms: number, what: string): void => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(new FetchTransientError('fetch_timeout', `${what} exceeded ${ms} ms`)), ms);
      };
      const req = (scheme === 'https' ? https : http).request({
        protocol: url.protocol,
        hostname: hostOf(url),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        auth,
        agent: this.agents[scheme],
        lookup: this.lookup,
        signal,
      });
      req.on('socket', (socket: Socket) => {
        const connected = (): void => {
          const peer = socket.remoteAddress;
          const verdict = peer ? policy.check(peer) : ({ allowed: false, reason: 'invalid' } as const);
          if (!verdict.allowed) {
            req.destroy(new FetchRefusedError('fetch_refused', `address refused (${verdict.reason})`));
            return;
          }
          arm(responseTimeoutMs, 'waiting for the response');
        };
        if (socket.connecting) {
          arm(connectTimeoutMs, 'connecting');
          socket.once('connect', connected);
        } else {
          connected();
        }
      });
      req.once('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end();
    });
  }

  /** Resolves a host name and refuses it if ANY of its addresses is refused. */
  private readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.resolve(hostname).then(
      (answers) => {
        for (const a of answers) {
          const verdict = this.options.policy.check(a.address);
          if (!verdict.allowed) throw new FetchRefusedError('fetch_refused', `host name resolves to a refused address (${verdict.reason})`);
        }
        const usable = options.family === 4 || options.family === 6 ? answers.filter((a) => a.family === options.family) : answers;
        if (usable.length === 0) throw new FetchTransientError('fetch_dns_failed', 'host name has no address');
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
    ).catch((err: unknown) => {
      const error = isFetchError(err) ? err : new FetchTransientError('fetch_dns_failed', 'host name did not resolve', { cause: err });
      callback(error, '', 0);
    });
  };

  private readBody(res: IncomingMessage, signal: AbortSignal): Promise<Buffer> {
    const { responseTimeoutMs, sizeLimit } = this.options;
    return new Promise<Buffer>((resolve, reject) => {
      const body = new BoundedBuffer(sizeLimit);
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        res.destroy();
        reject(err);
      };
      const onAbort = (): void => fail(signal.reason);
      const rearm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => fail(new FetchTransientError('fetch_timeout', `no body data for ${responseTimeoutMs} ms`)), responseTimeoutMs);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const declared = res.headers['content-length'];
      if (declared !== undefined && /^\d+$/.test(declared)) {
        try {
          body.declare(Number(declared));
        } catch (err) {
          fail(err);
          return;
        }
      }
      rearm();
      res.on('data', (chunk: Buffer) => {
        try {
          body.push(chunk);
          rearm();
        } catch (err) {
          fail(err);
        }
      });
      res.once('end', () => {
        if (settled) return;
        if (!res.complete) {
          fail(new FetchTransientError('fetch_connection_failed', 'response body cut short'));
          return;
        }
        try {
          const bytes = body.finish();
          settled = true;
          clearTimeout(idle);
          signal.removeEventListener('abort', onAbort);
          resolve(bytes);
        } catch (err) {
          fail(err);
        }
      });
      res.once('error', (err) => fail(err));
      res.once('close', () => {
        if (!settled && !res.complete) fail(new FetchTransientError('fetch_connection_failed', 'connection closed before the body ended'));
      });
    });
  }
}

/** Maps a final HTTP status (not 2xx, not a followed redirect) to its fetch error. */
export function statusError(status: number): FetchError {
  if (status === 404 || status === 410) return new FetchRefusedError('fetch_not_found', `HTTP ${status}`);
  if (status === 401 || status === 403) return new FetchRefusedError('fetch_forbidden', `HTTP ${status}`);
  if (status === 408) return new FetchTransientError('fetch_timeout', `HTTP ${status}`);
  if (status === 429) return new FetchTransientError('fetch_throttled', `HTTP ${status}`);
  if (status >= 500) return new FetchTransientError('fetch_server_error', `HTTP ${status}`);
  return new FetchRefusedError('fetch_client_error', `HTTP ${status}`);
}

/** Wraps whatever a request threw into a fetch error, keeping the cause. */
function toFetchError(err: unknown, signal: AbortSignal): FetchError {
  if (isFetchError(err)) return err;
  if (signal.aborted && isFetchError(signal.reason)) return signal.reason;
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (isFetchError(cause)) return cause;
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (TLS_ERROR.test(code)) return new FetchRefusedError('fetch_tls_failed', 'TLS certificate did not verify', { cause: err });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') return new FetchTransientError('fetch_dns_failed', 'host name did not resolve', { cause: err });
  return new FetchTransientError('fetch_connection_failed', 'connection failed', { cause: err });
}
