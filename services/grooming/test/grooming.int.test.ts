import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createTransport, partitionForKey, type Reader, type TopicBinding, type Transport } from '@safeguard/kafka';
import { createMetricsRegistry, type Registry } from '@safeguard/observability';
import { renameTopic, topics, type ChatMessage, type ConversationState, type GroomingAlert } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { decodeConfluentWithPythonAvro, integrationEnv, kcatConsume, uniqueName, waitFor } from '@safeguard/testkit';
import { groomingConfigSchema } from '../src/config';
import { startGrooming, type GroomingService } from '../src/service';
import { EVIDENCE_INDEXES, groomingConversation, messageIdOf, SECOND_HALF_START } from './fixtures/conversations';

jest.setTimeout(180_000);

const MAIN_JS = path.join(__dirname, '..', 'dist', 'main.js');
/** Short session so a SIGKILLed member leaves the group quickly (the broker's minimum is 6 s). */
const SESSION_TIMEOUT_MS = '6000';

interface Instance {
  runtime: ServiceRuntime;
  service: GroomingService;
  registry: Registry;
}

/** Keeps the latest changelog record per key while the test runs. */
class ChangelogTail {
  readonly latest = new Map<string, ConversationState | null>();
  private reader: Reader | undefined;

  async start(transport: Transport, binding: TopicBinding<ConversationState>): Promise<void> {
    this.reader = await transport.reader({ binding, handle: (m) => void this.latest.set(m.key!, m.value) });
  }

  async waitFor(key: string, lastOffset: number): Promise<void> {
    await waitFor(() => this.latest.get(key)?.lastOffset === lastOffset, {
      timeoutMs: 60_000,
      description: `changelog state of ${key} at input offset ${lastOffset}`,
    });
  }

