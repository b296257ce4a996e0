import { decodeManyWithPythonAvro, decodeWithPythonAvro, encodeConfluentWithPythonAvro, encodeWithPythonAvro } from './python-avro';
import { parseConfluentFrame } from './wire-frame';

// Runs Debian's /usr/bin/python3 with python3-avro (infra/install-system-deps.sh installs it).
const schema = {
  type: 'record',
  name: 'Sample',
  namespace: 'safeguard.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'sizeBytes', type: 'long' },
    { name: 'observedAtMs', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'digest', type: 'bytes' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

describe('Python Avro (Apache implementation)', () => {
  it('decodes hand-written Avro binary exactly', async () => {
    // id "ab" (len 2 zigzag=04), sizeBytes 1 (02), observedAtMs 3 (06), digest [ff] (02 ff), note null (union index 0)
    const body = Buffer.from('046162020602ff00', 'hex');
    await expect(decodeWithPythonAvro(schema, body)).resolves.toEqual({
      id: 'ab',
      sizeBytes: 1,
      observedAtMs: 3,
      digest: Buffer.from([0xff]),
      note: null,
    });
  });

  it('round-trips longs beyond 2^53 as bigint and bytes as Buffer', async () => {
    const datum = { id: 'x', sizeBytes: 2n ** 62n, observedAtMs: 1_700_000_000_000, digest: Buffer.from('0001', 'hex'), note: 'n' };
    const body = await encodeWithPythonAvro(schema, datum);
    await expect(decodeWithPythonAvro(JSON.stringify(schema), body)).resolves.toEqual(datum);
  });

  it('applies logical types only when asked', async () => {
    const body = await encodeWithPythonAvro(schema, { id: 'x', sizeBytes: 1, observedAtMs: 0, digest: Buffer.alloc(0), note: null });
    const value = (await decodeWithPythonAvro(schema, body, { logicalTypes: true })) as { observedAtMs: unknown };
    expect(value.observedAtMs).toEqual({ $datetime: '1970-01-01T00:00:00+00:00' });
  });

  it('resolves against a reader schema', async () => {
    const body = Buffer.from('046162020602ff00', 'hex');
    const reader = { ...schema, fields: [schema.fields[0], { name: 'added', type: 'int', default: 7 }] };
    await expect(decodeWithPythonAvro(schema, body, { readerSchema: reader })).resolves.toEqual({ id: 'ab', added: 7 });
  });

  it('rejects trailing bytes and truncated input with the item index', async () => {
    const good = Buffer.from('046162020602ff00', 'hex');
    await expect(decodeManyWithPythonAvro(schema, [good, Buffer.concat([good, Buffer.from([0])])])).rejects.toMatchObject({
      code: 'python_avro_failed',
      message: expect.stringMatching(/item 1.*1 trailing bytes/),
    });
    await expect(decodeWithPythonAvro(schema, good.subarray(0, 3))).rejects.toMatchObject({ code: 'python_avro_failed' });
  });

  it('rejects a datum that does not fit the schema', async () => {
    await expect(encodeWithPythonAvro(schema, { id: 1 })).rejects.toMatchObject({ code: 'python_avro_failed' });
  });

  it('frames encoded values for the Confluent wire format', async () => {
    const framed = await encodeConfluentWithPythonAvro(42, schema, { id: 'ab', sizeBytes: 1, observedAtMs: 3, digest: Buffer.from([0xff]), note: null });
    const { schemaId, body } = parseConfluentFrame(framed);
    expect(schemaId).toBe(42);
    expect(body.toString('hex')).toBe('046162020602ff00');
  });
});
