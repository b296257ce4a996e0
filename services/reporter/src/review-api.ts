import { isSafeguardError } from '@safeguard/domain';
import type { Logger } from '@safeguard/observability';
import {
  ConflictError,
  ReportingInputError,
  signAuditHead,
  withExpiredClaimsReleased,
  type AuditActor,
  type AuditValue,
  type Case,
  type CaseState,
  type Complaint,
  type ReportingEngine,
  type ReportingStore,
  type ReviewCommand,
  type SigningKey,
} from '@safeguard/reporting';
import { bearerToken, lookupApiKey } from '@safeguard/service-runtime';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiPrincipal, ApiRole } from './config';
import type { ReporterMetrics } from './metrics';
import { caseDetail, caseSummary, complaintView } from './views';

/** Options of {@link buildReviewApi}. */
export interface ReviewApiOptions {
  engine: ReportingEngine;
  store: ReportingStore;
  /** sha256(key) hex → principal. */
  apiKeys: ReadonlyMap<string, ApiPrincipal>;
  /** Signs audit heads (`GET /v1/audit/head`). */
  signingKey: SigningKey;
  /** Claim lease, ms (a request may ask for less). */
  leaseMs: number;
  metrics: ReporterMetrics;
  logger: Logger;
  /** False while starting or shutting down: requests get 503. */
  isAccepting: () => boolean;
  /** Called after every change (wakes the audit relay and the delivery task). */
  changed: () => void;
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
    /** The case the call was about, once it was found (for the audit record). */
    auditCaseId?: string;
    startedAt?: bigint;
  }
}

/** An HTTP refusal with a stable code. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

const CODE = z.string().regex(/^[a-z0-9_]{1,64}$/, 'a lowercase code [a-z0-9_], at most 64 characters');
const AWAITING: CaseState[] = ['pending_review', 'claimed', 'escalated'];
const STATES: CaseState[] = ['pending_review', 'claimed', 'confirmed', 'false_positive', 'escalated', 'reported', 'dropped', 'purged'];

const claimBody = z.strictObject({ leaseMs: z.number().int().positive().optional() }).nullish();
const decisionBody = z
  .strictObject({
    outcome: z.enum(['confirm', 'false_positive', 'escalate']),
    reasonCode: CODE.optional(),
    category: z.enum(['known_material', 'new_material', 'solicitation']).optional(),
    industryClassification: z.enum(['A1', 'A2', 'B1', 'B2']).optional(),
    urgent: z.boolean().optional(),
    action: z.enum(['none', 'disable_entry', 'propose_allow_list']).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.outcome !== 'confirm' && b.reasonCode === undefined) ctx.addIssue({ code: 'custom', path: ['reasonCode'], message: `required for ${b.outcome}` });
    if (b.outcome !== 'confirm' && (b.category !== undefined || b.industryClassification !== undefined || b.urgent !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['outcome'], message: 'category, industryClassification and urgent go with confirm' });
    }
    if (b.outcome !== 'false_positive' && b.action !== undefined) ctx.addIssue({ code: 'custom', path: ['action'], message: 'action goes with false_positive' });
  });
const complaintBody = z.strictObject({
  caseId: z.string().min(1).max(256),
  subject: z.enum(['detection', 'removal', 'report']),
  /** Opaque reference of the complainant on the platform (never a name or address). */
  complainantRef: z.string().min(1).max(256),
  groundsCode: CODE,
});
const complaintDecisionBody = z.strictObject({ outcome: z.enum(['upheld', 'rejected']), groundsCode: CODE });
const removalBody = z.strictObject({ removed: z.boolean() });
const listQuery = z.strictObject({
  state: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return AWAITING;
      const states = s.split(',').map((x) => x.trim()) as CaseState[];
      const bad = states.filter((x) => !STATES.includes(x));
      if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `unknown state(s); use ${STATES.join(', ')}` });
      return states;
    }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const complaintQuery = z.strictObject({ state: z.enum(['open', 'upheld', 'rejected']).optional() });

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new ApiError(400, 'invalid_request', 'the request does not match the schema', r.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })));
  }
  return r.data;
}

