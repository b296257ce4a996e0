import { InvalidInputError } from '@safeguard/domain';
import { ConversationAnalyzer } from '@safeguard/grooming';
import { createMetricsRegistry, type Registry } from '@safeguard/observability';
import type { ChatMessage, FanOutContact, GroomingAlert } from '@safeguard/schemas';
import { adultsConversation, ALERT_MESSAGE_INDEX, EVIDENCE_INDEXES, groomingConversation, messageIdOf, SECOND_HALF_START } from '../test/fixtures/conversations';
import { alertIdOf, decodePendingAlert } from './alert';
import { ConversationStore } from './conversation-store';
import { SharedFanOutTracker } from './fan-out';
import { GroomingHandler, type GroomingDependencies, type InputMessage, type StateRecord } from './handler';
import { createGroomingMetrics } from './metrics';

const DAY = 24 * 3600 * 1000;

interface Harness {
  handler: GroomingHandler;
  store: ConversationStore;
  states: StateRecord[];
  alerts: GroomingAlert[];
  contacts: FanOutContact[];
  registry: Registry;
  clock: { now: number };
  failures: { writeStates: number; publishAlert: number };
}

function harness(overrides: Partial<GroomingDependencies> = {}): Harness {
  const registry = createMetricsRegistry({ service: 'grooming-test' });
  const store = new ConversationStore();
  const states: StateRecord[] = [];
  const alerts: GroomingAlert[] = [];
  const contacts: FanOutContact[] = [];
  const clock = { now: Date.UTC(2026, 2, 3) };
  const failures = { writeStates: 0, publishAlert: 0 };
  const handler = new GroomingHandler({
    analyzer: new ConversationAnalyzer(),
    store,
    writeStates: async (records) => {
      if (failures.writeStates > 0) {
        failures.writeStates--;
        throw new Error('broker unavailable');
      }
      states.push(...records);
    },
    publishAlert: async (alert) => {
      if (failures.publishAlert > 0) {
        failures.publishAlert--;
        throw new Error('broker unavailable');
      }
      alerts.push(alert);
    },
    publishContacts: async (list) => void contacts.push(...list),
    platforms: new Set(),
    maxConversations: 1000,
    stateTtlMs: 7 * DAY,
    detectorVersion: 'test-1',
    metrics: createGroomingMetrics(registry),
    now: () => clock.now,
    ...overrides,
  });
  return { handler, store, states, alerts, contacts, registry, clock, failures };
}

