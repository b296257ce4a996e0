import { z } from 'zod';
import { DeliveryUnavailableError, ReportingInputError } from '../errors';
import { httpRequest, throwForStatus, type FetchLike } from './http';

/** EU Centre endpoint configuration. No default URL: it is configured by the operator; tests use the local simulator. */
export const euCentreEndpointConfigSchema = z
  .object({
    /** Full URL the signed report is POSTed to. */
    url: z.string().url(),
    /** Optional bearer token. */
    bearerToken: z.string().min(1).optional(),
    /** Per-request timeout. Default 15 s. */
    timeoutMs: z.number().int().positive().default(15_000),
  })
  .strict();
/** See {@link euCentreEndpointConfigSchema}. */
export type EuCentreEndpointConfig = z.infer<typeof euCentreEndpointConfigSchema>;

/** Header carrying the report's idempotency key (the deterministic report id). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * Posts signed EU Centre reports. 2xx → receipt; 408/429/5xx/network → `DeliveryUnavailableError`;
 * other 4xx → `DeliveryRejectedError`. The `Idempotency-Key` header makes a repeated POST
 * (after a lost response) return the first receipt instead of filing twice.
 */
export class EuCentreClient {
  private readonly cfg: EuCentreEndpointConfig;

  /** @throws ReportingInputError `invalid_config` */
  constructor(config: z.input<typeof euCentreEndpointConfigSchema>, private readonly fetchImpl: FetchLike = fetch) {
    const r = euCentreEndpointConfigSchema.safeParse(config);
    if (!r.success) throw new ReportingInputError('invalid_config', `invalid EU Centre endpoint config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.cfg = r.data;
  }

  /** Sends the exact signed bytes; resolves to the Centre's receipt id. */
  async send(body: string, idempotencyKey: string): Promise<string> {
    const res = await httpRequest(
      this.fetchImpl,
      this.cfg.url,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          [IDEMPOTENCY_HEADER]: idempotencyKey,
          ...(this.cfg.bearerToken ? { Authorization: `Bearer ${this.cfg.bearerToken}` } : {}),
        },
        body,
      },
      this.cfg.timeoutMs,
    );
    throwForStatus(res.status, 'EU Centre');
    let receipt: unknown;
    try {
      receipt = (JSON.parse(res.body) as { receiptId?: unknown }).receiptId;
    } catch {
      receipt = undefined;
    }
    if (typeof receipt !== 'string' || receipt === '') throw new DeliveryUnavailableError('EU Centre: success without receiptId', { httpStatus: res.status });
    return receipt;
  }
}
