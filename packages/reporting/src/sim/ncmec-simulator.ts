import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeXmlText } from '../reports/xml';
import { applyFaultBeforeProcessing, closeServer, createSimulatorServer, FaultInjector, formFields, heldResponse, listenOnLoopback, readBody, send } from './http-util';
import { FILE_DETAILS_SPEC, parseXmlDocument, REPORT_SPEC, validateElement, type XmlNode } from './xml-schema';

/** Response codes the simulator answers with. */
export const SIM_NCMEC_CODES = {
  success: 0,
  /** HTTP 401: missing or wrong basic-auth credentials. */
  authFailed: 1000,
  /** Request not valid otherwise (retracted report, missing file part, unknown endpoint, wrong method). */
  invalidRequest: 4000,
  /** Schema validation failed (malformed XML, wrong element order, missing required element, bad value). */
  validationFailed: 4100,
  /** The report id does not exist (or none was given), as NCMEC answers. */
  reportNotFound: 5001,
  /** The report is already finished (e.g. a repeated `/finish`), as NCMEC answers. */
  reportAlreadyFinished: 5102,
} as const;

/** A report held by the simulator. */
export interface SimNcmecReport {
  reportId: string;
  state: 'open' | 'finished' | 'retracted';
  xml: string;
  report: XmlNode;
  files: Map<string, { fileName: string; bytes: Buffer; md5: string; details?: XmlNode }>;
}

/** One request the simulator received (for assertions). */
export interface SimNcmecCall {
  path: string;
  httpStatus: number;
  responseCode?: number;
  responseDescription?: string;
  reportId?: string;
  fault?: string;
}

/** Options of {@link NcmecSimulator.start}. */
export interface NcmecSimulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  username?: string;
  password?: string;
}

/**
 * Local CyberTipline Reporting API simulator (node:http on 127.0.0.1). Enforces basic auth,
 * XSD element order and required elements (4100 "Validation failed"), and the flow: upload,
 * fileinfo and finish only for a submitted, unfinished report (5001 for an unknown report id,
 * 5102 for a finished one, as NCMEC answers; 4000 for a retracted one); retract only before finish.
 * Keeps everything it received and can inject faults (status, dropped connection, delay).
 * Never forwards anything anywhere.
 */
export class NcmecSimulator {
  /** Every call, in order. */
  readonly calls: SimNcmecCall[] = [];
  /** Reports by NCMEC report id. */
  readonly reports = new Map<string, SimNcmecReport>();
  readonly faults = new FaultInjector();
  private nextReportId = 100001;
  private nextFileId = 1;

  private constructor(
    private readonly server: Server,
    private readonly username: string,
    private readonly password: string,
  ) {}

  /** Starts a simulator on 127.0.0.1. */
  static async start(options: NcmecSimulatorOptions = {}): Promise<NcmecSimulator> {
    const ref: { sim?: NcmecSimulator } = {};
    const sim = new NcmecSimulator(
      createSimulatorServer((req, res) => ref.sim!.handle(req, res)),
      options.username ?? 'sim-user',
      options.password ?? 'sim-password',
    );
    ref.sim = sim;
    await listenOnLoopback(sim.server, options.port);
    return sim;
  }

  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  /** Credentials the simulator accepts. */
  get credentials(): { username: string; password: string } {
    return { username: this.username, password: this.password };
  }

  /** Calls to one path. */
  callsTo(path: string): SimNcmecCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  /** Stops the server (closing idle and active connections). */
  close(): Promise<void> {
    return closeServer(this.server);
  }

  private respond(res: ServerResponse, call: SimNcmecCall, httpStatus: number, code: number, description: string, extra: Record<string, string> = {}, root = 'reportResponse'): void {
    call.httpStatus = httpStatus;
    call.responseCode = code;
    call.responseDescription = description;
    const fields = Object.entries(extra)
      .map(([k, v]) => `<${k}>${escapeXmlText(v)}</${k}>`)
      .join('');
    send(
      res,
      httpStatus,
      'text/xml; charset=utf-8',
      `<?xml version="1.0" encoding="UTF-8"?>\n<${root}><responseCode>${code}</responseCode><responseDescription>${escapeXmlText(description)}</responseDescription>${fields}</${root}>`,
    );
  }

  private authorised(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return false;
    const given = Buffer.from(h.slice(6), 'base64');
    const want = Buffer.from(`${this.username}:${this.password}`);
    return given.length === want.length && timingSafeEqual(given, want);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    const call: SimNcmecCall = { path, httpStatus: 0 };
    this.calls.push(call);
    const { fault, ended } = await applyFaultBeforeProcessing(this.faults, path, call, req, res, { contentType: 'text/plain', body: 'injected fault' });
    if (ended) return;
    const body = await readBody(req);
    if (!this.authorised(req)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="cybertip-sim"');
      this.respond(res, call, 401, SIM_NCMEC_CODES.authFailed, 'Authentication required');
      return;
    }
    // With drop_after_processing, process fully but never answer.
    const out = fault?.kind === 'drop_after_processing' ? this.silent(res) : fault?.kind === 'hang' ? heldResponse(res) : res;
    if (req.method === 'GET' && path === '/status') return this.respond(out, call, 200, 0, 'Success');
    if (req.method !== 'POST') return this.respond(out, call, 405, SIM_NCMEC_CODES.invalidRequest, 'Method not allowed');
    switch (path) {
      case '/submit':
        return this.submit(out, call, body);
      case '/upload':
        return this.upload(out, call, req, body);
      case '/fileinfo':
        return this.fileInfo(out, call, body);
      case '/finish':
        return this.finish(out, call, req, body);
      case '/retract':
        return this.retract(out, call, req, body);
      default:
        return this.respond(out, call, 404, SIM_NCMEC_CODES.invalidRequest, 'Unknown endpoint');
    }
  }

