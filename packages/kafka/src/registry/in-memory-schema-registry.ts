import { Type } from 'avsc';
import { SchemaIncompatibleError } from '../errors';
import type { SchemaRegistryClient } from './schema-registry';

/**
 * A schema registry in memory with the behaviour of Confluent's: ids are global and start at 1,
 * the same schema text gets the same id under every subject, each subject keeps its versions, and
 * a new version must be BACKWARD compatible with the latest one (a reader using it can read data
 * written with the latest), checked with Avro schema resolution.
 */
export class InMemorySchemaRegistry implements SchemaRegistryClient {
  private readonly idsBySchema = new Map<string, number>();
  private readonly schemasById = new Map<number, string>();
  private readonly subjects = new Map<string, number[]>();

  /** See {@link SchemaRegistryClient.register}. */
  async register(subject: string, schema: string): Promise<number> {
    const canonical = canonicalSchema(schema);
    const versions = this.subjects.get(subject) ?? [];
    const existing = this.idsBySchema.get(canonical);
    if (existing !== undefined && versions.includes(existing)) return existing;
    const latestId = versions[versions.length - 1];
    if (latestId !== undefined) {
      const reader = Type.forSchema(JSON.parse(canonical));
      const writer = Type.forSchema(JSON.parse(this.schemasById.get(latestId) as string));
      try {
        reader.createResolver(writer);
      } catch (err) {
        throw new SchemaIncompatibleError(subject, `schema is not backward compatible with the latest version of ${subject}`, { cause: err });
      }
    }
    let id = existing;
    if (id === undefined) {
      id = this.schemasById.size + 1;
      this.idsBySchema.set(canonical, id);
      this.schemasById.set(id, canonical);
    }
    versions.push(id);
    this.subjects.set(subject, versions);
    return id;
  }

  /** See {@link SchemaRegistryClient.lookup}. */
  async lookup(subject: string, schema: string): Promise<number | undefined> {
    const id = this.idsBySchema.get(canonicalSchema(schema));
    return id !== undefined && (this.subjects.get(subject) ?? []).includes(id) ? id : undefined;
  }

  /** See {@link SchemaRegistryClient.schemaById}. */
  async schemaById(id: number): Promise<string | undefined> {
    return this.schemasById.get(id);
  }

  /** Registered ids of a subject, oldest first (for tests and tooling). */
  versions(subject: string): number[] {
    return [...(this.subjects.get(subject) ?? [])];
  }
}

/** Normalises schema text (whitespace, attribute order as avsc exports it) so equal schemas share an id. */
function canonicalSchema(schema: string): string {
  return JSON.stringify(Type.forSchema(JSON.parse(schema)).schema({ exportAttrs: true }));
}
