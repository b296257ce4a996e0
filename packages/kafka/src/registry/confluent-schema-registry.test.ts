import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfluentSchemaRegistryClient } from './confluent-schema-registry';

/**
 * A scripted Confluent-compatible registry: each test says what every route answers, the server
 * records the requests. Deterministic stand-in for the races a real registry shows only sometimes.
 */
interface Reply {
  status: number;
  body: unknown;
}
type Route = 'config' | 'putConfig' | 'register' | 'lookup' | 'compatibility';
type Script = Partial<Record<Route, (call: number, body: unknown) => Reply | Promise<Reply>>>;

const ok = (body: unknown): Reply => ({ status: 200, body });
const notFound = (errorCode: number): Reply => ({ status: 404, body: { error_code: errorCode, message: 'not found' } });
const conflict = (message: string): Reply => ({ status: 409, body: { error_code: 409, message } });

function route(req: IncomingMessage): Route | undefined {
  const path = decodeURIComponent((req.url ?? '').split('?')[0]);
  if (/^\/config\/[^/]+$/.test(path)) return req.method === 'PUT' ? 'putConfig' : 'config';
  if (req.method === 'POST' && /^\/subjects\/[^/]+\/versions$/.test(path)) return 'register';
  if (req.method === 'POST' && /^\/subjects\/[^/]+$/.test(path)) return 'lookup';
  if (req.method === 'POST' && /^\/compatibility\/subjects\/[^/]+\/versions\/latest$/.test(path)) return 'compatibility';
  return undefined;
}

class FakeRegistry {
  readonly calls: Route[] = [];
  private server: Server | undefined;
  script: Script = {};

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(r: Route): number {
    return this.calls.filter((c) => c === r).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const r = route(req);
    const handler = r ? this.script[r] : undefined;
    if (r) this.calls.push(r);
    const reply = handler ? await handler(this.count(r as Route), text ? JSON.parse(text) : undefined) : notFound(40401);
    res.writeHead(reply.status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(reply.body));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const schema = JSON.stringify({ type: 'record', name: 'Item', namespace: 'safeguard.test', fields: [{ name: 'id', type: 'string' }] });

describe('ConfluentSchemaRegistryClient registration conflicts', () => {
  let registry: FakeRegistry;
  let url: string;

  beforeEach(async () => {
    registry = new FakeRegistry();
    url = await registry.start();
  });
  afterEach(async () => {
    await registry.stop();
  });

  it('takes the id when the compatibility pin conflicts because another client pinned the subject first', async () => {
    registry.script = {
      config: () => notFound(40401), // first registration as far as this client saw
      register: () => ok({ id: 7 }),
      putConfig: () => conflict("A rule named 'COMPATIBILITY' already exists."),
      lookup: () => ok({ subject: 's-value', version: 1, id: 7, schema }),
    };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    await expect(client.register('s-value', schema)).resolves.toBe(7);
    expect(registry.count('lookup')).toBe(1);
    expect(registry.count('compatibility')).toBe(0);
  });

  it('takes the id when registering conflicts but the schema is registered under the subject', async () => {
    registry.script = {
      config: () => ok({ compatibilityLevel: 'BACKWARD' }),
      register: () => conflict('Artifact already exists'),
      lookup: () => ok({ subject: 's-value', version: 1, id: 12, schema }),
    };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    await expect(client.register('s-value', schema)).resolves.toBe(12);
  });

  it('is schema_incompatible only when the schema is not registered and the compatibility check fails', async () => {
    let checked: unknown;
    registry.script = {
      config: () => ok({ compatibilityLevel: 'BACKWARD' }),
      register: () => conflict('Incompatible artifact'),
      lookup: () => notFound(40403),
      compatibility: (_n, body) => {
        checked = body;
        return ok({ is_compatible: false });
      },
    };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ name: 'SchemaIncompatibleError', code: 'schema_incompatible', retriable: false, subject: 's-value' });
    expect(checked).toEqual({ schema });
    expect(registry.count('register')).toBe(1);
  });

  it('registers again after a conflict when the schema is compatible but not there yet', async () => {
    registry.script = {
      config: () => ok({ compatibilityLevel: 'BACKWARD' }),
      register: (n) => (n === 1 ? conflict('concurrent modification') : ok({ id: 21 })),
      lookup: () => notFound(40403),
      compatibility: () => ok({ is_compatible: true }),
    };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    await expect(client.register('s-value', schema)).resolves.toBe(21);
    expect(registry.count('register')).toBe(2);
  });

  it('treats a subject without versions (404 on the check) as compatible', async () => {
    registry.script = {
      config: () => ok({ compatibilityLevel: 'BACKWARD' }),
      register: (n) => (n === 1 ? conflict('concurrent modification') : ok({ id: 22 })),
      lookup: () => notFound(40401),
      compatibility: () => notFound(40401),
    };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    await expect(client.register('s-value', schema)).resolves.toBe(22);
  });

  it('gives up with a transient schema_registration_conflict when the conflict persists', async () => {
    registry.script = {
      config: () => ok({ compatibilityLevel: 'BACKWARD' }),
      register: () => conflict('concurrent modification'),
      lookup: () => notFound(40403),
      compatibility: () => ok({ is_compatible: true }),
    };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0, registrationAttempts: 3 });
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ code: 'schema_registration_conflict', retriable: true });
    expect(registry.count('register')).toBe(3);
  });

  it('keeps other refusals as they are: 422 is schema_registry_error, 5xx is transient', async () => {
    registry.script = { config: () => ok({ compatibilityLevel: 'BACKWARD' }), register: () => ({ status: 422, body: { error_code: 42201, message: 'invalid schema' } }) };
    const client = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ code: 'schema_registry_error', retriable: false });
    registry.script = { config: () => ok({ compatibilityLevel: 'BACKWARD' }), register: () => ({ status: 503, body: { message: 'down' } }) };
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ code: 'schema_registry_unavailable', retriable: true });
  });

  it('sends one registration for many concurrent senders of one schema in the process, and does not keep a failure', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    registry.script = {
      config: () => ok({ compatibilityLevel: 'BACKWARD' }),
      register: async (n) => {
        if (n === 1) {
          await released;
          return { status: 503, body: { message: 'down' } };
        }
        return ok({ id: 30 });
      },
    };
    // Two clients (two transports of one process) and another subject.
    const a = new ConfluentSchemaRegistryClient({ url, retries: 0 });
    const b = new ConfluentSchemaRegistryClient({ url: `${url}/`, retries: 0 });
    const first = Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).register('s-value', schema).catch((err: { code?: string }) => err.code));
    release();
    expect(new Set(await Promise.all(first))).toEqual(new Set(['schema_registry_unavailable']));
    expect(registry.count('register')).toBe(1);

    const second = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).register('s-value', schema)));
    expect(new Set(second)).toEqual(new Set([30]));
    expect(registry.count('register')).toBe(2);
    await a.register('other-value', schema);
    expect(registry.count('register')).toBe(3);
  });
});