function inputs(messages: ChatMessage[], partition = 2, firstOffset = 0): InputMessage[] {
  return messages.map((value, i) => ({ key: `${value.platformId}/${value.conversationId}`, partition, offset: firstOffset + i, value }));
}

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('GroomingHandler', () => {
  const conversation = groomingConversation({ conversationId: 'conv-1' });
  const evidence = EVIDENCE_INDEXES.map((i) => messageIdOf('conv-1', i));

  it('raises one alert at the expected message, with evidence ids and no text', async () => {
    const h = harness();
    for (const m of inputs(conversation)) await h.handler.handle(m);
    expect(h.alerts).toHaveLength(1);
    const [alert] = h.alerts;
    expect(alert).toMatchObject({
      alertId: alertIdOf('platform-test/conv-1', 1, messageIdOf('conv-1', ALERT_MESSAGE_INDEX)),
      platformId: 'platform-test',
      conversationId: 'conv-1',
      suspectedAccountId: 'acct-adult-1',
      participantIds: ['acct-adult-1', 'acct-teen-1'],
      threshold: 0.6,
      stage: 'RISK_ASSESSMENT',
      evidenceMessageIds: evidence,
      messagesAnalyzed: ALERT_MESSAGE_INDEX + 1,
      minorInvolved: true,
      detectorVersion: 'test-1',
      firstMessageAtMs: conversation[0]!.sentAtMs,
      raisedAtMs: conversation[ALERT_MESSAGE_INDEX]!.sentAtMs,
    });
    expect(alert!.score).toBeGreaterThanOrEqual(0.6);
    expect(alert!.signals.map((s) => s.kind)).toEqual(['flattery', 'age_probe', 'age_disclosure', 'gift_offer', 'supervision_probe']);
    expect(alert!.signals.find((s) => s.kind === 'supervision_probe')).toMatchObject({ count: 1, messageIds: [messageIdOf('conv-1', 10)] });
    expect(alert!.signals.find((s) => s.kind === 'age_disclosure')!.weight).toBe(0); // raised by the teen, not the suspect
    const serialised = JSON.stringify(h.alerts) + JSON.stringify(h.states.map((s) => s.value && { ...s.value, stateBytes: s.value.stateBytes.toString('latin1') }));
    const texts = conversation.map((m) => m.text).filter((t) => t.length >= 8); // short ones ("13") occur as numbers
    expect(texts.filter((t) => serialised.includes(t))).toEqual([]);
    expect(await counter(h.registry, 'safeguard_grooming_alerts_total', { stage: 'risk_assessment' })).toBe(1);
    expect(await counter(h.registry, 'safeguard_grooming_messages_total', { outcome: 'analysed' })).toBe(conversation.length);
  });

  it('writes the state with the offset before publishing, then writes it again without the pending alert', async () => {
    const h = harness();
    for (const m of inputs(conversation)) await h.handler.handle(m);
    expect(h.states).toHaveLength(conversation.length + 1);
    expect(h.states.every((s) => s.partition === 2 && s.key === 'platform-test/conv-1')).toBe(true);
    const offsets = h.states.map((s) => s.value!.lastOffset);
    expect(offsets).toEqual([...conversation.keys()].flatMap((i) => (i === ALERT_MESSAGE_INDEX ? [i, i] : [i])));
    const withAlert = h.states[ALERT_MESSAGE_INDEX]!.value!;
    expect(decodePendingAlert(withAlert.pendingAlert!)).toEqual(h.alerts[0]);
    expect(h.states[ALERT_MESSAGE_INDEX + 1]!.value).toMatchObject({ lastOffset: ALERT_MESSAGE_INDEX, pendingAlert: null });
    expect(h.store.get('platform-test/conv-1')).toMatchObject({ lastOffset: conversation.length - 1, pendingAlert: null });
  });

  it('skips re-delivered offsets (at or below the stored one) without writing anything', async () => {
    const h = harness();
    const all = inputs(conversation);
    for (const m of all.slice(0, 5)) await h.handler.handle(m);
    const written = h.states.length;
    for (const m of all.slice(0, 5)) expect(await h.handler.handle(m)).toBe('duplicate');
    expect(h.states).toHaveLength(written);
    expect(await counter(h.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate' })).toBe(5);
    for (const m of all.slice(5)) await h.handler.handle(m);
    expect(h.alerts).toHaveLength(1);
  });

  it('publishes a decided alert exactly once when the publication fails after the state was written', async () => {
    const h = harness();
    const all = inputs(conversation);
    for (const m of all.slice(0, ALERT_MESSAGE_INDEX)) await h.handler.handle(m);
    h.failures.publishAlert = 1;
    await expect(h.handler.handle(all[ALERT_MESSAGE_INDEX]!)).rejects.toThrow('broker unavailable');
    expect(h.alerts).toHaveLength(0);
    expect(h.states.at(-1)!.value!.pendingAlert).not.toBeNull(); // decided and stored with the state
    // The transport retries the same message: it is already applied, so only the pending alert goes out.
    expect(await h.handler.handle(all[ALERT_MESSAGE_INDEX]!)).toBe('duplicate');
    for (const m of all.slice(ALERT_MESSAGE_INDEX + 1)) await h.handler.handle(m);
    expect(h.alerts.map((a) => a.alertId)).toEqual([alertIdOf('platform-test/conv-1', 1, messageIdOf('conv-1', ALERT_MESSAGE_INDEX))]);
    expect(h.states.at(-1)!.value!.pendingAlert).toBeNull();
  });

  it('analyses the message again when the state write failed (nothing was published)', async () => {
    const h = harness();
    const all = inputs(conversation);
    for (const m of all.slice(0, ALERT_MESSAGE_INDEX)) await h.handler.handle(m);
    h.failures.writeStates = 1;
    await expect(h.handler.handle(all[ALERT_MESSAGE_INDEX]!)).rejects.toThrow('broker unavailable');
    expect(h.store.get('platform-test/conv-1')!.lastOffset).toBe(ALERT_MESSAGE_INDEX - 1);
    expect(await h.handler.handle(all[ALERT_MESSAGE_INDEX]!)).toBe('analysed');
    expect(h.alerts).toHaveLength(1);
  });

  it('does not analyse or store conversations the policy excludes, nor other platforms', async () => {
    const h = harness({ platforms: new Set(['platform-test', 'platform-b']) });
    for (const m of inputs(adultsConversation({ conversationId: 'adults' }))) expect(await h.handler.handle(m)).toBe('policy_excluded');
    for (const m of inputs(groomingConversation({ conversationId: 'elsewhere', platformId: 'platform-z' }))) {
      expect(await h.handler.handle(m)).toBe('platform_excluded');
    }
    expect(h.store.size).toBe(0);
    expect(h.states).toEqual([]);
  });

  it('refuses a record whose key is not its conversation (it would break the partition invariant)', async () => {
    const h = harness();
    const [m] = inputs(conversation);
    const wrong = { ...m!, key: 'platform-test/other' };
    await expect(h.handler.handle(wrong)).rejects.toThrow(InvalidInputError);
    await expect(h.handler.handle(wrong)).rejects.toMatchObject({ code: 'key_mismatch' });
  });

  it('starts a conversation over when its stored state is unreadable', async () => {
    const resets: string[] = [];
    const h = harness({ onStateReset: (f) => resets.push(f.code) });
    const all = inputs(conversation);
    await h.handler.handle(all[0]!);
    const entry = h.store.get('platform-test/conv-1')!;
    h.store.set({ ...entry, stateBytes: Buffer.from([0xee, 1, 2]) });
    expect(await h.handler.handle(all[1]!)).toBe('analysed');
    expect(resets).toEqual(['state_version_unsupported']);
    expect(h.store.get('platform-test/conv-1')!.lastOffset).toBe(1);
  });

  it('expires conversations idle beyond the TTL with tombstones', async () => {
    const h = harness();
    await h.handler.handle(inputs(groomingConversation({ conversationId: 'old' }).slice(0, 2), 0)[0]!);
    h.clock.now += 6 * DAY;
    await h.handler.handle(inputs(groomingConversation({ conversationId: 'new' }).slice(0, 1), 1)[0]!);
    h.clock.now += 2 * DAY;
    expect(await h.handler.expireIdle()).toBe(1);
    expect(h.states.at(-1)).toEqual({ key: 'platform-test/old', partition: 0, value: null });
    expect(h.store.get('platform-test/old')).toBeUndefined();
    expect(h.store.get('platform-test/new')).toBeDefined();
    expect(await counter(h.registry, 'safeguard_grooming_conversations_expired_total', { reason: 'idle' })).toBe(1);
    expect(await counter(h.registry, 'safeguard_grooming_active_conversations', {})).toBe(1);
  });

  it('evicts the least recently active conversation beyond the cap', async () => {
    const h = harness({ maxConversations: 2 });
    const a = inputs(groomingConversation({ conversationId: 'a' }), 0);
    const b = inputs(groomingConversation({ conversationId: 'b' }), 1);
    const c = inputs(groomingConversation({ conversationId: 'c' }), 2);
    await h.handler.handle(a[0]!);
    await h.handler.handle(b[0]!);
    await h.handler.handle(a[1]!); // a is now more recent than b
    await h.handler.handle(c[0]!);
    expect(h.store.get('platform-test/b')).toBeUndefined();
    expect(h.states.at(-1)).toEqual({ key: 'platform-test/b', partition: 1, value: null });
    expect(h.store.size).toBe(2);
    expect(await counter(h.registry, 'safeguard_grooming_conversations_expired_total', { reason: 'evicted' })).toBe(1);
  });

  it('shares fan-out contacts of non-minor senders in conversations with a minor before writing the state', async () => {
    const registry = createMetricsRegistry({ service: 'grooming-test' });
    const fanOut = new SharedFanOutTracker({ windowMs: 7 * DAY, maxSenders: 100 });
    const order: string[] = [];
    const contacts: FanOutContact[] = [];
    const handler = new GroomingHandler({
      analyzer: new ConversationAnalyzer({ fanOutTracker: fanOut }),
      store: new ConversationStore(),
      writeStates: async () => void order.push('state'),
      publishAlert: async () => void order.push('alert'),
      publishContacts: async (list) => {
        order.push('contacts');
        contacts.push(...list);
      },
      fanOut,
      platforms: new Set(),
      maxConversations: 100,
      stateTtlMs: DAY,
      detectorVersion: 't',
      metrics: createGroomingMetrics(registry),
    });
    const all = inputs(conversation);
    await handler.handle(all[0]!);
    await handler.handle(all[1]!); // the teen's message: not a fan-out contact
    await handler.handle(all[2]!); // same sender and conversation within the refresh interval: not shared again
    expect(contacts).toEqual([{ platformId: 'platform-test', senderId: 'acct-adult-1', conversationId: 'conv-1', contactAtMs: conversation[0]!.sentAtMs }]);
    expect(order.slice(0, 2)).toEqual(['contacts', 'state']);
  });

  it('still publishes the alert of a message whose partition was revoked meanwhile, but keeps no state for it', async () => {
    let owned = true;
    const h = harness({ ownsPartition: () => owned });
    const all = inputs(conversation);
    for (const m of all.slice(0, ALERT_MESSAGE_INDEX)) await h.handler.handle(m);
    const written = h.states.length;
    owned = false;
    await h.handler.handle(all[ALERT_MESSAGE_INDEX]!);
    expect(h.alerts).toHaveLength(1);
    expect(h.states).toHaveLength(written + 1); // the state with the pending alert, no second write
    expect(h.store.get('platform-test/conv-1')!.lastOffset).toBe(ALERT_MESSAGE_INDEX - 1);
  });

  it('uses the second half alone without an alert (the fixture needs the restored first half)', async () => {
    const h = harness();
    for (const m of inputs(conversation).slice(SECOND_HALF_START)) await h.handler.handle(m);
    expect(h.alerts).toEqual([]);
  });
});
