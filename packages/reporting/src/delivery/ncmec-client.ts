import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { DeliveryRejectedError, DeliveryUnavailableError, ReportingInputError } from '../errors';
import { NCMEC_RESPONSE } from '../reports/ncmec-report';
import { httpRequest, throwForStatus, type FetchLike } from './http';

/**
 * CyberTipline endpoint configuration. There is deliberately no default URL: NCMEC's test and
 * production endpoints are configured by the operator; tests use the local simulator.
 */
export const ncmecEndpointConfigSchema = z
  .object({
    /** Base URI, e.g. the simulator's `http://127.0.0.1:PORT`. Endpoints are appended (`/submit`, ...). */
    baseUrl: z.string().url(),
    username: z.string().min(1),
    password: z.string().min(1),
    /** Per-request timeout. Default 30 s: uploads of large videos take a while. */
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .strict();
/** See {@link ncmecEndpointConfigSchema}. */
export type NcmecEndpointConfig = z.infer<typeof ncmecEndpointConfigSchema>;

/** A parsed CyberTipline response. */
export interface NcmecResponse {
  responseCode: number;
  responseDescription: string;
  reportId?: string;
  fileId?: string;
  fileIds?: string[];
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => name === 'fileId' });

/** Parses `<reportResponse>` / `<reportDoneResponse>` bodies. Returns undefined for anything else. */
export function parseNcmecResponse(body: string): NcmecResponse | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const root = (doc.reportResponse ?? doc.reportDoneResponse) as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') return undefined;
  const code = Number(root.responseCode);
  if (!Number.isInteger(code)) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
  const files = root.files as { fileId?: unknown[] } | undefined;
  const topFileIds = Array.isArray(root.fileId) ? root.fileId : [];
  const reportId = str(root.reportId);
  const fileId = str(topFileIds[0]);
  const fileIds = files?.fileId?.map(str).filter((x): x is string => !!x);
  return {
    responseCode: code,
    responseDescription: str(root.responseDescription) ?? '',
    ...(reportId ? { reportId } : {}),
    ...(fileId ? { fileId } : {}),
    ...(fileIds ? { fileIds } : {}),
  };
}

/**
 * HTTP client of the CyberTipline Reporting API (basic auth). Each method performs one call and
 * throws `DeliveryUnavailableError` (retry later; `AmbiguousDeliveryError` when the call may
 * have been processed) or `DeliveryRejectedError` (never retried; `authorityCode` 4100 for a
 * validation failure). Sequencing, idempotency and retries are the delivery runner's job.
 */
export class NcmecClient {
  private readonly cfg: NcmecEndpointConfig;
  private readonly auth: string;

  /** @throws ReportingInputError `invalid_config` */
  constructor(config: z.input<typeof ncmecEndpointConfigSchema>, private readonly fetchImpl: FetchLike = fetch) {
    const r = ncmecEndpointConfigSchema.safeParse(config);
    if (!r.success) throw new ReportingInputError('invalid_config', `invalid NCMEC endpoint config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.cfg = r.data;
    this.auth = `Basic ${Buffer.from(`${this.cfg.username}:${this.cfg.password}`).toString('base64')}`;
  }

  private url(path: string): string {
    return `${this.cfg.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  private async call(path: string, body: string | FormData | URLSearchParams, contentType?: string): Promise<NcmecResponse> {
    const res = await httpRequest(
      this.fetchImpl,
      this.url(path),
      { method: 'POST', headers: { Authorization: this.auth, ...(contentType ? { 'Content-Type': contentType } : {}) }, body },
      this.cfg.timeoutMs,
    );
    const parsed = parseNcmecResponse(res.body);
    throwForStatus(res.status, `NCMEC ${path}`, parsed?.responseCode);
    if (!parsed) throw new DeliveryUnavailableError(`NCMEC ${path}: unreadable response`, { httpStatus: res.status });
    if (parsed.responseCode !== NCMEC_RESPONSE.SUCCESS) {
      throw new DeliveryRejectedError(`NCMEC ${path}: responseCode ${parsed.responseCode} ${parsed.responseDescription}`.trim(), {
        authorityCode: parsed.responseCode,
        httpStatus: res.status,
      });
    }
    return parsed;
  }

  /** `POST /submit` with a `<report>` document; resolves to NCMEC's report id. */
  async submit(reportXml: string): Promise<string> {
    const r = await this.call('/submit', reportXml, 'text/xml; charset=utf-8');
    if (!r.reportId) throw new DeliveryUnavailableError('NCMEC /submit: success without reportId');
    return r.reportId;
  }

  /** `POST /upload` (multipart `id`, `file`); resolves to the file id. */
  async upload(reportId: string, fileName: string, bytes: Uint8Array): Promise<string> {
    const form = new FormData();
    form.append('id', reportId);
    form.append('file', new Blob([bytes]), fileName);
    const r = await this.call('/upload', form);
    if (!r.fileId) throw new DeliveryUnavailableError('NCMEC /upload: success without fileId');
    return r.fileId;
  }

  /** `POST /fileinfo` with a `<fileDetails>` document. */
  async fileInfo(fileDetailsXml: string): Promise<void> {
    await this.call('/fileinfo', fileDetailsXml, 'text/xml; charset=utf-8');
  }

  /** `POST /finish` (form `id`); resolves to the file ids NCMEC holds. */
  async finish(reportId: string): Promise<string[]> {
    const r = await this.call('/finish', new URLSearchParams({ id: reportId }));
    return r.fileIds ?? [];
  }

  /** `POST /retract` (form `id`) for a report that was submitted but not finished. */
  async retract(reportId: string): Promise<void> {
    await this.call('/retract', new URLSearchParams({ id: reportId }));
  }
}
