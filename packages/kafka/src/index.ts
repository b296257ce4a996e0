/**
 * @safeguard/kafka: the one place that knows the Kafka client. A typed transport over Avro in the
 * Confluent wire format, with the retry → dead-letter → pause policy every service shares, and an
 * in-process implementation with the same semantics for unit tests and the embedded demo.
 */
export * from './types';
export * from './errors';
export { createTransport } from './create-transport';
export type {
  CommonTransportConfig,
  InProcessTransport,
  InProcessTransportConfig,
  KafkaTransportConfig,
  TransportConfig,
} from './create-transport';
export { InProcessBroker } from './in-process/in-process-broker';
export type { InProcessTopicConfig, StoredRecord } from './in-process/in-process-broker';
export { replayDeadLetters } from './replay-dead-letters';
export type { ReplayOptions, ReplayResult } from './core/replay';
export { DeadLetterHeaders, DEAD_LETTER_HEADER_PREFIX, deadLetterTopic, parseDeadLetterHeaders } from './core/dead-letter';
export type { DeadLetterInfo } from './core/dead-letter';
export { TransportMetricNames } from './core/metrics';
export type { ConsumeOutcome } from './core/metrics';
export { murmur2, partitionForKey, toPositive } from './codec/murmur2';
export { encodeWireFrame, decodeWireFrame, WIRE_MAGIC_BYTE, WIRE_HEADER_BYTES } from './codec/wire-format';
export type { WireFrame } from './codec/wire-format';
export { AvroCodec } from './codec/avro-codec';
export type { AvroCodecOptions } from './codec/avro-codec';
export { InMemorySchemaRegistry } from './registry/in-memory-schema-registry';
export type { SchemaRegistryClient } from './registry/schema-registry';
export { valueSubject } from './registry/schema-registry';
export { backoffDelayMs, DEFAULT_RETRY, resolveRetryOptions } from './core/backoff';
export type { ResolvedRetryOptions } from './core/backoff';
export type { InProcessGroup, GroupMember } from './in-process/in-process-broker';
