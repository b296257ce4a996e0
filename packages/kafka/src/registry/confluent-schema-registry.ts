import { setTimeout as delay } from 'node:timers/promises';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SafeguardError, TransientError } from '@safeguard/domain';
import { SchemaIncompatibleError, TransportErrorCodes } from '../errors';
import type { SchemaRegistryClient } from './schema-registry';

/** Options of {@link ConfluentSchemaRegistryClient}. */
export interface ConfluentRegistryOptions {
  /** Base URL of the Confluent API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7` for Apicurio. */
  url: string;
  /** Sent as the client id header. */
  clientId?: string;
  /** HTTP retries for network errors and 5xx before the call fails as transient. Default 2. */
  retries?: number;
  /**
   * Registration attempts while the registry answers 409 although the schema is compatible and
   * not registered yet (other clients changing the subject at that moment). Default 3; the waits
   * between them are 50-100 ms, then 100-200 ms.
   */
  registrationAttempts?: number;
  /** Timeout of the compatibility check request, ms. Default 10000. */
  requestTimeoutMs?: number;
}

/**
 * Registrations in flight in this process, by registry, subject and schema text. Module-wide on
 * purpose: every transport of the process (services often build several) shares one request per
 * subject and schema instead of racing itself at the registry.
 */
const inFlightRegistrations = new Map<string, Promise<number>>();

const CONFLUENT_JSON = 'application/vnd.schemaregistry.v1+json';

/**
 * A real Confluent-compatible registry reached through `@kafkajs/confluent-schema-registry`.
 * Registration goes through the library's `register` (which also pins the subject's compatibility
 * to BACKWARD on first registration); ids are cached by the codec above this.
 *
 * Why the conflict handling: when several clients register the same new schema under a subject at
 * the same moment, the registry may answer 409 to some of them although nothing is wrong (Apicurio
 * does so when two of them create the subject's compatibility rule). A 409 is therefore never
 * taken as "incompatible" on its face: the schema is looked up under the subject (its id is the
 * answer if it is there), and only a failed compatibility check against the latest version makes
 * it `schema_incompatible`. Concurrent registrations of one schema in this process are coalesced.
 */
export class ConfluentSchemaRegistryClient implements SchemaRegistryClient {
  private readonly client: SchemaRegistry;
  private readonly baseUrl: string;
  private readonly registrationAttempts: number;
  private readonly requestTimeoutMs: number;

  constructor(options: ConfluentRegistryOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.registrationAttempts = Math.max(1, options.registrationAttempts ?? 3);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.client = new SchemaRegistry({
      host: this.baseUrl,
      clientId: options.clientId,
      retry: { retries: options.retries ?? 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 2 },
    });
  }

  /**
   * See {@link SchemaRegistryClient.register}. One request per subject and schema text is in
   * flight per process; callers arriving meanwhile share its outcome (a failure is not kept).
   * @throws SchemaIncompatibleError (`schema_incompatible`) only when the schema is not registered
   *   under the subject and the registry's compatibility check rejects it;
   *   TransientError (`schema_registration_conflict`) when registration kept conflicting although
   *   the schema is compatible; TransientError (`schema_registry_unavailable`);
   *   SafeguardError (`schema_registry_error`) for other refusals.
   */
  register(subject: string, schema: string): Promise<number> {
    const key = `${this.baseUrl}\u0000${subject}\u0000${schema}`;
    let pending = inFlightRegistrations.get(key);
    if (!pending) {
      pending = this.registerNow(subject, schema).finally(() => inFlightRegistrations.delete(key));
      inFlightRegistrations.set(key, pending);
    }
    return pending;
  }

