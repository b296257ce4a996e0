import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** One readiness condition; the process is ready when every check returns true. */
export interface ReadinessCheck {
  /** Short stable name shown in the `/readyz` body, e.g. `consumer_joined`. */
  name: string;
  check: () => boolean | Promise<boolean>;
}

/** Options for {@link startHealthServer}. */
export interface HealthServerOptions {
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Bind address. Default `0.0.0.0` (Kubernetes probes come from the node). */
  host?: string;
  registry: Registry;
}

/**
 * The management endpoints of a process:
 * - `GET /healthz`: 200 while the event loop answers (liveness).
 * - `GET /readyz`: 200 when every readiness check passes and the process is not shutting down,
 *   else 503 with the failing check names (readiness).
 * - `GET /metrics`: Prometheus text exposition of the registry.
 */
export class HealthServer {
  private readonly checks: ReadinessCheck[] = [];
  private shuttingDown = false;

  private constructor(private readonly server: http.Server) {}

  /** Starts listening; resolves once bound. */
  static async start(options: HealthServerOptions): Promise<HealthServer> {
    const server = http.createServer();
    const instance = new HealthServer(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      instance.handle(req, res, options.registry).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
    });
    return instance;
  }

  /** The bound port (useful when started on port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Adds a readiness condition. */
  addReadinessCheck(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** Turns readiness false for good (called first on SIGTERM so load balancers stop sending work). */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  /** Evaluates readiness: the failing check names, empty when ready. */
  async failingChecks(): Promise<string[]> {
    const failing: string[] = this.shuttingDown ? ['shutting_down'] : [];
    for (const c of this.checks) {
      let ok = false;
      try {
        ok = await c.check();
      } catch {
        ok = false;
      }
      if (!ok) failing.push(c.name);
    }
    return failing;
  }

  /** Stops accepting connections and closes idle ones. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, registry: Registry): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const failing = await this.failingChecks();
      res
        .writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: failing.length === 0 ? 'ready' : 'not_ready', failing }));
    } else if (path === '/metrics') {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    } else {
      res.writeHead(404).end();
    }
  }
}

/** Starts a {@link HealthServer}. */
export function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  return HealthServer.start(options);
}
