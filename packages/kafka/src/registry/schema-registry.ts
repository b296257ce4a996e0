/**
 * The part of a Confluent-compatible schema registry the codec needs. Why an interface: the kafka
 * transport talks to a real registry over HTTP, the in-process transport keeps the same contract
 * in memory, and the codec (framing, ids, resolution) is shared by both.
 */
export interface SchemaRegistryClient {
  /**
   * Registers `schema` (Avro JSON text) under `subject`, or returns the id it already has.
   * @throws SchemaIncompatibleError (`schema_incompatible`) when the schema is not registered under
   *   the subject and the subject's compatibility rule rejects it (never for a mere registration
   *   conflict with a concurrent client); TransientError (`schema_registry_unavailable`) when the
   *   registry cannot be reached, (`schema_registration_conflict`) when registering kept conflicting.
   */
  register(subject: string, schema: string): Promise<number>;
  /**
   * Looks up the id of `schema` under `subject` without registering it.
   * @returns the id, or `undefined` when the subject has no such schema.
   */
  lookup(subject: string, schema: string): Promise<number | undefined>;
  /**
   * The schema (Avro JSON text) with this id.
   * @returns `undefined` when no schema has that id.
   * @throws TransientError (`schema_registry_unavailable`) when the registry cannot be reached.
   */
  schemaById(id: number): Promise<string | undefined>;
}

/** The TopicNameStrategy subject of a topic's values: `<topic>-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
