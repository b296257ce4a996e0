import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafeguardError } from '@safeguard/domain';
import { ConversationAnalyzer } from '@safeguard/grooming';
import {
  createTransport,
  InProcessBroker,
  partitionForKey,
  type ConsumedMessage,
  type InProcessTransport,
  type Producer,
  type TopicBinding,
  type Transport,
} from '@safeguard/kafka';
import { createMetricsRegistry, type Registry } from '@safeguard/observability';
import { topics, type ChatMessage, type ConversationState, type GroomingAlert } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { repoRoot, waitFor } from '@safeguard/testkit';
import { ALERT_MESSAGE_INDEX, EVIDENCE_INDEXES, groomingConversation, messageIdOf, SECOND_HALF_START } from '../test/fixtures/conversations';
import { groomingConfigSchema } from './config';
import { ConversationStore } from './conversation-store';
import { GroomingHandler, type StateRecord } from './handler';
import { createGroomingMetrics } from './metrics';
import { startGrooming, type GroomingService } from './service';

const DAY = 24 * 3600 * 1000;

async function readAll<V>(transport: InProcessTransport, binding: TopicBinding<V>): Promise<ConsumedMessage<V>[]> {
  if (!transport.broker.hasTopic(binding.topic)) return [];
  const out: ConsumedMessage<V>[] = [];
  const reader = await transport.reader({ binding, handle: (m) => void out.push(m) });
  await reader.caughtUp();
  await reader.stop();
  return out;
}

