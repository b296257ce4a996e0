import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { integrationEnv, kcatMetadata, registryHttp, uniqueName } from '../src';

// Proves the integration environment the global setup chose is real: a Kafka metadata round
// trip through an independent client, and a Confluent-compatible registry that registers
// schemas, serves them by id and enforces BACKWARD compatibility, for plain HTTP and for the
// Confluent client library the services use.
jest.setTimeout(60_000);

const v1 = {
  type: 'record',
  name: 'Probe',
  namespace: 'safeguard.testkit',
  doc: 'Registry probe.',
  fields: [{ name: 'contentId', type: 'string', doc: 'Opaque id.' }],
};
const v2Compatible = { ...v1, fields: [...v1.fields, { name: 'sizeBytes', type: 'long', default: 0, doc: 'Size.' }] };
const v2Incompatible = { ...v1, fields: [...v1.fields, { name: 'sizeBytes', type: 'long', doc: 'Size, no default.' }] };

describe('integration environment', () => {
  it('tells which path the global setup took', () => {
    expect(['env', 'infra', 'testcontainers']).toContain(integrationEnv().source);
  });

  it('answers a Kafka metadata request that lists the broker', async () => {
    const { brokers } = integrationEnv();
    const metadata = await kcatMetadata();
    expect(metadata.brokers.length).toBeGreaterThanOrEqual(1);
    expect(metadata.controllerId).toBeDefined();
    if (integrationEnv().source !== 'testcontainers') {
      // Outside containers the advertised listener is exactly what we connect to.
      expect(metadata.brokers.map((b) => b.name)).toContain(brokers[0]);
    }
  });

  it('reports an unknown topic as absent (auto-creation is off)', async () => {
    const topic = uniqueName('testkit.absent');
    const metadata = await kcatMetadata({ topic });
    const entry = metadata.topics.find((t) => t.topic === topic);
    expect(entry?.partitions ?? []).toHaveLength(0);
    const again = await kcatMetadata();
    expect(again.topics.map((t) => t.topic)).not.toContain(topic);
  });

  describe('schema registry over plain HTTP (Confluent API)', () => {
    const http = () => registryHttp();

    it('registers a schema and returns it by id', async () => {
      const subject = `${uniqueName('testkit.probe')}-value`;
      const id = await http().register(subject, v1);
      expect(Number.isInteger(id)).toBe(true);
      const byId = await http().schemaById(id);
      expect(byId.schemaType).toBe('AVRO');
      expect(JSON.parse(byId.schema)).toEqual(v1);
      const latest = await http().version(subject);
      expect(latest).toMatchObject({ subject, version: 1, id });
      expect(await http().subjects()).toContain(subject);
    });

    it('gives the same schema the same id under another subject, and re-registration is idempotent', async () => {
      const a = `${uniqueName('testkit.a')}-value`;
      const b = `${uniqueName('testkit.b')}-value`;
      const schema = { ...v1, name: `Probe${Date.now()}` };
      const idA = await http().register(a, schema);
      expect(await http().register(b, schema)).toBe(idA);
      expect(await http().register(a, schema)).toBe(idA);
    });

    it('enforces BACKWARD compatibility', async () => {
      expect(await http().compatibility()).toBe('BACKWARD');
      const subject = `${uniqueName('testkit.compat')}-value`;
      await http().register(subject, v1);
      expect(await http().isCompatible(subject, v2Compatible)).toBe(true);
      expect(await http().isCompatible(subject, v2Incompatible)).toBe(false);
      await expect(http().register(subject, v2Incompatible)).rejects.toMatchObject({ code: 'registry_http_error', status: 409 });
      const v2Id = await http().register(subject, v2Compatible);
      expect(await http().version(subject)).toMatchObject({ version: 2, id: v2Id });
    });

    it('answers 404 / 40403 for an unknown id', async () => {
      await expect(http().schemaById(2_000_000_000)).rejects.toMatchObject({ status: 404, registryErrorCode: 40403 });
    });
  });

  describe('@kafkajs/confluent-schema-registry against the registry', () => {
    it('registers, encodes, and a fresh client decodes by id', async () => {
      const { registryUrl } = integrationEnv();
      const subject = `${uniqueName('testkit.client')}-value`;
      const writer = new SchemaRegistry({ host: registryUrl });
      const { id } = await writer.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
      const encoded = await writer.encode(id, { contentId: 'c-1' });
      expect(encoded[0]).toBe(0);
      expect(encoded.readUInt32BE(1)).toBe(id);
      // A new instance has no cache: it must fetch the writer schema by id.
      const reader = new SchemaRegistry({ host: registryUrl });
      await expect(reader.decode(encoded)).resolves.toEqual({ contentId: 'c-1' });
      await expect(reader.getLatestSchemaId(subject)).resolves.toBe(id);
      // The client's id agrees with the one plain HTTP sees.
      expect((await registryHttp().version(subject)).id).toBe(id);
    });
  });
});
