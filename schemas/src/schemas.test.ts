import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { allSchemas, checkBackward, missingDocs, topics, type AvroSchema } from './index';

const root = path.resolve(__dirname, '..');

function snapshotVersions(name: string): number[] {
  const dir = path.join(root, 'compat', name);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^v(\d+)\.avsc$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function readSnapshot(name: string, version: number): AvroSchema {
  return JSON.parse(fs.readFileSync(path.join(root, 'compat', name, `v${version}.avsc`), 'utf8')) as AvroSchema;
}

function fromGoldenJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromGoldenJson);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]?.[0] === '$bytes') return Buffer.from(String(entries[0][1]), 'hex');
    return Object.fromEntries(entries.map(([k, v]) => [k, fromGoldenJson(v)]));
  }
  return value;
}

const names = Object.keys(allSchemas);

describe('schema sources', () => {
  it('covers every event of the pipeline', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'ContentSubmitted',
        'ContentHashed',
        'MatchFound',
        'ChatMessage',
        'GroomingAlert',
        'ReviewDecision',
        'ReportEmitted',
        'IndicatorUpdated',
        'DeadLetter',
        'AuditRecord',
        'IndicatorFeedback',
      ]),
    );
  });

  it('has generated TypeScript that is up to date with avro/', () => {
    const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'generate.js'), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each(names)('%s documents every record, enum and field', (name) => {
    expect(missingDocs(allSchemas[name]!)).toEqual([]);
  });
});

describe('BACKWARD compatibility with the committed versions (compat/)', () => {
  it.each(names)('%s: the current schema reads data written with every committed version', (name) => {
    const versions = snapshotVersions(name);
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) {
      const result = checkBackward(allSchemas[name]!, readSnapshot(name, v));
      if (!result.compatible) throw new Error(`${name} is not BACKWARD compatible with compat/${name}/v${v}.avsc: ${result.reason}`);
    }
  });

  it.each(names)('%s: each committed version reads its predecessor', (name) => {
    const versions = snapshotVersions(name);
    for (let i = 1; i < versions.length; i++) {
      expect(checkBackward(readSnapshot(name, versions[i]!), readSnapshot(name, versions[i - 1]!))).toEqual({ compatible: true });
    }
  });

  it.each(names)('%s: a changed schema is recorded as a new version (npm run snapshot -w @safeguard/schemas)', (name) => {
    const versions = snapshotVersions(name);
    const latest = readSnapshot(name, versions[versions.length - 1]!);
    expect(JSON.stringify(allSchemas[name])).toBe(JSON.stringify(latest));
  });
});

describe('the compatibility check itself', () => {
  const base: AvroSchema = {
    type: 'record',
    name: 'T',
    doc: 'd',
    fields: [
      { name: 'id', type: 'string', doc: 'd' },
      { name: 'kind', type: { type: 'enum', name: 'K', doc: 'd', symbols: ['A', 'B'] }, doc: 'd' },
    ],
  };
  const withField = (field: Record<string, unknown>): AvroSchema => ({ ...base, fields: [...(base.fields as unknown[]), field] });

  it('accepts a new field with a default', () => {
    expect(checkBackward(withField({ name: 'n', type: 'int', default: 0, doc: 'd' }), base).compatible).toBe(true);
  });
  it('refuses a new field without a default', () => {
    expect(checkBackward(withField({ name: 'n', type: 'int', doc: 'd' }), base).compatible).toBe(false);
  });
  it('refuses a removed enum symbol without an enum default', () => {
    const narrowed = { ...base, fields: [{ name: 'id', type: 'string' }, { name: 'kind', type: { type: 'enum', name: 'K', symbols: ['A'] } }] };
    expect(checkBackward(narrowed, base).compatible).toBe(false);
  });
  it('refuses a changed field type', () => {
    const changed = { ...base, fields: [{ name: 'id', type: 'int' }, (base.fields as unknown[])[1]] };
    expect(checkBackward(changed, base).compatible).toBe(false);
  });
  it('accepts a promotable type change (int to long)', () => {
    const w = { type: 'record', name: 'P', fields: [{ name: 'n', type: 'int' }] };
    const r = { type: 'record', name: 'P', fields: [{ name: 'n', type: 'long' }] };
    expect(checkBackward(r, w).compatible).toBe(true);
  });
  it('finds missing docs', () => {
    expect(missingDocs({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] })).toEqual(['R', 'R.x']);
  });
});

describe('golden encodings', () => {
  const goldens = fs
    .readdirSync(path.join(root, 'golden'))
    .flatMap((name) =>
      fs
        .readdirSync(path.join(root, 'golden', name))
        .filter((f) => /^v\d+\.json$/.test(f))
        .map((f) => [name, Number(/\d+/.exec(f)![0])] as const),
    );

  it('has a golden value for every schema', () => {
    expect(new Set(goldens.map(([n]) => n))).toEqual(new Set(names));
  });

  it.each(goldens)('%s v%i: encodes to the committed bytes and the current schema decodes them', (name, version) => {
    const dir = path.join(root, 'golden', name);
    const value = fromGoldenJson(JSON.parse(fs.readFileSync(path.join(dir, `v${version}.json`), 'utf8')));
    const hex = fs.readFileSync(path.join(dir, `v${version}.avro.hex`), 'utf8').trim();
    const writer = avro.Type.forSchema(readSnapshot(name, version) as avro.Schema);
    expect(writer.toBuffer(value).toString('hex')).toBe(hex);

    const reader = avro.Type.forSchema(allSchemas[name]! as avro.Schema);
    const decoded = reader.fromBuffer(Buffer.from(hex, 'hex'), reader.createResolver(writer));
    expect(decoded).toMatchObject(value as Record<string, unknown>);
    expect(reader.isValid(decoded)).toBe(true);
  });
});

describe('topics', () => {
  it('follow <domain>.<entity>.<past-tense-event>.v<major> and use the generated schemas', () => {
    for (const binding of Object.values(topics)) {
      expect(binding.topic).toMatch(/^[a-z]+\.[a-z]+\.[a-z]+\.v\d+$/);
      expect(Object.values(allSchemas)).toContain(binding.valueSchema);
      expect(binding.partitions).toBeGreaterThan(0);
    }
  });

  it('key content events by platform and content id, indicators by bank and entry', () => {
    const golden = (n: string): never => fromGoldenJson(JSON.parse(fs.readFileSync(path.join(root, 'golden', n, 'v1.json'), 'utf8'))) as never;
    expect(topics.contentSubmitted.key(golden('ContentSubmitted'))).toBe('demo-platform/c-0001');
    expect(topics.chatMessageSent.key(golden('ChatMessage'))).toBe('demo-platform/conv-42');
    expect(topics.indicatorUpdated.key(golden('IndicatorUpdated'))).toBe('demo-known/E-1001');
    expect(topics.indicatorUpdated.compacted).toBe(true);
    expect(topics.auditRecorded.partitions).toBe(1);
  });
});