  private async registerNow(subject: string, schema: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { id } = await this.client.register({ type: SchemaType.AVRO, schema }, { subject });
        return id;
      } catch (err) {
        if (err instanceof Error && err.name === 'ConfluentSchemaRegistryCompatibilityError') {
          // The library refuses to register under a subject whose compatibility level is not
          // BACKWARD (e.g. a subject created by another tool on a registry whose default is NONE).
          // A schema registered there already is fine to use; anything else is a deployment error.
          const id = await this.lookup(subject, schema);
          if (id !== undefined) return id;
          throw new SafeguardError(
            TransportErrorCodes.schemaRegistryError,
            `subject ${subject} has a compatibility level other than BACKWARD; set it to BACKWARD or register the schema out of band`,
            { cause: err, retriable: false },
          );
        }
        if (httpStatus(err) !== 409) throw mapRegistryError(err, subject);
        // A conflict: another client registered the schema or pinned the subject meanwhile, or
        // the schema really is incompatible. The registry knows which.
        const id = await this.lookup(subject, schema);
        if (id !== undefined) return id;
        if (!(await this.isCompatible(subject, schema))) {
          throw new SchemaIncompatibleError(subject, `the registry rejected the schema for ${subject} as incompatible with its latest version`, { cause: err });
        }
        if (attempt >= this.registrationAttempts) {
          throw new TransientError(
            TransportErrorCodes.schemaRegistrationConflict,
            `registering a compatible schema under ${subject} conflicted ${attempt} times; other clients are changing the subject`,
            { cause: err },
          );
        }
        const base = 50 * 2 ** (attempt - 1);
        await delay(base + Math.floor(Math.random() * base));
      }
    }
  }

  /** See {@link SchemaRegistryClient.lookup}. */
  async lookup(subject: string, schema: string): Promise<number | undefined> {
    try {
      return await this.client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema });
    } catch (err) {
      if (httpStatus(err) === 404 || (err instanceof Error && err.name === 'ConfluentSchemaRegistryError')) return undefined;
      throw mapRegistryError(err, subject);
    }
  }

  /** See {@link SchemaRegistryClient.schemaById}. */
  async schemaById(id: number): Promise<string | undefined> {
    try {
      const type = (await this.client.getSchema(id)) as unknown as { schema(opts?: { exportAttrs?: boolean }): unknown };
      return JSON.stringify(type.schema({ exportAttrs: true }));
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw mapRegistryError(err);
    }
  }

  /**
   * `POST /compatibility/subjects/<subject>/versions/latest` (the library has no call for it).
   * A subject or version that does not exist (404) has nothing to be incompatible with.
   */
  private async isCompatible(subject: string, schema: string): Promise<boolean> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`, {
        method: 'POST',
        headers: { 'Content-Type': CONFLUENT_JSON, Accept: CONFLUENT_JSON },
        body: JSON.stringify({ schema }),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (err) {
      throw new TransientError(TransportErrorCodes.schemaRegistryUnavailable, 'the schema registry is unavailable', { cause: err });
    }
    if (response.status === 404) return true;
    if (!response.ok) throw mapRegistryError({ status: response.status }, subject);
    const body = (await response.json().catch(() => undefined)) as { is_compatible?: unknown } | undefined;
    if (typeof body?.is_compatible !== 'boolean') {
      throw new SafeguardError(TransportErrorCodes.schemaRegistryError, 'the registry answered the compatibility check without is_compatible', { retriable: false });
    }
    return body.is_compatible;
  }
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Maps library and HTTP errors to Safeguard errors by status, never by message. */
function mapRegistryError(err: unknown, subject?: string): Error {
  const status = httpStatus(err);
  const name = err instanceof Error ? err.name : '';
  if (status === undefined || status >= 500 || status === 408 || status === 429) {
    if (name === 'ConfluentSchemaRegistryValidationError' || name === 'ConfluentSchemaRegistryInvalidSchemaError' || name === 'ConfluentSchemaRegistryArgumentError') {
      return new SafeguardError(TransportErrorCodes.schemaRegistryError, 'the schema was rejected by the registry client', { cause: err });
    }
    return new TransientError(TransportErrorCodes.schemaRegistryUnavailable, 'the schema registry is unavailable', { cause: err });
  }
  return new SafeguardError(TransportErrorCodes.schemaRegistryError, `the schema registry answered ${status}${subject ? ` for ${subject}` : ''}`, { cause: err });
}
