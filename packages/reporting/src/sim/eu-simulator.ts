import { createHash, type KeyObject } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keyIdOf } from '../keys';
import { verifyEuReportBytes, type EuCentreReport } from '../reports/eu-report';
import { applyFaultBeforeProcessing, closeServer, createSimulatorServer, FaultInjector, heldResponse, listenOnLoopback, readBody, send } from './http-util';

/** One request the EU Centre simulator received. */
export interface SimEuCall {
  httpStatus: number;
  idempotencyKey?: string;
  /** Verification failure reason, when rejected. */
  error?: string;
  receiptId?: string;
  fault?: string;
}

/** Options of {@link EuCentreSimulator.start}. */
export interface EuCentreSimulatorOptions {
  /** Provider public keys the simulator trusts (looked up by key id). */
  publicKeys: KeyObject[];
  port?: number;
  /** Require this bearer token when set. */
  bearerToken?: string;
}

/**
 * Local EU Centre intake simulator (node:http on 127.0.0.1, `POST /reports`). Requires an
 * `Idempotency-Key` header, verifies the report's Ed25519 signature (strict canonical bytes)
 * against the trusted keys and checks every Art. 13 member; answers 201 `{receiptId}`, the
 * same receipt for a repeated key with the same bytes, 409 for a reused key with other bytes,
 * 422 for a report that fails verification. Keeps what it received; injects faults.
 */
export class EuCentreSimulator {
  readonly calls: SimEuCall[] = [];
  /** Accepted reports by idempotency key. */
  readonly accepted = new Map<string, { receiptId: string; body: Buffer; report: EuCentreReport }>();
  readonly faults = new FaultInjector();
  private readonly keys: Map<string, KeyObject>;
  private nextReceipt = 1;

  private constructor(
    private readonly server: Server,
    options: EuCentreSimulatorOptions,
  ) {
    this.keys = new Map(options.publicKeys.map((k) => [keyIdOf(k), k]));
    this.bearer = options.bearerToken;
  }
  private readonly bearer: string | undefined;

  /** Starts a simulator on 127.0.0.1. */
  static async start(options: EuCentreSimulatorOptions): Promise<EuCentreSimulator> {
    const ref: { sim?: EuCentreSimulator } = {};
    const sim = new EuCentreSimulator(
      createSimulatorServer((req, res) => ref.sim!.handle(req, res)),
      options,
    );
    ref.sim = sim;
    await listenOnLoopback(sim.server, options.port);
    return sim;
  }

  /** URL reports are POSTed to, e.g. `http://127.0.0.1:40124/reports`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/reports`;
  }

  /** Stops the server. */
  close(): Promise<void> {
    return closeServer(this.server);
  }

  private reply(res: ServerResponse, call: SimEuCall, status: number, body: Record<string, unknown>): void {
    call.httpStatus = status;
    send(res, status, 'application/json', JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, rawRes: ServerResponse): Promise<void> {
    const call: SimEuCall = { httpStatus: 0 };
    let res = rawRes;
    this.calls.push(call);
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const { fault, ended } = await applyFaultBeforeProcessing(this.faults, path, call, req, rawRes, { contentType: 'application/json', body: '{"error":"injected fault"}' });
    if (ended) return;
    if (fault?.kind === 'hang') res = heldResponse(rawRes);
    const body = await readBody(req);
    if (req.method !== 'POST' || path !== '/reports') return this.reply(res, call, 404, { error: 'not_found' });
    if (this.bearer !== undefined && req.headers.authorization !== `Bearer ${this.bearer}`) return this.reply(res, call, 401, { error: 'unauthorized' });
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return this.reply(res, call, 400, { error: 'missing_idempotency_key' });
    call.idempotencyKey = key;
    const previous = this.accepted.get(key);
    if (previous) {
      if (!previous.body.equals(body)) return this.reply(res, call, 409, { error: 'idempotency_key_reused' });
      call.receiptId = previous.receiptId;
      return this.reply(res, call, 200, { receiptId: previous.receiptId, duplicate: true });
    }
    let keyId: unknown;
    try {
      keyId = (JSON.parse(body.toString('utf8')) as { signature?: { keyId?: unknown } }).signature?.keyId;
    } catch {
      keyId = undefined;
    }
    const publicKey = typeof keyId === 'string' ? this.keys.get(keyId) : undefined;
    if (!publicKey) {
      call.error = 'unknown_key';
      return this.reply(res, call, 422, { error: 'unknown_key' });
    }
    const v = verifyEuReportBytes(body, publicKey, keyId as string);
    if (!v.ok) {
      call.error = v.detail ? `${v.reason}: ${v.detail}` : v.reason;
      return this.reply(res, call, 422, { error: v.reason, ...(v.detail ? { detail: v.detail } : {}) });
    }
    const receiptId = `euc-${createHash('sha256').update(`${key}:${this.nextReceipt++}`).digest('hex').slice(0, 16)}`;
    this.accepted.set(key, { receiptId, body: Buffer.from(body), report: v.report });
    call.receiptId = receiptId;
    if (fault?.kind === 'drop_after_processing') {
      res.socket?.destroy();
      call.httpStatus = 0;
      return;
    }
    this.reply(res, call, 201, { receiptId });
  }
}