function errorBody(code: string, message: string, issues?: unknown[]): Record<string, unknown> {
  return { error: issues && issues.length > 0 ? { code, message, issues } : { code, message } };
}

const LIBRARY_STATUS: Record<string, number> = {
  not_found: 404,
  forbidden_role: 403,
  claim_required: 409,
  claim_conflict: 409,
  invalid_transition: 409,
  invalid_case: 400,
  invalid_event: 400,
  version_conflict: 503,
};

function actorOf(p: ApiPrincipal): AuditActor {
  return { kind: p.role, id: p.id };
}

/** Urgent first, then oldest first. */
function queueOrder(a: Case, b: Case): number {
  return Number(b.urgent) - Number(a.urgent) || a.openedAtMs - b.openedAtMs || (a.caseId < b.caseId ? -1 : 1);
}

/**
 * The review API (JSON over HTTP). Every request needs `Authorization: Bearer <key>` (or
 * `X-Api-Key: <key>`); the key maps to an id and a role (`reviewer`, `admin`, `platform`).
 * Every authenticated call is audited (`api_request`: route, status, case) before its answer
 * leaves; decisions are also audited by the engine. Answers carry evidence references (URIs,
 * content and message ids), hashes, provenance and scores; never content.
 *
 * Routes: `GET /v1/cases`, `POST /v1/cases/claim-next`, `GET /v1/cases/:caseId`,
 * `POST /v1/cases/:caseId/claim`, `.../release`, `.../decision`, `.../removal`,
 * `POST /v1/complaints`, `GET /v1/complaints`, `GET /v1/complaints/:complaintId`,
 * `POST /v1/complaints/:complaintId/decision`, `GET /v1/audit/head` (see the README section "reporter").
 */
