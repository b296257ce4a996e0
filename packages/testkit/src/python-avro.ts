import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestkitError, errorMessage } from './errors';
import { buildConfluentFrame, parseConfluentFrame } from './wire-frame';
import { fetchSchemaById } from './registry-http';

/** The script shipped with this package (`python/avro_tool.py`), beside `src/` and `dist/`. */
export const AVRO_TOOL_SCRIPT = join(__dirname, '..', 'python', 'avro_tool.py');

/**
 * The interpreter that has Debian's python3-avro: `SAFEGUARD_PYTHON` if set, else
 * `/usr/bin/python3` (not a pyenv or venv `python3` earlier on PATH, which lacks it), else `python3`.
 */
export function avroPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SAFEGUARD_PYTHON) return env.SAFEGUARD_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Options of the Python Avro helpers. */
export interface PythonAvroOptions {
  /** Reader schema for schema-resolution checks (decode only); default: the writer schema. */
  readerSchema?: string | object;
  /**
   * Apply Avro logical types (timestamps become `{ $datetime }` etc.); default false, so values
   * come back as their underlying primitives, as JavaScript's avsc returns them by default.
   */
  logicalTypes?: boolean;
  /** Deadline for the Python process in milliseconds; default 30 000. */
  timeoutMs?: number;
}

/**
 * Decodes Avro binary bodies (no Confluent framing) with Apache's Python implementation.
 * Values come back as JSON-like data: `bytes`/`fixed` as `Buffer`, longs beyond 2^53 - 1 as
 * `bigint`, records as plain objects, unions unwrapped.
 *
 * @param writerSchema - the schema the bytes were written with (JSON text or object).
 * @throws TestkitError `python_avro_failed` if a body does not decode exactly (including
 *   trailing bytes), `python_avro_missing` if the interpreter lacks python3-avro.
 */
export async function decodeManyWithPythonAvro(writerSchema: string | object, bodies: Uint8Array[], options: PythonAvroOptions = {}): Promise<unknown[]> {
  const answer = await runAvroTool(
    {
      mode: 'decode',
      writerSchema: schemaText(writerSchema),
      readerSchema: options.readerSchema === undefined ? undefined : schemaText(options.readerSchema),
      payloads: bodies.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')),
      logicalTypes: options.logicalTypes ?? false,
    },
    options.timeoutMs,
  );
  return (answer.values as unknown[]).map(revive);
}

/** {@link decodeManyWithPythonAvro} for one body. */
export async function decodeWithPythonAvro(writerSchema: string | object, body: Uint8Array, options: PythonAvroOptions = {}): Promise<unknown> {
  const [value] = await decodeManyWithPythonAvro(writerSchema, [body], options);
  return value;
}

/**
 * Encodes one datum to an Avro binary body with Apache's Python implementation (for the reverse
 * interop direction: Python writes, our consumers read). `Buffer` values become Avro bytes,
 * `bigint` values longs.
 *
 * @throws TestkitError `python_avro_failed` if the datum does not match the schema.
 */
export async function encodeWithPythonAvro(writerSchema: string | object, datum: unknown, options: Omit<PythonAvroOptions, 'readerSchema'> = {}): Promise<Buffer> {
  const answer = await runAvroTool(
    { mode: 'encode', writerSchema: schemaText(writerSchema), datums: [tag(datum)], logicalTypes: options.logicalTypes ?? false },
    options.timeoutMs,
  );
  return Buffer.from((answer.payloads as string[])[0] ?? '', 'base64');
}

/** A Confluent-framed value decoded with the writer schema the registry holds for its id. */
export interface DecodedConfluentValue {
  schemaId: number;
  /** Writer schema text as fetched from the registry. */
  schema: string;
  value: unknown;
}

/**
 * The full independent read path for one record value: split Confluent's frame, fetch the writer
 * schema by id over HTTP, decode the body with Python's Avro.
 *
 * @param registryUrl - default `integrationEnv().registryUrl`.
 * @throws TestkitError `invalid_wire_frame`, `registry_http_error` or `python_avro_failed`.
 */
export async function decodeConfluentWithPythonAvro(value: Uint8Array, registryUrl?: string, options: PythonAvroOptions = {}): Promise<DecodedConfluentValue> {
  const { schemaId, body } = parseConfluentFrame(value);
  const { schema, schemaType } = await fetchSchemaById(schemaId, registryUrl);
  if (schemaType !== 'AVRO') {
    throw new TestkitError('python_avro_failed', `schema ${schemaId} is ${schemaType}, not AVRO`);
  }
  return { schemaId, schema, value: await decodeWithPythonAvro(schema, body, options) };
}

/**
 * Encodes with Python's Avro and prepends Confluent's frame for `schemaId`: a value any
 * Confluent deserializer (ours included) must read.
 */
export async function encodeConfluentWithPythonAvro(schemaId: number, writerSchema: string | object, datum: unknown, options: Omit<PythonAvroOptions, 'readerSchema'> = {}): Promise<Buffer> {
  return buildConfluentFrame(schemaId, await encodeWithPythonAvro(writerSchema, datum, options));
}

function schemaText(schema: string | object): string {
  return typeof schema === 'string' ? schema : JSON.stringify(schema);
}

function runAvroTool(request: Record<string, unknown>, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const python = avroPython();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [AVRO_TOOL_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new TestkitError('python_avro_failed', `${python} ${AVRO_TOOL_SCRIPT} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new TestkitError('python_avro_missing', `cannot run ${python} (set SAFEGUARD_PYTHON, or run infra/install-system-deps.sh): ${errorMessage(e)}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code === 3) {
        reject(new TestkitError('python_avro_missing', `${python}: ${stderr}`));
        return;
      }
      let answer: Record<string, unknown>;
      try {
        answer = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        reject(new TestkitError('python_avro_failed', `${python} ${AVRO_TOOL_SCRIPT} exited ${code}: ${stderr || stdout.slice(0, 500)}`));
        return;
      }
      if (code !== 0 || typeof answer.error === 'string') {
        const at = typeof answer.index === 'number' ? ` (item ${answer.index})` : '';
        reject(new TestkitError('python_avro_failed', `Python Avro${at}: ${String(answer.error ?? stderr)}`));
        return;
      }
      resolve(answer);
    });
    child.stdin.on('error', () => undefined); // reported through 'close' / 'error'
    child.stdin.end(JSON.stringify(request));
  });
}

/** JSON from avro_tool.py -> JavaScript values (Buffer, bigint, non-finite numbers). */
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [[key, raw]] = entries as [[string, unknown]];
      if (typeof raw === 'string') {
        if (key === '$bytes') return Buffer.from(raw, 'base64');
        if (key === '$long') return BigInt(raw);
        if (key === '$float') return Number(raw);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

/** JavaScript values -> tagged JSON for avro_tool.py. */
function tag(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (typeof value === 'bigint') return { $long: value.toString() };
  if (typeof value === 'number' && !Number.isFinite(value)) return { $float: String(value) };
  if (Array.isArray(value)) return value.map(tag);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, tag(v)]));
  }
  return value;
}
