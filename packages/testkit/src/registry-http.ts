import { TestkitError, errorMessage } from './errors';
import { integrationEnv } from './integration-env';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Schema formats of the Confluent API. */
export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';

/** A schema as the registry returns it by id. */
export interface RegistrySchema {
  /** The schema text exactly as stored (for Avro, a JSON string). */
  schema: string;
  /** `AVRO` when the registry omits the field (Confluent does for Avro). */
  schemaType: SchemaType;
}

/** The latest (or a given) version of a subject. */
export interface SubjectVersion extends RegistrySchema {
  subject: string;
  version: number;
  id: number;
}

/**
 * Why: tests must check what the registry really holds over plain HTTP, independently of the
 * Confluent client library the services use. Covers the Confluent API calls tests need;
 * every method throws TestkitError `registry_http_error` (with `status` and the registry's
 * `error_code` in the message) for a non-2xx answer or a network failure.
 */
export interface RegistryHttp {
  /** Base URL in use (the Confluent API root, e.g. `http://127.0.0.1:8081/apis/ccompat/v7`). */
  readonly baseUrl: string;
  /** `GET /schemas/ids/{id}`: the writer schema a serializer's id refers to. */
  schemaById(id: number): Promise<RegistrySchema>;
  /** `POST /subjects/{subject}/versions`: registers (or finds) a schema; returns its id. */
  register(subject: string, schema: string | object, schemaType?: SchemaType): Promise<number>;
  /** `GET /subjects/{subject}/versions/{version}` (default `latest`). */
  version(subject: string, version?: number | 'latest'): Promise<SubjectVersion>;
  /** `POST /compatibility/subjects/{subject}/versions/latest`: would this schema be accepted? */
  isCompatible(subject: string, schema: string | object, schemaType?: SchemaType): Promise<boolean>;
  /** `GET /subjects`. */
  subjects(): Promise<string[]>;
  /** `GET /config` or `GET /config/{subject}`: the compatibility level in force. */
  compatibility(subject?: string): Promise<string>;
}

/** HTTP status and body of a failed registry call, attached to the thrown error. */
export class RegistryHttpError extends TestkitError {
  /** HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  /** The registry's `error_code` (e.g. 40403 schema not found, 409 incompatible), if it sent one. */
  readonly registryErrorCode: number | undefined;

  constructor(message: string, status: number, registryErrorCode: number | undefined, cause?: unknown) {
    super('registry_http_error', message, { cause });
    this.status = status;
    this.registryErrorCode = registryErrorCode;
  }
}

/**
 * A minimal Confluent-API client over `fetch`.
 *
 * @param baseUrl - the Confluent API root; default `integrationEnv().registryUrl`.
 * @param options.timeoutMs - per request; default 10 000.
 * @throws TestkitError `integration_env_missing` when no URL is given and none is set.
 */
export function registryHttp(baseUrl?: string, options: { timeoutMs?: number } = {}): RegistryHttp {
  const root = (baseUrl ?? integrationEnv().registryUrl).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = `${root}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { Accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'Content-Type': CONTENT_TYPE }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new RegistryHttpError(`${method} ${url} failed: ${errorMessage(err)}`, 0, undefined, err);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch (err) {
      throw new RegistryHttpError(`${method} ${url} answered ${response.status} with non-JSON: ${text.slice(0, 200)}`, response.status, undefined, err);
    }
    if (!response.ok) {
      const info = (parsed ?? {}) as { error_code?: unknown; message?: unknown };
      const code = typeof info.error_code === 'number' ? info.error_code : undefined;
      const message = typeof info.message === 'string' ? info.message : text.slice(0, 200);
      throw new RegistryHttpError(`${method} ${url} answered ${response.status} (error_code ${code ?? 'none'}): ${message}`, response.status, code);
    }
    return parsed as T;
  }

  const enc = encodeURIComponent;
  const schemaText = (schema: string | object): string => (typeof schema === 'string' ? schema : JSON.stringify(schema));
  const typed = (s: { schemaType?: SchemaType }): SchemaType => s.schemaType ?? 'AVRO';
  const payload = (schema: string | object, schemaType: SchemaType) =>
    schemaType === 'AVRO' ? { schema: schemaText(schema) } : { schema: schemaText(schema), schemaType };

  return {
    baseUrl: root,
    async schemaById(id) {
      const r = await call<{ schema: string; schemaType?: SchemaType }>('GET', `/schemas/ids/${id}`);
      return { schema: r.schema, schemaType: typed(r) };
    },
    async register(subject, schema, schemaType = 'AVRO') {
      const r = await call<{ id: number }>('POST', `/subjects/${enc(subject)}/versions`, payload(schema, schemaType));
      return r.id;
    },
    async version(subject, version = 'latest') {
      const r = await call<{ subject: string; version: number; id: number; schema: string; schemaType?: SchemaType }>(
        'GET',
        `/subjects/${enc(subject)}/versions/${version}`,
      );
      return { subject: r.subject, version: r.version, id: r.id, schema: r.schema, schemaType: typed(r) };
    },
    async isCompatible(subject, schema, schemaType = 'AVRO') {
      const r = await call<{ is_compatible: boolean }>('POST', `/compatibility/subjects/${enc(subject)}/versions/latest`, payload(schema, schemaType));
      return r.is_compatible;
    },
    async subjects() {
      return call<string[]>('GET', '/subjects');
    },
    async compatibility(subject) {
      const r = await call<{ compatibilityLevel?: string; compatibility?: string }>('GET', subject === undefined ? '/config' : `/config/${enc(subject)}`);
      return r.compatibilityLevel ?? r.compatibility ?? 'NONE';
    },
  };
}

/**
 * Fetches the schema a Confluent serializer's id refers to (`GET /schemas/ids/{id}`).
 *
 * @param registryUrl - default `integrationEnv().registryUrl`.
 * @throws RegistryHttpError (`registry_http_error`), e.g. status 404 / error_code 40403 for an unknown id.
 */
export function fetchSchemaById(id: number, registryUrl?: string): Promise<RegistrySchema> {
  return registryHttp(registryUrl).schemaById(id);
}
