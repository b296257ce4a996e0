import { InvalidInputError, SafeguardError, TransientError } from '@safeguard/domain';

/**
 * Error codes this package throws or writes as dead-letter reasons. Stable: they are metric label
 * values and `safeguard.dlq.reason` header values.
 */
export const TransportErrorCodes = {
  /** The record's bytes could not be decoded: wrong magic byte, unknown schema id, bad Avro. */
  deserializationFailed: 'deserialization_failed',
  /** A value did not match its schema when producing. */
  serializationFailed: 'serialization_failed',
  /** A tombstone (null value) was produced without a key. */
  tombstoneWithoutKey: 'tombstone_without_key',
  /** The topic does not exist. */
  topicNotFound: 'topic_not_found',
  /** The broker did not acknowledge a produce request. */
  produceFailed: 'produce_failed',
  /** The schema registry could not be reached or answered 5xx. */
  schemaRegistryUnavailable: 'schema_registry_unavailable',
  /** The registry rejected a schema as incompatible with the subject's previous versions. */
  schemaIncompatible: 'schema_incompatible',
  /**
   * Registering a schema kept conflicting (HTTP 409) although the schema is compatible and not
   * registered: other clients were changing the subject at the same moment. Transient.
   */
  schemaRegistrationConflict: 'schema_registration_conflict',
  /** The registry rejected a request for another reason (4xx). */
  schemaRegistryError: 'schema_registry_error',
  /** A handler threw something that is not a SafeguardError (dead-letter reason after retries). */
  unexpectedError: 'unexpected_error',
  /** Invalid transport configuration. */
  invalidConfig: 'invalid_config',
  /** A broker or admin operation failed. */
  kafkaError: 'kafka_error',
  /** The transport was closed; nothing is sent or asked any more. */
  transportClosed: 'transport_closed',
} as const;

/**
 * A record's bytes could not be turned into a value: dead-letter with reason
 * `deserialization_failed`. `detail` says why (closed set, safe to log).
 */
export class DeserializationError extends InvalidInputError {
  /** `wrong_magic_byte` | `truncated` | `unknown_schema_id` | `incompatible_schema` | `avro_decode_failed`. */
  readonly detail: 'wrong_magic_byte' | 'truncated' | 'unknown_schema_id' | 'incompatible_schema' | 'avro_decode_failed';

  constructor(detail: DeserializationError['detail'], message: string, options: { cause?: unknown } = {}) {
    super(TransportErrorCodes.deserializationFailed, message, options);
    this.detail = detail;
  }
}

/** A value did not match its schema when producing (code `serialization_failed`); names the bad field paths, never values. */
export class SerializationError extends InvalidInputError {
  /** Dotted paths of the fields that failed validation. */
  readonly paths: string[];

  constructor(message: string, paths: string[], options: { cause?: unknown } = {}) {
    super(TransportErrorCodes.serializationFailed, message, options);
    this.paths = paths;
  }
}

/** The topic does not exist (code `topic_not_found`). Transient: it may be created by a deploy in progress. */
export class TopicNotFoundError extends TransientError {
  /** The missing topic. */
  readonly topic: string;

  constructor(topic: string, options: { cause?: unknown } = {}) {
    super(TransportErrorCodes.topicNotFound, `topic ${topic} does not exist`, options);
    this.topic = topic;
  }
}

/** The registry rejected a schema as incompatible (code `schema_incompatible`): a deployment error, never retried. */
export class SchemaIncompatibleError extends SafeguardError {
  /** The subject, `<topic>-value`. */
  readonly subject: string;

  constructor(subject: string, message: string, options: { cause?: unknown } = {}) {
    super(TransportErrorCodes.schemaIncompatible, message, { ...options, retriable: false });
    this.subject = subject;
  }
}

/** Invalid transport options (code `invalid_config`). Thrown at construction; a programmer error. */
export class TransportConfigError extends SafeguardError {
  constructor(message: string) {
    super(TransportErrorCodes.invalidConfig, message, { retriable: false });
  }
}