  private silent(res: ServerResponse): ServerResponse {
    // A response object whose writes destroy the socket instead.
    return new Proxy(res, {
      get(target, prop) {
        if (prop === 'writeHead' || prop === 'setHeader') return () => target;
        if (prop === 'end') return () => target.socket?.destroy();
        return Reflect.get(target, prop, target);
      },
    });
  }

  private validate(xml: string, rootName: string): { node?: XmlNode; error?: string } {
    let node: XmlNode;
    try {
      node = parseXmlDocument(xml);
    } catch (err) {
      return { error: (err as Error).message };
    }
    if (node.name !== rootName) return { error: `cvc-elt.1.a: Cannot find the declaration of element '${node.name}'.` };
    const err = validateElement(node, rootName === 'report' ? REPORT_SPEC : FILE_DETAILS_SPEC);
    return err ? { error: err } : { node };
  }

  private submit(res: ServerResponse, call: SimNcmecCall, body: Buffer): void {
    const xml = body.toString('utf8');
    const v = this.validate(xml, 'report');
    if (!v.node) return this.respond(res, call, 400, SIM_NCMEC_CODES.validationFailed, `Validation failed ${v.error}`);
    const reportId = String(this.nextReportId++);
    this.reports.set(reportId, { reportId, state: 'open', xml, report: v.node, files: new Map() });
    call.reportId = reportId;
    this.respond(res, call, 200, 0, 'Success', { reportId });
  }

  private openReport(res: ServerResponse, call: SimNcmecCall, id: string | undefined): SimNcmecReport | undefined {
    call.reportId = id;
    const r = id ? this.reports.get(id) : undefined;
    if (!r) {
      this.respond(res, call, 400, SIM_NCMEC_CODES.reportNotFound, `Report ${id ?? '(missing id)'} does not exist`);
      return undefined;
    }
    if (r.state === 'finished') {
      this.respond(res, call, 400, SIM_NCMEC_CODES.reportAlreadyFinished, `Report ${id} is already finished`);
      return undefined;
    }
    if (r.state !== 'open') {
      this.respond(res, call, 400, SIM_NCMEC_CODES.invalidRequest, `Report ${id} is already ${r.state}`);
      return undefined;
    }
    return r;
  }

  private upload(res: ServerResponse, call: SimNcmecCall, req: IncomingMessage, body: Buffer): void {
    const { fields, files } = formFields(req.headers['content-type'], body);
    const r = this.openReport(res, call, fields.id);
    if (!r) return;
    const file = files.find((f) => f.name === 'file');
    if (!file) return this.respond(res, call, 400, SIM_NCMEC_CODES.invalidRequest, 'Missing file part');
    const fileId = createHash('sha256').update(`${r.reportId}:${this.nextFileId++}`).digest('hex').slice(0, 32);
    const md5 = createHash('md5').update(file.data).digest('hex');
    r.files.set(fileId, { fileName: file.filename ?? 'file', bytes: Buffer.from(file.data), md5 });
    this.respond(res, call, 200, 0, 'Success', { reportId: r.reportId, fileId, hash: md5 });
  }

  private fileInfo(res: ServerResponse, call: SimNcmecCall, body: Buffer): void {
    const v = this.validate(body.toString('utf8'), 'fileDetails');
    if (!v.node) return this.respond(res, call, 400, SIM_NCMEC_CODES.validationFailed, `Validation failed ${v.error}`);
    const text = (name: string): string | undefined => v.node!.children.find((c) => c.name === name)?.text.trim();
    const r = this.openReport(res, call, text('reportId'));
    if (!r) return;
    const fileId = text('fileId') ?? '';
    const f = r.files.get(fileId);
    if (!f) return this.respond(res, call, 400, SIM_NCMEC_CODES.invalidRequest, `File ${fileId} does not belong to report ${r.reportId}`);
    f.details = v.node;
    this.respond(res, call, 200, 0, 'Success', { reportId: r.reportId });
  }

  private finish(res: ServerResponse, call: SimNcmecCall, req: IncomingMessage, body: Buffer): void {
    const r = this.openReport(res, call, formFields(req.headers['content-type'], body).fields.id);
    if (!r) return;
    r.state = 'finished';
    call.httpStatus = 200;
    call.responseCode = 0;
    const files = [...r.files.keys()].map((f) => `<fileId>${f}</fileId>`).join('');
    send(
      res,
      200,
      'text/xml; charset=utf-8',
      `<?xml version="1.0" encoding="UTF-8"?>\n<reportDoneResponse><responseCode>0</responseCode><reportId>${r.reportId}</reportId><files>${files}</files></reportDoneResponse>`,
    );
  }

  private retract(res: ServerResponse, call: SimNcmecCall, req: IncomingMessage, body: Buffer): void {
    const r = this.openReport(res, call, formFields(req.headers['content-type'], body).fields.id);
    if (!r) return;
    r.state = 'retracted';
    this.respond(res, call, 200, 0, 'Success', { reportId: r.reportId });
  }
}