export function buildReviewApi(options: ReviewApiOptions): FastifyInstance {
  const { engine, store, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true });

  const routeOf = (request: FastifyRequest): string => `${request.method} ${request.routeOptions.url ?? 'unknown'}`;

  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    if (!options.isAccepting()) {
      await reply.code(503).header('retry-after', '1').send(errorBody('not_ready', 'the service is starting or shutting down'));
      return reply;
    }
    const headerKey = request.headers['x-api-key'];
    const key = bearerToken(request.headers.authorization) ?? (typeof headerKey === 'string' ? headerKey : undefined);
    const principal = lookupApiKey(options.apiKeys, key);
    if (!principal) {
      logger.warn({ route: routeOf(request) }, 'review api: unauthenticated request refused');
      await reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('unauthorized', 'a valid API key is required'));
      return reply;
    }
    request.principal = principal;
    return undefined;
  });

  // The audit record of the call is written before the answer leaves; if it cannot be written
  // the caller gets 503 (the action itself, if any, was audited by the engine).
  app.addHook('onSend', async (request, reply, payload) => {
    const principal = request.principal;
    if (!principal) return payload;
    const data: { [key: string]: AuditValue } = { route: routeOf(request), status: reply.statusCode };
    try {
      await engine.audit.record({ atMs: now(), type: 'api_request', actor: actorOf(principal), ...(request.auditCaseId ? { caseId: request.auditCaseId } : {}), data });
      options.changed();
    } catch (err) {
      logger.error({ route: routeOf(request), code: isSafeguardError(err) ? err.code : 'unexpected_error', err }, 'review api: audit record failed');
      reply.code(503);
      return JSON.stringify(errorBody('audit_unavailable', 'the call could not be audited; retry later'));
    }
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request);
    metrics.apiRequests.inc({ route, status: String(reply.statusCode) });
    if (request.startedAt !== undefined) metrics.apiRequestSeconds.observe(Number(process.hrtime.bigint() - request.startedAt) / 1e9);
  });

  app.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (error instanceof ApiError) return reply.code(error.status).send(errorBody(error.code, error.message, error.issues));
    if (error instanceof ReportingInputError || error instanceof ConflictError) {
      const status = LIBRARY_STATUS[error.code] ?? 400;
      if (status === 503) reply.header('retry-after', '1');
      return reply.code(status).send(errorBody(error.code, error.message));
    }
    const fastifyCode = error.code ?? '';
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody('body_too_large', 'the request body is too large'));
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send(errorBody('unsupported_media_type', 'send application/json'));
    if (error instanceof SyntaxError || fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send(errorBody('invalid_json', 'the request body is not valid JSON'));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody('invalid_request', 'the request was not understood'));
    }
    logger.error({ route: routeOf(request), code: isSafeguardError(error) ? error.code : 'unexpected_error', err: error }, 'review api: request failed');
    return reply.code(500).send(errorBody('internal_error', 'the request failed'));
  });

  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send(errorBody('not_found', 'no such route')));

  function principalOf(request: FastifyRequest, roles: readonly ApiRole[]): ApiPrincipal {
    const p = request.principal!;
    if (!roles.includes(p.role)) throw new ApiError(403, 'forbidden_role', `this call needs the role ${roles.join(' or ')}`);
    return p;
  }

  function reviewer(p: ApiPrincipal): { id: string; role: 'reviewer' | 'admin' } {
    return { id: p.id, role: p.role === 'admin' ? 'admin' : 'reviewer' };
  }

  async function loadCase(request: FastifyRequest, caseId: string): Promise<Case> {
    const c = await store.getCase(caseId);
    if (!c) throw new ApiError(404, 'not_found', 'no such case');
    request.auditCaseId = c.caseId;
    return c;
  }

  async function detail(caseId: string) {
    const c = await store.getCase(caseId);
    if (!c) throw new ApiError(404, 'not_found', 'no such case');
    return caseDetail(c, now(), { decisions: await store.listDecisions(caseId), outbox: await store.listOutbox(caseId), complaints: await store.listComplaints(caseId) });
  }

  const STAFF: ApiRole[] = ['reviewer', 'admin'];

  app.get('/v1/cases', async (request) => {
    principalOf(request, STAFF);
    const q = parse(listQuery, request.query);
    const t = now();
    const cases = (await store.listCases({ states: q.state }))
      .map((c) => withExpiredClaimsReleased(c, t))
      .filter((c) => q.state.includes(c.state))
      .sort(queueOrder)
      .slice(0, q.limit);
    return { cases: cases.map((c) => caseSummary(c, t)) };
  });

  app.post('/v1/cases/claim-next', async (request, reply) => {
    const p = principalOf(request, STAFF);
    const body = parse(claimBody, request.body);
    const t = now();
    const open = (await store.listCases({ states: AWAITING })).map((c) => withExpiredClaimsReleased(c, t));
    const wanted: CaseState[] = p.role === 'admin' ? ['escalated', 'pending_review'] : ['pending_review'];
    const candidates = wanted.flatMap((state) => open.filter((c) => c.state === state).sort(queueOrder));
    for (const c of candidates) {
      try {
        await engine.review(c.caseId, { type: 'claim', actor: reviewer(p), leaseMs: Math.min(body?.leaseMs ?? options.leaseMs, options.leaseMs) });
      } catch (err) {
        // Someone else got it first (or it changed state): try the next one.
        if (err instanceof ConflictError || (err instanceof ReportingInputError && (err.code === 'invalid_transition' || err.code === 'forbidden_role'))) continue;
        throw err;
      }
      request.auditCaseId = c.caseId;
      options.changed();
      return { case: await detail(c.caseId) };
    }
    return reply.code(204).send();
  });

  app.get<{ Params: { caseId: string } }>('/v1/cases/:caseId', async (request) => {
    principalOf(request, STAFF);
    const c = await loadCase(request, request.params.caseId);
    return { case: await detail(c.caseId) };
  });

  app.post<{ Params: { caseId: string } }>('/v1/cases/:caseId/claim', async (request) => {
    const p = principalOf(request, STAFF);
    const body = parse(claimBody, request.body);
    const c = await loadCase(request, request.params.caseId);
    await engine.review(c.caseId, { type: 'claim', actor: reviewer(p), leaseMs: Math.min(body?.leaseMs ?? options.leaseMs, options.leaseMs) });
    options.changed();
    return { case: await detail(c.caseId) };
  });

  app.post<{ Params: { caseId: string } }>('/v1/cases/:caseId/release', async (request) => {
    const p = principalOf(request, STAFF);
    const c = await loadCase(request, request.params.caseId);
    await engine.review(c.caseId, { type: 'release', actor: reviewer(p) });
    options.changed();
    return { case: await detail(c.caseId) };
  });

  app.post<{ Params: { caseId: string } }>('/v1/cases/:caseId/decision', async (request) => {
    const p = principalOf(request, STAFF);
    const b = parse(decisionBody, request.body);
    const c = await loadCase(request, request.params.caseId);
    const actor = reviewer(p);
    const cmd: ReviewCommand =
      b.outcome === 'confirm'
        ? {
            type: 'confirm',
            actor,
            ...(b.reasonCode ? { reasonCode: b.reasonCode } : {}),
            ...(b.category ? { category: b.category } : {}),
            ...(b.industryClassification ? { industryClassification: b.industryClassification } : {}),
            ...(b.urgent !== undefined ? { urgent: b.urgent } : {}),
          }
        : b.outcome === 'false_positive'
          ? { type: 'false_positive', actor, reasonCode: b.reasonCode!, action: b.action === 'propose_allow_list' ? 'propose_allow' : (b.action ?? 'none') }
          : { type: 'escalate', actor, reasonCode: b.reasonCode! };
    const result = await engine.review(c.caseId, cmd);
    metrics.decisions.inc({ outcome: b.outcome });
    options.changed();
    return {
      decision: result.decision ? { decisionId: result.decision.decisionId, outcome: result.decision.decision, urgent: result.decision.urgent, atMs: result.decision.atMs } : null,
      feedback: result.feedback.map((f) => ({ feedbackId: f.feedbackId, bank: f.bankName, entryId: f.entryId, vote: f.vote, action: f.action })),
      case: await detail(c.caseId),
    };
  });

  app.post<{ Params: { caseId: string } }>('/v1/cases/:caseId/removal', async (request) => {
    principalOf(request, ['platform', 'admin']);
    const b = parse(removalBody, request.body);
    const c = await loadCase(request, request.params.caseId);
    const saved = await engine.markRemoved(c.caseId, b.removed);
    options.changed();
    return { caseId: saved.caseId, removal: saved.removal ?? null };
  });

  app.post('/v1/complaints', async (request, reply) => {
    principalOf(request, ['platform', 'admin']);
    const b = parse(complaintBody, request.body);
    await loadCase(request, b.caseId);
    const complaint = await engine.fileComplaint(b);
    options.changed();
    return reply.code(201).send({ complaint: complaintView(complaint) });
  });

  app.get('/v1/complaints', async (request) => {
    principalOf(request, ['admin']);
    const q = parse(complaintQuery, request.query);
    const all: Complaint[] = await store.listComplaints();
    return { complaints: all.filter((c) => q.state === undefined || c.state === q.state).map(complaintView) };
  });

  app.get<{ Params: { complaintId: string } }>('/v1/complaints/:complaintId', async (request) => {
    principalOf(request, ['admin']);
    const complaint = await store.getComplaint(request.params.complaintId);
    if (!complaint) throw new ApiError(404, 'not_found', 'no such complaint');
    request.auditCaseId = complaint.caseId;
    return { complaint: complaintView(complaint) };
  });

  app.post<{ Params: { complaintId: string } }>('/v1/complaints/:complaintId/decision', async (request) => {
    const p = principalOf(request, ['admin']);
    const b = parse(complaintDecisionBody, request.body);
    const existing = await store.getComplaint(request.params.complaintId);
    if (!existing) throw new ApiError(404, 'not_found', 'no such complaint');
    request.auditCaseId = existing.caseId;
    const decided = await engine.decideComplaint(existing.complaintId, { actor: { id: p.id, role: 'admin' }, outcome: b.outcome, groundsCode: b.groundsCode });
    options.changed();
    return { complaint: complaintView(decided), case: await detail(existing.caseId) };
  });

  app.get('/v1/audit/head', async (request, reply) => {
    principalOf(request, ['admin']);
    const head = await engine.audit.head();
    if (!head) return reply.code(204).send();
    return { head: signAuditHead(head, options.signingKey, now()) };
  });

  return app;
}
