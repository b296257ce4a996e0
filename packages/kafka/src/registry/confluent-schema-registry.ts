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
}

/**
 * A real Confluent-compatible registry reached through `@kafkajs/confluent-schema-registry`.
 * Registration goes through the library's `register` (which also pins the subject's compatibility
 * to BACKWARD on first registration); ids are cached by the codec above this.
 */
export class ConfluentSchemaRegistryClient implements SchemaRegistryClient {
  private readonly client: SchemaRegistry;

  constructor(options: ConfluentRegistryOptions) {
    this.client = new SchemaRegistry({
      host: options.url.replace(/\/+$/, ''),
      clientId: options.clientId,
      retry: { retries: options.retries ?? 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 2 },
    });
  }

  /** See {@link SchemaRegistryClient.register}. */
  async register(subject: string, schema: string): Promise<number> {
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
      throw mapRegistryError(err, subject);
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
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Maps library and HTTP errors to Safeguard errors by status, never by message. */
function mapRegistryError(err: unknown, subject?: string): Error {
  const status = httpStatus(err);
  const name = err instanceof Error ? err.name : '';
  if (status === 409) {
    return new SchemaIncompatibleError(subject ?? '', `the registry rejected the schema for ${subject ?? 'a subject'} as incompatible`, { cause: err });
  }
  if (status === undefined || status >= 500 || status === 408 || status === 429) {
    if (name === 'ConfluentSchemaRegistryValidationError' || name === 'ConfluentSchemaRegistryInvalidSchemaError' || name === 'ConfluentSchemaRegistryArgumentError') {
      return new SafeguardError(TransportErrorCodes.schemaRegistryError, 'the schema was rejected by the registry client', { cause: err });
    }
    return new TransientError(TransportErrorCodes.schemaRegistryUnavailable, 'the schema registry is unavailable', { cause: err });
  }
  return new SafeguardError(TransportErrorCodes.schemaRegistryError, `the schema registry answered ${status}`, { cause: err });
}
