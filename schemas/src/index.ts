/**
 * @safeguard/schemas: the Avro event schemas of Safeguard (sources in `schemas/avro/`, the
 * source of truth), their generated TypeScript types, and the topics that carry them.
 */
export type { AvroSchema } from './avro-schema';
export * from './generated/schemas';
export * from './generated/types';
export * from './topics';
export * from './compatibility';
