import avro from 'avsc';
import type { AvroSchema } from './avro-schema';

/** Result of a compatibility check. */
export interface CompatibilityResult {
  compatible: boolean;
  /** Why not, when not compatible (avsc's resolution error). */
  reason?: string;
}

/**
 * BACKWARD compatibility, as the schema registry defines it: can a consumer using `reader`
 * decode data written with `writer`? True when every reader field missing from the writer has a
 * default, every writer enum symbol exists in the reader (or the reader enum has a default), and
 * types are equal or promotable.
 */
export function checkBackward(reader: AvroSchema, writer: AvroSchema): CompatibilityResult {
  try {
    avro.Type.forSchema(reader as avro.Schema).createResolver(avro.Type.forSchema(writer as avro.Schema));
    return { compatible: true };
  } catch (err) {
    return { compatible: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Every record, enum and field in `schema` that lacks a non-empty `doc`, as dotted paths. */
export function missingDocs(schema: AvroSchema): string[] {
  const missing: string[] = [];
  const visit = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      node.forEach((n) => visit(n, where));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    const hasDoc = typeof n.doc === 'string' && n.doc.trim().length > 0;
    if (n.type === 'record' || n.type === 'enum' || n.type === 'fixed') {
      const name = `${where}${String(n.name)}`;
      if (!hasDoc) missing.push(name);
      if (n.type === 'record') {
        for (const f of n.fields as Array<Record<string, unknown>>) {
          if (typeof f.doc !== 'string' || f.doc.trim().length === 0) missing.push(`${name}.${String(f.name)}`);
          visit(f.type, `${name}.`);
        }
      }
      return;
    }
    if (n.type === 'array') visit(n.items, where);
    else if (n.type === 'map') visit(n.values, where);
    else if (typeof n.type === 'object') visit(n.type, where);
  };
  visit(schema, '');
  return missing;
}