  stop(): Promise<void> {
    return this.reader?.stop() ?? Promise.resolve();
  }
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('grooming against the real broker and schema registry', () => {
  const env = integrationEnv();
  let prefix: string;
  let admin: Transport;
  let instances: Instance[];
  let children: ChildProcess[];
  let tail: ChangelogTail;
  let input: TopicBinding<ChatMessage> & { partitions: number };
  let alertsTopic: string;

  beforeEach(async () => {
    prefix = `${uniqueName('grooming')}.`;
    instances = [];
    children = [];
    admin = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: 'grooming-test', schemaRegistryUrl: env.registryUrl });
    input = renameTopic(topics.chatMessageSent, `${prefix}${topics.chatMessageSent.topic}`);
    alertsTopic = `${prefix}${topics.conversationFlagged.topic}`;
    const changelog = renameTopic(topics.conversationState, `${prefix}${topics.conversationState.topic}`);
    await admin.admin().ensureTopics([
      { topic: input.topic, partitions: input.partitions },
      { topic: changelog.topic, partitions: input.partitions, cleanupPolicy: 'compact' },
    ]);
    tail = new ChangelogTail();
    await tail.start(admin, changelog);
  });

  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const i of instances) await i.runtime.stop();
    await tail.stop();
    const names = (await admin.admin().listTopics()).filter((t) => t.startsWith(prefix));
    await admin.admin().deleteTopics(names);
    await admin.close();
  });

  function configEnv(): Record<string, string> {
    return {
      KAFKA_BROKERS: env.brokersCsv,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      GROOMING_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS,
    };
  }

  async function start(): Promise<Instance> {
    const config = groomingConfigSchema.parse(configEnv());
    const registry = createMetricsRegistry({ service: 'grooming' });
    const runtime = await ServiceRuntime.start({ service: 'grooming', common: config.common, registry, healthServer: false });
    try {
      const service = await startGrooming(config, runtime);
      const instance = { runtime, service, registry };
      instances.push(instance);
      return instance;
    } catch (err) {
      await runtime.stop();
      throw err;
    }
  }

  async function stop(instance: Instance): Promise<void> {
    instances = instances.filter((i) => i !== instance);
    await instance.runtime.stop();
  }

  /** Produces messages; returns the input offset of the last one. */
  async function feed(messages: ChatMessage[]): Promise<number> {
    const positions = await admin.producer().send(input, messages.map((value) => ({ value })));
    return Number(positions.at(-1)!.offset);
  }

  /** Every alert on the topic, read by an independent client (kcat) and decoded with Apache Avro (Python). */
  async function alertsByIndependentClient(): Promise<GroomingAlert[]> {
    const count = (await admin.admin().listOffsets(alertsTopic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    if (count === 0) return [];
    const records = await kcatConsume({ topic: alertsTopic, count });
    return Promise.all(records.map(async (r) => (await decodeConfluentWithPythonAvro(r.value!, env.registryUrl)).value as GroomingAlert));
  }

  it('restores after a graceful stop in the middle of a conversation and raises the alert once', async () => {
    const conversation = groomingConversation({ conversationId: `graceful-${prefix}` });
    const key = `platform-test/${conversation[0]!.conversationId}`;
    const a = await start();
    const firstHalfEnd = await feed(conversation.slice(0, SECOND_HALF_START));
    await tail.waitFor(key, firstHalfEnd);
    expect(await alertsByIndependentClient()).toEqual([]);
    await stop(a);

    const b = await start();
    expect(b.service.restores.reduce((n, r) => n + r.loaded, 0)).toBe(1);
    const end = await feed(conversation.slice(SECOND_HALF_START));
    await tail.waitFor(key, end);
    const alerts = await alertsByIndependentClient();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      conversationId: conversation[0]!.conversationId,
      evidenceMessageIds: EVIDENCE_INDEXES.map((i) => messageIdOf(conversation[0]!.conversationId, i)),
      suspectedAccountId: 'acct-adult-1',
      stage: 'RISK_ASSESSMENT',
      minorInvolved: true,
    });
    expect(JSON.stringify(alerts)).not.toContain('free skins');
  });

  it('restores after SIGKILL of a service process in the middle of a conversation and raises the alert once', async () => {
    if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: build first (npx turbo run build --filter=@safeguard/grooming-service)`);
    const conversation = groomingConversation({ conversationId: `killed-${prefix}` });
    const key = `platform-test/${conversation[0]!.conversationId}`;
    const firstHalfEnd = await feed(conversation.slice(0, SECOND_HALF_START));

    const child = spawn(process.execPath, [MAIN_JS], { env: { ...process.env, ...configEnv() }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    await Promise.race([
      tail.waitFor(key, firstHalfEnd),
      exited.then((how) => {
        throw new Error(`service process exited early (${how}): ${stderr}`);
      }),
    ]);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Offsets the killed process committed (it may have died before committing the last ones).
    const partition = partitionForKey(Buffer.from(key), input.partitions);
    const committed = (await admin.admin().committedOffsets(`${prefix}grooming`, input.topic)).find((c) => c.partition === partition);
    const redelivered = firstHalfEnd + 1 - Number(committed?.offset ?? 0);

    const b = await start();
    expect(b.service.store.get(key)?.lastOffset).toBe(firstHalfEnd);
    const end = await feed(conversation.slice(SECOND_HALF_START));
    await tail.waitFor(key, end);
    expect(await metric(b.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate' })).toBe(redelivered);
    expect(await metric(b.registry, 'safeguard_grooming_messages_total', { outcome: 'analysed' })).toBe(conversation.length - SECOND_HALF_START);
    const alerts = await alertsByIndependentClient();
    expect(alerts.map((x) => x.evidenceMessageIds)).toEqual([EVIDENCE_INDEXES.map((i) => messageIdOf(conversation[0]!.conversationId, i))]);
  });

  it('hands partitions over when one of two replicas leaves: the other restores them and each conversation alerts once', async () => {
    // One conversation per input partition, so both replicas hold some whatever the assignment.
    const byPartition = new Map<number, ChatMessage[]>();
    for (let n = 0; byPartition.size < input.partitions; n++) {
      const id = `rebalance-${n}-${prefix}`;
      const p = partitionForKey(Buffer.from(`platform-test/${id}`), input.partitions);
      if (!byPartition.has(p)) byPartition.set(p, groomingConversation({ conversationId: id }));
    }
    const conversations = [...byPartition.values()];
    const keyOf = (c: ChatMessage[]): string => `platform-test/${c[0]!.conversationId}`;
    const a = await start();
    const b = await start();
    await waitFor(() => a.service.restores.length > 0 && b.service.restores.length > 0, { timeoutMs: 60_000, description: 'both replicas assigned' });
    const last = new Map<string, number>();
    for (const c of conversations) last.set(keyOf(c), await feed(c.slice(0, SECOND_HALF_START)));
    for (const [key, offset] of last) await tail.waitFor(key, offset);
    await waitFor(() => a.service.store.size + b.service.store.size === conversations.length, {
      timeoutMs: 30_000,
      description: 'every conversation held by one replica',
    });
    const moved = a.service.store.size;
    expect(moved).toBeGreaterThan(0);
    expect(b.service.store.size).toBeGreaterThan(0);

    await stop(a);
    await waitFor(() => b.service.store.size === conversations.length, { timeoutMs: 60_000, description: 'b restored the partitions a held' });
    expect(b.service.restores.at(-1)!.loaded).toBe(moved);

    for (const c of conversations) last.set(keyOf(c), await feed(c.slice(SECOND_HALF_START)));
    for (const [key, offset] of last) await tail.waitFor(key, offset);
    const alerts = await alertsByIndependentClient();
    expect(alerts.map((x) => x.conversationId).sort()).toEqual(conversations.map((c) => c[0]!.conversationId).sort());
    for (const x of alerts) expect(x.evidenceMessageIds).toEqual(EVIDENCE_INDEXES.map((i) => messageIdOf(x.conversationId, i)));
  });
});
