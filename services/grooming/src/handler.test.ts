import { InvalidInputError } from '@safeguard/domain';
import { ConversationAnalyzer } from '@safeguard/grooming';
import { createMetricsRegistry, type Registry } from '@safeguard/observability';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { topics, type ChatMessage, type ConversationState as ConversationStateRecord, type FanOutContact, type GroomingAlert } from '@safeguard/schemas';
import { repoRoot } from '@safeguard/testkit';
import avro from 'avsc';
import { adultsConversation, ALERT_MESSAGE_INDEX, EVIDENCE_INDEXES, groomingConversation, messageIdOf, SECOND_HALF_START } from '../test/fixtures/conversations';
import { alertIdOf, decodePendingAlert } from './alert';
import { ConversationStore, type ConversationEntry } from './conversation-store';
import { SharedFanOutTracker } from './fan-out';
import { GroomingHandler, type GroomingDependencies, type InputMessage, type StateRecord } from './handler';
import { FINGERPRINT_BYTES, RECENT_MESSAGES } from './message-fingerprints';
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

/**
 * The entry a replica restores from a changelog record, through the Avro encoding of the record
 * (current schema), or of the first schema version, which had no fingerprints.
 */
function restoredEntry(record: StateRecord, options: { withoutFingerprints?: boolean } = {}): ConversationEntry {
  const current = avro.Type.forSchema(topics.conversationState.valueSchema as avro.Schema);
  const v1 = avro.Type.forSchema(JSON.parse(readFileSync(join(repoRoot(), 'schemas/compat/ConversationState/v1.avsc'), 'utf8')) as avro.Schema);
  const writer = options.withoutFingerprints ? v1 : current;
  const bytes = writer.toBuffer(record.value);
  const v = current.fromBuffer(bytes, current.createResolver(writer)) as ConversationStateRecord;
  return {
    key: record.key,
    platformId: v.platformId,
    conversationId: v.conversationId,
    partition: record.partition,
    stateBytes: v.stateBytes,
    lastOffset: v.lastOffset,
    recentMessageFingerprints: v.recentMessageFingerprints,
    updatedAtMs: v.updatedAtMs,
    lastActiveAtMs: v.updatedAtMs,
    pendingAlert: v.pendingAlert === null ? null : decodePendingAlert(v.pendingAlert),
  };
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

  describe('a message repeated at a later offset (same platform message id)', () => {
    /** Messages 0-7 in order, then 0-7 again (ingest re-published them: new offsets, here new event ids too), then 8-15. */
    function withRepeats(messages: ChatMessage[]): InputMessage[] {
      const first = messages.slice(0, SECOND_HALF_START);
      const repeats = first.map((m) => ({ ...m, eventId: `${m.eventId}-again` }));
      return inputs([...first, ...repeats, ...messages.slice(SECOND_HALF_START)]);
    }

    it('is not analysed again: same alert, same states written, same final state as without the repeats', async () => {
      const plain = harness();
      for (const m of inputs(conversation)) await plain.handler.handle(m);
      const h = harness();
      const outcomes: string[] = [];
      for (const m of withRepeats(conversation)) outcomes.push(await h.handler.handle(m));
      expect(outcomes).toEqual([...Array(SECOND_HALF_START).fill('analysed'), ...Array(SECOND_HALF_START).fill('duplicate'), ...Array(conversation.length - SECOND_HALF_START).fill('analysed')]);
      expect(plain.alerts).toHaveLength(1);
      expect(h.alerts).toEqual(plain.alerts);
      expect(h.states).toHaveLength(plain.states.length);
      const entry = h.store.get('platform-test/conv-1')!;
      expect(entry.stateBytes).toEqual(plain.store.get('platform-test/conv-1')!.stateBytes);
      expect(entry.lastOffset).toBe(conversation.length + SECOND_HALF_START - 1);
      expect(await counter(h.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate', reason: 'message_id' })).toBe(SECOND_HALF_START);
      expect(await counter(h.registry, 'safeguard_grooming_messages_total', { outcome: 'analysed' })).toBe(conversation.length);
    });

    it('leaves the state untouched and writes nothing', async () => {
      const h = harness();
      const all = inputs(conversation);
      for (const m of all.slice(0, 5)) await h.handler.handle(m);
      const before = h.store.get('platform-test/conv-1')!;
      const written = h.states.length;
      expect(await h.handler.handle({ ...all[2]!, offset: 40 })).toBe('duplicate');
      expect(h.states).toHaveLength(written);
      expect(h.store.get('platform-test/conv-1')).toEqual(before);
      expect(await counter(h.registry, 'safeguard_grooming_messages_total', { outcome: 'duplicate', reason: 'offset' })).toBe(0);
    });

    it('still publishes a pending alert of the conversation, once', async () => {
      const h = harness();
      const all = inputs(conversation);
      for (const m of all.slice(0, ALERT_MESSAGE_INDEX)) await h.handler.handle(m);
      h.failures.publishAlert = 1;
      await expect(h.handler.handle(all[ALERT_MESSAGE_INDEX]!)).rejects.toThrow('broker unavailable');
      expect(await h.handler.handle({ ...all[ALERT_MESSAGE_INDEX]!, offset: 50 })).toBe('duplicate');
      expect(h.alerts.map((a) => a.alertId)).toEqual([alertIdOf('platform-test/conv-1', 1, messageIdOf('conv-1', ALERT_MESSAGE_INDEX))]);
      expect(h.states.at(-1)!.value!.pendingAlert).toBeNull();
      expect(await h.handler.handle({ ...all[ALERT_MESSAGE_INDEX]!, offset: 51 })).toBe('duplicate');
      expect(h.alerts).toHaveLength(1);
    });

    it('is skipped after the state was restored from its changelog record', async () => {
      const a = harness();
      const all = inputs(conversation);
      for (const m of all.slice(0, SECOND_HALF_START)) await a.handler.handle(m);
      // A new replica restores the conversation from the last record written (what state-restore does).
      const record = a.states.at(-1)!;
      const b = harness();
      b.store.set({ ...restoredEntry(record), lastActiveAtMs: b.clock.now });
      expect(await b.handler.handle({ ...all[SECOND_HALF_START - 1]!, offset: 100 })).toBe('duplicate');
      expect(b.states).toEqual([]);
      for (const m of all.slice(SECOND_HALF_START)) await b.handler.handle({ ...m, offset: m.offset + 100 });
      expect(b.alerts.map((x) => x.evidenceMessageIds)).toEqual([EVIDENCE_INDEXES.map((i) => messageIdOf('conv-1', i))]);
    });

    it('after a restore from a record written before fingerprints existed: offsets still skip, later messages are remembered', async () => {
      const a = harness();
      const all = inputs(conversation);
      for (const m of all.slice(0, SECOND_HALF_START)) await a.handler.handle(m);
      const old = restoredEntry(a.states.at(-1)!, { withoutFingerprints: true });
      expect(old.recentMessageFingerprints).toHaveLength(0);
      const b = harness();
      b.store.set({ ...old, lastActiveAtMs: b.clock.now });
      expect(await b.handler.handle(all[SECOND_HALF_START - 1]!)).toBe('duplicate'); // by offset
      expect(await b.handler.handle(all[SECOND_HALF_START]!)).toBe('analysed');
      expect(b.store.get('platform-test/conv-1')!.recentMessageFingerprints).toHaveLength(FINGERPRINT_BYTES);
      expect(await b.handler.handle({ ...all[SECOND_HALF_START]!, offset: 100 })).toBe('duplicate'); // by id
      for (const m of all.slice(SECOND_HALF_START + 1)) await b.handler.handle(m);
      expect(b.alerts).toHaveLength(1);
    });

    it('analyses a new message with another id, even with the same sender, time and text', async () => {
      const h = harness();
      const all = inputs(conversation);
      for (const m of all.slice(0, 3)) await h.handler.handle(m);
      const twin = { ...all[2]!, offset: 3, value: { ...all[2]!.value, messageId: 'conv-1-m2-other', eventId: 'other' } };
      expect(await h.handler.handle(twin)).toBe('analysed');
      expect(h.store.get('platform-test/conv-1')!.lastOffset).toBe(3);
    });

    it(`remembers the latest ${RECENT_MESSAGES} messages of the conversation, no more`, async () => {
      const h = harness();
      const total = RECENT_MESSAGES + 8;
      const long = Array.from({ length: total }, (_, i) => ({ ...conversation[i % conversation.length]!, messageId: `long-${i}`, sentAtMs: conversation[0]!.sentAtMs + i * 60_000 }));
      for (const m of inputs(long)) expect(await h.handler.handle(m)).toBe('analysed');
      const entry = h.store.get('platform-test/conv-1')!;
      expect(entry.recentMessageFingerprints).toHaveLength(RECENT_MESSAGES * FINGERPRINT_BYTES);
      expect(h.states.at(-1)!.value!.recentMessageFingerprints).toEqual(entry.recentMessageFingerprints);
      const oldestKept = total - RECENT_MESSAGES;
      expect(await h.handler.handle({ key: 'platform-test/conv-1', partition: 2, offset: total, value: long[oldestKept]! })).toBe('duplicate');
      // Beyond the window a repeat is no longer recognised (repeats arrive within seconds; see RECENT_MESSAGES).
      expect(await h.handler.handle({ key: 'platform-test/conv-1', partition: 2, offset: total + 1, value: long[oldestKept - 1]! })).toBe('analysed');
      expect(h.store.get('platform-test/conv-1')!.recentMessageFingerprints).toHaveLength(RECENT_MESSAGES * FINGERPRINT_BYTES);
    });
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
