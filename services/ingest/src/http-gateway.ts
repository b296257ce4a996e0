import { isSafeguardError } from '@safeguard/domain';
import type { Logger } from '@safeguard/observability';
import { bearerToken, lookupApiKey } from '@safeguard/service-runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IngestLimits } from './config';
import type { IngestHandler, SubmitResult } from './handler';
import type { IngestMetrics } from './metrics';
import { parseContentRequest, parseMessageRequest, RejectedInputError, RejectionCodes } from './validation';

/** Options of {@link buildHttpGateway}. */
export interface HttpGatewayOptions {
  handler: IngestHandler;
  /** sha256(key) hex → platform id. */
  apiKeys: ReadonlyMap<string, string>;
  limits: IngestLimits;
  metrics: IngestMetrics;
  logger: Logger;
  /** False while starting or shutting down: requests get 503 so the platform retries elsewhere. */
  isAccepting: () => boolean;
}

type Route = 'content' | 'messages';

declare module 'fastify' {
  interface FastifyRequest {
    platformId?: string;
  }
}

function errorBody(code: string, message: string, issues?: unknown[]): Record<string, unknown> {
  return { error: issues && issues.length > 0 ? { code, message, issues } : { code, message } };
}

/**
 * The platform-facing HTTP API:
 * - `POST /v1/content`: one upload's metadata and media reference (or small inline bytes, base64).
 * - `POST /v1/messages`: one chat message.
 * Both need `Authorization: Bearer <api key>`; the key determines the platform id. Answers:
 * 202 accepted (with the event id), 200 duplicate, 400/413/415 refused with `{error:{code,message}}`,
 * 401 without a valid key, 503 when the event could not be published (retry later).
 * Request bodies are never logged.
 */
export function buildHttpGateway(options: HttpGatewayOptions): FastifyInstance {
  const { handler, metrics, logger } = options;
  const bodyLimit = Math.ceil((options.limits.inlineMaxBytes * 4) / 3) + 64 * 1024;
  const app = Fastify({ logger: false, bodyLimit, return503OnClosing: true });

  app.addHook('onRequest', async (request, reply) => {
    (request as FastifyRequest & { startedAt?: bigint }).startedAt = process.hrtime.bigint();
    if (!options.isAccepting()) {
      await reply.code(503).header('retry-after', '1').send(errorBody('not_ready', 'the service is starting or shutting down'));
      return reply;
    }
    const platformId = lookupApiKey(options.apiKeys, bearerToken(request.headers.authorization));
    if (platformId === undefined) {
      const route = routeOf(request);
      if (route) metrics.requests.inc({ route, outcome: 'unauthorized' });
      await reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('unauthorized', 'a valid API key is required'));
      return reply;
    }
    request.platformId = platformId;
    return undefined;
  });

  app.addHook('onResponse', async (request) => {
    const route = routeOf(request);
    const startedAt = (request as FastifyRequest & { startedAt?: bigint }).startedAt;
    if (route && startedAt !== undefined) metrics.requestSeconds.observe({ route }, Number(process.hrtime.bigint() - startedAt) / 1e9);
  });

  app.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const route = routeOf(request);
    const fastifyCode = error.code ?? '';
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(reply, route, 413, 'body_too_large', `the request body exceeds ${bodyLimit} bytes`);
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return refuse(reply, route, 415, 'unsupported_media_type', 'send application/json');
    if (fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error instanceof SyntaxError || fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return refuse(reply, route, 400, 'invalid_json', 'the request body is not valid JSON');
    }
    if (error instanceof RejectedInputError) {
      const status = error.code === RejectionCodes.inlineTooLarge ? 413 : 400;
      return refuse(reply, route, status, error.code, error.message, error.issues);
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return refuse(reply, route, error.statusCode, 'invalid_request', 'the request was not understood');
    }
    if (route) metrics.requests.inc({ route, outcome: 'unavailable' });
    logger.error({ route, code: isSafeguardError(error) ? error.code : 'unexpected_error', err: error }, 'publication failed');
    return reply.code(503).header('retry-after', '1').send(errorBody('unavailable', 'the event could not be published; retry later'));
  });

  function refuse(reply: FastifyReply, route: Route | undefined, status: number, code: string, message: string, issues?: unknown[]): FastifyReply {
    if (route) {
      metrics.requests.inc({ route, outcome: 'rejected' });
      handler.rejected(route === 'content' ? 'content' : 'message', 'http', code);
    }
    return reply.code(status).send(errorBody(code, message, issues));
  }

  async function answer(reply: FastifyReply, route: Route, result: SubmitResult): Promise<FastifyReply> {
    metrics.requests.inc({ route, outcome: result.status });
    return reply.code(result.status === 'accepted' ? 202 : 200).send(result);
  }

  app.post('/v1/content', async (request, reply) => {
    const draft = parseContentRequest(request.body);
    return answer(reply, 'content', await handler.submitContent(request.platformId!, draft, 'http'));
  });

  app.post('/v1/messages', async (request, reply) => {
    const draft = parseMessageRequest(request.body);
    return answer(reply, 'messages', await handler.submitMessage(request.platformId!, draft, 'http'));
  });

  return app;
}

function routeOf(request: FastifyRequest): Route | undefined {
  const url = request.url.split('?')[0];
  if (url === '/v1/content') return 'content';
  if (url === '/v1/messages') return 'messages';
  return undefined;
}

export { RejectionCodes };