/** The latest changelog value per key (what compaction keeps). */
async function changelogState(transport: InProcessTransport): Promise<Map<string, ConsumedMessage<ConversationState>>> {
  const latest = new Map<string, ConsumedMessage<ConversationState>>();
  for (const m of await readAll(transport, topics.conversationState)) {
    if (m.value === null) latest.delete(m.key!);
    else latest.set(m.key!, m);
  }
  return latest;
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
  if (values.some((v) => v.metricName !== undefined)) return values.filter((v) => v.metricName === `${name}_count`).reduce((n, v) => n + v.value, 0);
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

interface Instance {
  runtime: ServiceRuntime;
  service: GroomingService;
  transport: InProcessTransport;
  registry: Registry;
}

describe('grooming service (in-process transport)', () => {
  let broker: InProcessBroker;
  let instances: Instance[];
  let clock: { now: number };

  beforeEach(() => {
    broker = new InProcessBroker();
    instances = [];
    clock = { now: Date.UTC(2026, 2, 3) };
  });

  afterEach(async () => {
    for (const i of instances) await i.runtime.stop();
  });

  async function start(env: Record<string, string> = {}, wrap: (t: InProcessTransport) => Transport = (t) => t): Promise<Instance> {
    const config = groomingConfigSchema.parse({ SAFEGUARD_TRANSPORT: 'in-process', LOG_LEVEL: 'silent', ...env });
    const registry = createMetricsRegistry({ service: 'grooming' });
    const transport = createTransport({ kind: 'in-process', broker, clientId: 'grooming', metricsRegistry: registry });
    const runtime = await ServiceRuntime.start({ service: 'grooming', common: config.common, transport: wrap(transport), registry, healthServer: false });
    let service: GroomingService;
    try {
      service = await startGrooming(config, runtime, { now: () => clock.now });
    } catch (err) {
      await runtime.stop();
      throw err;
    }
    const instance = { runtime, service, transport, registry };
    instances.push(instance);
    return instance;
  }

  async function stop(instance: Instance): Promise<void> {
    await instance.runtime.stop();
    instances = instances.filter((i) => i !== instance);
  }

  /** Produces the messages; returns the offset of the last one. */
  async function feed(transport: InProcessTransport, messages: ChatMessage[]): Promise<number> {
    const positions = await transport.producer().send(topics.chatMessageSent, messages.map((value) => ({ value })));
    return Number(positions.at(-1)!.offset);
  }

  async function waitApplied(transport: InProcessTransport, key: string, lastOffset: number): Promise<void> {
    await waitFor(async () => (await changelogState(transport)).get(key)?.value?.lastOffset === lastOffset, {
      timeoutMs: 5_000,
      intervalMs: 10,
      description: `state of ${key} at offset ${lastOffset}`,
    });
  }

  const alertsOf = async (transport: InProcessTransport): Promise<GroomingAlert[]> => (await readAll(transport, topics.conversationFlagged)).map((m) => m.value!);

  it('analyses a conversation, publishes one alert with its evidence and keeps the state in the changelog', async () => {
    const a = await start();
    const conversation = groomingConversation({ conversationId: 'c1' });
    await feed(a.transport, conversation);
    await waitApplied(a.transport, 'platform-test/c1', conversation.length - 1);
    const alerts = await alertsOf(a.transport);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      conversationId: 'c1',
      evidenceMessageIds: EVIDENCE_INDEXES.map((i) => messageIdOf('c1', i)),
      detectorVersion: a.service.detectorVersion,
    });
    const state = (await changelogState(a.transport)).get('platform-test/c1')!;
    expect(state.partition).toBe(partitionForKey(Buffer.from('platform-test/c1'), 6));
    expect(state.value).toMatchObject({ platformId: 'platform-test', conversationId: 'c1', pendingAlert: null });
    expect(broker.partitionCount(topics.conversationState.topic)).toBe(6);
    expect(await metricValue(a.registry, 'safeguard_grooming_active_conversations')).toBe(1);
    expect(await metricValue(a.registry, 'safeguard_grooming_restore_seconds')).toBeGreaterThan(0);
    // The shared fan-out contact of the adult reached the contact topic.
    const contacts = await readAll(a.transport, topics.contactObserved);
    expect(contacts.map((c) => c.value)).toEqual([{ platformId: 'platform-test', senderId: 'acct-adult-1', conversationId: 'c1', contactAtMs: conversation[0]!.sentAtMs }]);
  });

  it('restores state after a restart in the middle of a conversation and alerts once', async () => {
    const conversation = groomingConversation({ conversationId: 'c2' });
    const a = await start();
    await feed(a.transport, conversation.slice(0, SECOND_HALF_START));
    await waitApplied(a.transport, 'platform-test/c2', SECOND_HALF_START - 1);
    await stop(a);

    const b = await start();
    expect(b.service.restores.reduce((n, r) => n + r.loaded, 0)).toBe(1);
    expect(b.service.store.get('platform-test/c2')!.lastOffset).toBe(SECOND_HALF_START - 1);
    await feed(b.transport, conversation.slice(SECOND_HALF_START));
    await waitApplied(b.transport, 'platform-test/c2', conversation.length - 1);
    const alerts = await alertsOf(b.transport);
    expect(alerts.map((x) => x.evidenceMessageIds)).toEqual([EVIDENCE_INDEXES.map((i) => messageIdOf('c2', i))]);
  });

  it('after a crash between the state write and the alert, skips applied offsets and publishes the stored alert once', async () => {
    // What a SIGKILL right after the state write of message 10 leaves behind: the input, no
    // committed offsets, no alert, and a changelog whose last record carries the pending alert.
    const conversation = groomingConversation({ conversationId: 'c3' });
    const key = 'platform-test/c3';
    const partition = partitionForKey(Buffer.from(key), 6);
    const states: StateRecord[] = [];
    const offline = new GroomingHandler({
      analyzer: new ConversationAnalyzer({ config: { alertThreshold: 0.6 } }),
      store: new ConversationStore(),
      writeStates: async (r) => void states.push(...r),
      publishAlert: async () => {
        throw new Error('killed');
      },
      platforms: new Set(),
      maxConversations: 100,
      stateTtlMs: 7 * DAY,
      detectorVersion: 'before-crash',
      metrics: createGroomingMetrics(createMetricsRegistry({ service: 'offline' })),
      now: () => clock.now,
    });
    for (const [i, value] of conversation.slice(0, ALERT_MESSAGE_INDEX + 1).entries()) {
      await offline.handle({ key, partition, offset: i, value }).catch(() => undefined);
    }
    const setup = createTransport({ kind: 'in-process', broker });
    await setup.admin().ensureTopics([
      { topic: topics.chatMessageSent.topic, partitions: 6 },
      { topic: topics.conversationState.topic, partitions: 6, cleanupPolicy: 'compact' },
    ]);
    await feed(setup, conversation.slice(0, ALERT_MESSAGE_INDEX + 1));
    await setup.producer().send(topics.conversationState, states.map((s) => ({ key: s.key, partition: s.partition, value: s.value })));
    expect(states.at(-1)!.value!.pendingAlert).not.toBeNull();

    const b = await start();
    expect(b.service.restores.reduce((n, r) => n + r.pendingAlerts, 0)).toBe(1);
    await feed(b.transport, conversation.slice(ALERT_MESSAGE_INDEX + 1));
    await waitApplied(b.transport, key, conversation.length - 1);
    const alerts = await alertsOf(b.transport);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ detectorVersion: 'before-crash', evidenceMessageIds: EVIDENCE_INDEXES.map((i) => messageIdOf('c3', i)) });
    expect(await metricValue(b.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate' })).toBe(ALERT_MESSAGE_INDEX + 1);
    expect(await metricValue(b.registry, 'safeguard_grooming_alerts_republished_total')).toBe(1);
    expect((await changelogState(b.transport)).get(key)!.value!.pendingAlert).toBeNull();
  });

  it('skips messages repeated at later offsets across restarts, from a changelog record of the first schema version too', async () => {
    const conversation = groomingConversation({ conversationId: 'c6' });
    const key = 'platform-test/c6';
    const again = (messages: ChatMessage[]) => messages.map((m) => ({ ...m, eventId: `${m.eventId}-again` }));
    const a = await start();
    await feed(a.transport, conversation.slice(0, SECOND_HALF_START));
    await waitApplied(a.transport, key, SECOND_HALF_START - 1);
    await stop(a);

    // The conversation's latest record again, as a build before recentMessageFingerprints wrote it.
    const latest = (await changelogState(a.transport)).get(key)!;
    expect(latest.value!.recentMessageFingerprints).toHaveLength(SECOND_HALF_START * 4);
    const v1 = JSON.parse(readFileSync(join(repoRoot(), 'schemas/compat/ConversationState/v1.avsc'), 'utf8')) as TopicBinding<unknown>['valueSchema'];
    const { recentMessageFingerprints: _dropped, ...old } = latest.value!;
    await a.transport.producer().send({ topic: topics.conversationState.topic, valueSchema: v1 }, [{ key, partition: latest.partition, value: old }]);

    const b = await start();
    expect(b.service.store.get(key)).toMatchObject({ lastOffset: SECOND_HALF_START - 1, recentMessageFingerprints: Buffer.alloc(0) });
    // The second half, with messages 8-11 repeated after it (new offsets, new event ids).
    const end = await feed(b.transport, [...conversation.slice(SECOND_HALF_START), ...again(conversation.slice(SECOND_HALF_START, SECOND_HALF_START + 4))]);
    const repeats = () => metricValue(b.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate', reason: 'message_id' });
    await waitFor(async () => (await repeats()) === 4, { timeoutMs: 5_000, intervalMs: 10, description: '4 repeats skipped' });
    const state = (await changelogState(b.transport)).get(key)!.value!;
    expect(state.lastOffset).toBe(end - 4);
    expect(state.recentMessageFingerprints).toHaveLength((conversation.length - SECOND_HALF_START) * 4);
    await stop(b);

    // Another restart (the current format now): the latest messages repeated once more.
    const c = await start();
    await feed(c.transport, again(conversation.slice(-3)));
    await waitFor(async () => (await metricValue(c.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate', reason: 'message_id' })) === 3, {
      timeoutMs: 5_000,
      intervalMs: 10,
      description: '3 repeats skipped',
    });
    expect(await metricValue(c.registry, 'safeguard_grooming_messages_total', { outcome: 'analysed' })).toBe(0);
    expect((await changelogState(c.transport)).get(key)!.value!.lastOffset).toBe(end - 4);
    const alerts = await alertsOf(c.transport);
    expect(alerts.map((x) => x.evidenceMessageIds)).toEqual([EVIDENCE_INDEXES.map((i) => messageIdOf('c6', i))]);
  });

  it('tombstones conversations idle beyond the TTL, on restore and periodically', async () => {
    const a = await start({ GROOMING_EXPIRY_INTERVAL_MS: '3600000' });
    await feed(a.transport, groomingConversation({ conversationId: 'old' }).slice(0, 2));
    await waitApplied(a.transport, 'platform-test/old', 1);
    clock.now += 3 * DAY;
    await feed(a.transport, groomingConversation({ conversationId: 'newer' }).slice(0, 2));
    await waitApplied(a.transport, 'platform-test/newer', 1);
    await stop(a);

    clock.now += 5 * DAY; // 'old' idle for 8 days, 'newer' for 5
    const b = await start({ GROOMING_EXPIRY_INTERVAL_MS: '3600000' });
    expect(b.service.restores.reduce((n, r) => n + r.expired, 0)).toBe(1);
    expect([...(await changelogState(b.transport)).keys()]).toEqual(['platform-test/newer']);
    expect(b.service.store.get('platform-test/old')).toBeUndefined();

    clock.now += 3 * DAY;
    expect(await b.service.handler.expireIdle()).toBe(1);
    expect((await changelogState(b.transport)).size).toBe(0);
    expect(b.service.store.size).toBe(0);
  });

  it('hands conversations over on a rebalance: the new owner restores them and each alerts once', async () => {
    const conversations = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((id) => groomingConversation({ conversationId: id }));
    const a = await start();
    const b = await start();
    const last = new Map<string, number>();
    for (const c of conversations) last.set(`platform-test/${c[0]!.conversationId}`, await feed(a.transport, c.slice(0, SECOND_HALF_START)));
    for (const [key, offset] of last) await waitApplied(a.transport, key, offset);
    expect(a.service.store.size).toBeGreaterThan(0);
    expect(b.service.store.size).toBeGreaterThan(0);
    expect(a.service.store.size + b.service.store.size).toBe(conversations.length);

    const movedCount = a.service.store.size;
    await stop(a);
    await waitFor(() => b.service.store.size === conversations.length, { timeoutMs: 5_000, description: 'b holds every conversation' });
    expect(b.service.restores.at(-1)!.loaded).toBe(movedCount);

    for (const c of conversations) last.set(`platform-test/${c[0]!.conversationId}`, await feed(b.transport, c.slice(SECOND_HALF_START)));
    for (const [key, offset] of last) await waitApplied(b.transport, key, offset);
    const alerts = await alertsOf(b.transport);
    expect(alerts.map((x) => x.conversationId).sort()).toEqual(conversations.map((c) => c[0]!.conversationId).sort());
    for (const x of alerts) expect(x.evidenceMessageIds).toEqual(EVIDENCE_INDEXES.map((i) => messageIdOf(x.conversationId, i)));
  });

  it('retries a message whose own output failed non-retriably instead of dead-lettering it', async () => {
    // E.g. two replicas registering the changelog subject at once: the registry may answer 409.
    let failures = 1;
    const faulty = (t: InProcessTransport): Transport => {
      const inner = t.producer();
      const producer: Producer = {
        send: async (binding, records) => {
          if (binding.topic === topics.conversationState.topic && failures > 0) {
            failures--;
            throw new SafeguardError('schema_incompatible', 'the registry rejected the schema (409)');
          }
          return inner.send(binding, records);
        },
        flush: () => inner.flush(),
        disconnect: () => inner.disconnect(),
      };
      return { kind: t.kind, producer: () => producer, consumer: (o) => t.consumer(o), admin: () => t.admin(), reader: (o) => t.reader(o), close: () => t.close() };
    };
    const a = await start({}, faulty);
    const conversation = groomingConversation({ conversationId: 'c5' });
    const end = await feed(a.transport, conversation);
    await waitApplied(a.transport, 'platform-test/c5', end);
    expect(failures).toBe(0);
    expect(broker.hasTopic(`${topics.chatMessageSent.topic}.dlq`) ? broker.read(`${topics.chatMessageSent.topic}.dlq`, 0, 0, 10) : []).toEqual([]);
    const alerts = await alertsOf(a.transport);
    expect(alerts.map((x) => x.evidenceMessageIds)).toEqual([EVIDENCE_INDEXES.map((i) => messageIdOf('c5', i))]);
  });

  it('refuses to start when the changelog has another partition count than the input', async () => {
    const setup = createTransport({ kind: 'in-process', broker });
    await setup.admin().ensureTopics([
      { topic: topics.chatMessageSent.topic, partitions: 6 },
      { topic: topics.conversationState.topic, partitions: 3, cleanupPolicy: 'compact' },
    ]);
    await expect(start()).rejects.toMatchObject({ code: 'changelog_partitions_mismatch' });
  });
});
