import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A fault the simulators can inject into a call. */
export type Fault =
  /** Answer with this HTTP status (and an error body) without processing. */
  | { kind: 'status'; status: number }
  /** Destroy the connection before processing: the request had no effect. */
  | { kind: 'drop' }
  /** Process the request, then destroy the connection instead of answering (the client cannot know it worked). */
  | { kind: 'drop_after_processing' }
  /** Wait this long before processing (for client timeouts). */
  | { kind: 'delay'; ms: number }
  /**
   * Hold the request: never answer, keep the connection open until the client gives up or the
   * simulator closes (a delivery frozen mid-flow, e.g. to kill the client there). With
   * `process: true` the request takes effect first (the client cannot know it did).
   */
  | { kind: 'hang'; process?: boolean };

/** A fault rule: on the `nth` call (1-based, counted per `path` or over all paths), or on the next `times` calls. */
export interface FaultRule {
  path?: string;
  nth?: number;
  times?: number;
  fault: Fault;
}

/** Holds fault rules and counts calls; shared by both simulators. */
export class FaultInjector {
  private readonly rules: Array<FaultRule & { remaining: number }> = [];
  private readonly counts = new Map<string, number>();
  private total = 0;

  /** Adds a rule. Without `nth`, it applies to the next `times` (default 1) matching calls. */
  add(rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1 });
  }

  /** Removes every rule. */
  clear(): void {
    this.rules.length = 0;
  }

  /** Counts a call and returns the fault to apply, if any. */
  next(path: string): Fault | undefined {
    this.total++;
    const n = (this.counts.get(path) ?? 0) + 1;
    this.counts.set(path, n);
    for (const r of this.rules) {
      if (r.path !== undefined && r.path !== path) continue;
      if (r.nth !== undefined) {
        if ((r.path !== undefined ? n : this.total) === r.nth) return r.fault;
        continue;
      }
      if (r.remaining > 0) {
        r.remaining--;
        return r.fault;
      }
    }
    return undefined;
  }
}

/** What both simulators record of every call, as far as faults are concerned. */
export interface FaultedCall {
  httpStatus: number;
  fault?: string;
}

/**
 * Counts a call at `path` and applies the part of its fault that acts before the request is
 * read: `drop` destroys the connection, `status` answers that status with `injected`, `delay`
 * waits, `hang` without `process` leaves the request unanswered. Records the fault kind (and an
 * injected status) on `call`. The caller handles `hang` with `process` and `drop_after_processing`.
 * @returns the fault, and whether the request ended here.
 */
export async function applyFaultBeforeProcessing(
  faults: FaultInjector,
  path: string,
  call: FaultedCall,
  req: IncomingMessage,
  res: ServerResponse,
  injected: { contentType: string; body: string },
): Promise<{ fault: Fault | undefined; ended: boolean }> {
  const fault = faults.next(path);
  if (fault) call.fault = fault.kind;
  if (fault?.kind === 'drop') {
    req.socket.destroy();
    return { fault, ended: true };
  }
  if (fault?.kind === 'status') {
    call.httpStatus = fault.status;
    send(res, fault.status, injected.contentType, injected.body);
    return { fault, ended: true };
  }
  if (fault?.kind === 'delay') await sleep(fault.ms);
  return { fault, ended: fault?.kind === 'hang' && !fault.process };
}

/**
 * A node:http server for a simulator: a request whose handling fails is answered 500, or its
 * connection destroyed when the answer had begun. Start it with {@link listenOnLoopback}.
 */
export function createSimulatorServer(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Server {
  return createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain', 'simulator error');
      else res.destroy();
    });
  });
}

/** Listens on 127.0.0.1 only; port 0 (default) picks a free one. Rejects when the port is taken. */
export function listenOnLoopback(server: Server, port = 0): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

/** Stops a server, closing idle and active connections (held requests included). */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Reads a request body (bounded). */
export function readBody(req: IncomingMessage, limitBytes = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One part of a multipart/form-data body. */
export interface FormPart {
  name: string;
  filename?: string;
  data: Buffer;
}

/** Parses `multipart/form-data` (enough for the simulators). Returns undefined when not multipart. */
export function parseMultipart(contentType: string | undefined, body: Buffer): FormPart[] | undefined {
  const m = /^multipart\/form-data;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!m) return undefined;
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(boundary);
  while (pos >= 0) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerStart = start + 2; // CRLF
    const headerEnd = body.indexOf('\r\n\r\n', headerStart);
    if (headerEnd < 0) break;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), boundary]), headerEnd);
    if (next < 0) break;
    const headers = body.subarray(headerStart, headerEnd).toString('utf8');
    const disp = /content-disposition:[^\r\n]*?name="([^"]*)"(?:[^\r\n]*?filename="([^"]*)")?/i.exec(headers);
    if (disp) parts.push({ name: disp[1]!, ...(disp[2] !== undefined ? { filename: disp[2] } : {}), data: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}

/** Form fields from a urlencoded or multipart body. */
export function formFields(contentType: string | undefined, body: Buffer): { fields: Record<string, string>; files: FormPart[] } {
  const parts = parseMultipart(contentType, body);
  if (parts) {
    const fields: Record<string, string> = {};
    for (const p of parts) if (p.filename === undefined) fields[p.name] = p.data.toString('utf8');
    return { fields, files: parts.filter((p) => p.filename !== undefined) };
  }
  return { fields: Object.fromEntries(new URLSearchParams(body.toString('utf8'))), files: [] };
}

/** A response whose writes are swallowed: the request stays unanswered and the connection open. */
export function heldResponse(res: ServerResponse): ServerResponse {
  return new Proxy(res, {
    get(target, prop) {
      if (prop === 'writeHead' || prop === 'setHeader' || prop === 'write' || prop === 'end') return () => target;
      return Reflect.get(target, prop, target);
    },
  });
}

/** Sends a response. */
export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Waits (real timers; used only by the `delay` fault). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
