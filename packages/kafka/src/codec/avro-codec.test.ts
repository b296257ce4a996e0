import { InMemorySchemaRegistry } from '../registry/in-memory-schema-registry';
import type { SchemaRegistryClient } from '../registry/schema-registry';
import type { TopicBinding } from '../types';
import { AvroCodec } from './avro-codec';
import { encodeWireFrame } from './wire-format';

interface V1 {
  id: string;
  sizeBytes: number;
}
interface V2 extends V1 {
  label: string;
}

const v1Schema = {
  type: 'record',
  name: 'Item',
  namespace: 'test.codec',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'sizeBytes', type: 'long' },
  ],
};
const v2Schema = { ...v1Schema, fields: [...v1Schema.fields, { name: 'label', type: 'string', default: 'none' }] };
const incompatible = { ...v1Schema, fields: [{ name: 'id', type: 'int' }] };

const v1: TopicBinding<V1> = { topic: 'codec.items.v1', valueSchema: v1Schema, key: (v) => v.id };
const v2: TopicBinding<V2> = { topic: 'codec.items.v1', valueSchema: v2Schema, key: (v) => v.id };

describe('AvroCodec', () => {
  it('writes the Confluent frame: 0, schema id, Avro binary (golden bytes)', async () => {
    const codec = new AvroCodec(new InMemorySchemaRegistry());
    const bytes = await codec.encode(v1, { id: 'ab', sizeBytes: 3 });
    // id 1; string "ab" = zigzag length 4, 'a', 'b'; long 3 = zigzag 6.
    expect([...bytes]).toEqual([0, 0, 0, 0, 1, 4, 0x61, 0x62, 6]);
  });

  it('round-trips and registers once per subject', async () => {
    const registry = new InMemorySchemaRegistry();
    const spy = jest.spyOn(registry, 'register');
    const codec = new AvroCodec(registry);
    for (let i = 0; i < 3; i++) {
      expect(await codec.decode(v1, await codec.encode(v1, { id: 'x', sizeBytes: i }))).toEqual({ id: 'x', sizeBytes: i });
    }
    expect(spy).toHaveBeenCalledTimes(1);
    expect(registry.versions('codec.items.v1-value')).toEqual([1]);
  });

  it('resolves old data to a newer reader schema (added field takes its default)', async () => {
    const registry = new InMemorySchemaRegistry();
    const writer = new AvroCodec(registry);
    const reader = new AvroCodec(registry);
    const bytes = await writer.encode(v1, { id: 'old', sizeBytes: 7 });
    expect(await reader.decode(v2, bytes)).toEqual({ id: 'old', sizeBytes: 7, label: 'none' });
    // And new data to an old reader (the extra field is skipped).
    const newer = await writer.encode(v2, { id: 'new', sizeBytes: 1, label: 'l' });
    expect(await reader.decode(v1, newer)).toEqual({ id: 'new', sizeBytes: 1 });
    expect(registry.versions('codec.items.v1-value')).toEqual([1, 2]);
  });

  it('rejects a value that does not match, naming the field but not the value', async () => {
    const codec = new AvroCodec(new InMemorySchemaRegistry());
    const err = await codec.encode(v1, { id: 'x', sizeBytes: 'secret' as unknown as number }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'serialization_failed', paths: ['sizeBytes'] });
    expect((err as Error).message).not.toContain('secret');
  });

  it('fails undecodable bytes with deserialization_failed and a detail', async () => {
    const registry = new InMemorySchemaRegistry();
    const codec = new AvroCodec(registry);
    const good = await codec.encode(v1, { id: 'x', sizeBytes: 1 });
    await expect(codec.decode(v1, Buffer.from('not avro'))).rejects.toMatchObject({ code: 'deserialization_failed', detail: 'wrong_magic_byte' });
    await expect(codec.decode(v1, encodeWireFrame(999, Buffer.from([2, 0x61, 2])))).rejects.toMatchObject({ detail: 'unknown_schema_id' });
    await expect(codec.decode(v1, good.subarray(0, good.length - 1))).rejects.toMatchObject({ detail: 'avro_decode_failed' });
    await expect(codec.decode(v1, Buffer.concat([good, Buffer.from([1])]))).rejects.toMatchObject({ detail: 'avro_decode_failed' });
    const otherId = await registry.register('other-value', JSON.stringify(incompatible));
    await expect(codec.decode(v1, encodeWireFrame(otherId, Buffer.from([2])))).rejects.toMatchObject({ detail: 'incompatible_schema' });
  });

  it('passes registry outages through as transient, and asks again next time', async () => {
    const inner = new InMemorySchemaRegistry();
    let down = true;
    const flaky: SchemaRegistryClient = {
      register: (s, t) => (down ? Promise.reject(Object.assign(new Error('down'), { code: 'schema_registry_unavailable', retriable: true })) : inner.register(s, t)),
      lookup: (s, t) => inner.lookup(s, t),
      schemaById: (id) => inner.schemaById(id),
    };
    const codec = new AvroCodec(flaky);
    await expect(codec.encode(v1, { id: 'a', sizeBytes: 1 })).rejects.toMatchObject({ retriable: true });
    down = false;
    await expect(codec.encode(v1, { id: 'a', sizeBytes: 1 })).resolves.toBeInstanceOf(Buffer);
  });

  it('without auto-registration, only sends schemas already registered', async () => {
    const registry = new InMemorySchemaRegistry();
    const codec = new AvroCodec(registry, { autoRegister: false });
    await expect(codec.encode(v1, { id: 'a', sizeBytes: 1 })).rejects.toMatchObject({ code: 'serialization_failed' });
    await registry.register('codec.items.v1-value', JSON.stringify(v1Schema));
    await expect(codec.encode(v1, { id: 'a', sizeBytes: 1 })).resolves.toBeInstanceOf(Buffer);
  });
});

describe('InMemorySchemaRegistry', () => {
  it('gives equal schemas one global id and refuses backward-incompatible versions', async () => {
    const r = new InMemorySchemaRegistry();
    const a = await r.register('a-value', JSON.stringify(v1Schema));
    expect(await r.register('b-value', JSON.stringify(v1Schema, null, 2))).toBe(a);
    expect(await r.lookup('a-value', JSON.stringify(v1Schema))).toBe(a);
    expect(await r.lookup('c-value', JSON.stringify(v1Schema))).toBeUndefined();
    await expect(r.register('a-value', JSON.stringify(incompatible))).rejects.toMatchObject({ code: 'schema_incompatible' });
    const removedDefault = { ...v2Schema, fields: [...v1Schema.fields, { name: 'label', type: 'string' }] };
    await expect(r.register('a-value', JSON.stringify(removedDefault))).rejects.toMatchObject({ code: 'schema_incompatible' });
    expect(await r.register('a-value', JSON.stringify(v2Schema))).toBe(2);
    expect(await r.schemaById(99)).toBeUndefined();
  });
});
