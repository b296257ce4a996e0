import { InvalidInputError } from '@safeguard/domain';
import { createTransport, DeadLetterHeaders, deadLetterTopic, type ConsumedMessage, type TopicBinding, type Transport } from '@safeguard/kafka';
import { runCli } from '../testing/run-cli';
import { replayTopicDeadLetters, scanDeadLetters, summarizeDeadLetters } from './dlq';

const binding: TopicBinding<{ id: string; kind: string }> = {
  topic: 't.items.v1',
  valueSchema: { type: 'record', name: 'Item', namespace: 'test', fields: [{ name: 'id', type: 'string' }, { name: 'kind', type: 'string' }] },
  key: (v) => v.id,
};

/** Dead-letters `bad_kind` items and `not_ready` items through a real consumer (the transport writes the headers). */
async function withDeadLetters(transport: Transport): Promise<void> {
  await transport.admin().ensureTopics([{ topic: binding.topic, partitions: 3 }]);
  const items = [
    { id: 'a', kind: 'ok' },
    { id: 'b', kind: 'bad' },
    { id: 'c', kind: 'bad' },
    { id: 'd', kind: 'late' },
    { id: 'e', kind: 'bad' },
  ];
  await transport.producer().send(binding, items.map((value) => ({ value })));
  const handled: string[] = [];
  const consumer = transport.consumer({ groupId: 'g-dlq', retry: { attempts: 1 } });
  await consumer.run({
    bindings: [binding],
    handle: async (m: ConsumedMessage<{ id: string; kind: string }>) => {
      handled.push(m.value!.id);
      if (m.value!.kind === 'bad') throw new InvalidInputError('bad_kind', 'kind is not allowed');
      if (m.value!.kind === 'late') throw new InvalidInputError('not_ready', 'dependency missing');
    },
  });
  const deadline = Date.now() + 10_000;
  while ((await dlqSize(transport)) < 4 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  await consumer.stop();
}

async function dlqSize(transport: Transport): Promise<number> {
  try {
    return (await transport.admin().listOffsets(deadLetterTopic(binding.topic))).reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  } catch {
    return 0;
  }
}

async function sourceSize(transport: Transport): Promise<number> {
  return (await transport.admin().listOffsets(binding.topic)).reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
}

describe('dlq (in-process transport)', () => {
  let transport: Transport;
  beforeEach(async () => {
    transport = createTransport({ kind: 'in-process' });
    await withDeadLetters(transport);
  });
  afterEach(() => transport.close());

  it('scans without replaying and counts by reason', async () => {
    const { letters, foreign } = await scanDeadLetters({ transport, topic: binding.topic });
    expect(letters.map((l) => l.reason).sort()).toEqual(['bad_kind', 'bad_kind', 'bad_kind', 'not_ready']);
    expect(foreign).toBe(0);
    expect(await sourceSize(transport)).toBe(5);
    const stats = summarizeDeadLetters(binding.topic, letters, foreign);
    expect(stats).toMatchObject({ topic: binding.topic, deadLetterTopic: 't.items.v1.dlq', total: 4, byReason: { bad_kind: 3, not_ready: 1 }, replayedBefore: 0, foreign: 0 });
    expect(Object.keys(stats.byReason)).toEqual(['bad_kind', 'not_ready']);
    expect(stats.oldestFailedAtMs).toBeLessThanOrEqual(stats.newestFailedAtMs!);
    expect((await scanDeadLetters({ transport, topic: binding.topic, reasons: ['not_ready'] })).letters.map((l) => l.sourceOffset)).toHaveLength(1);
  });

  it('a dry run publishes nothing; a replay by reason and limit publishes exactly those, with the replay count raised', async () => {
    const dry = await replayTopicDeadLetters({ transport, topic: binding.topic, reasons: ['bad_kind'], limit: 2, dryRun: true });
    expect(dry).toEqual({ topic: binding.topic, dryRun: true, replayed: 2, byReason: { bad_kind: 2 }, skipped: 2, foreign: 0 });
    expect(await sourceSize(transport)).toBe(5);

    const done = await replayTopicDeadLetters({ transport, topic: binding.topic, reasons: ['bad_kind'], limit: 2 });
    expect(done).toEqual({ topic: binding.topic, dryRun: false, replayed: 2, byReason: { bad_kind: 2 }, skipped: 2, foreign: 0 });
    expect(await sourceSize(transport)).toBe(7);
    // The DLQ is left as it was; the replayed records carry safeguard.dlq.replays = 1 on the topic.
    expect(await dlqSize(transport)).toBe(4);
    const replayed: ConsumedMessage<{ id: string; kind: string }>[] = [];
    const reader = await transport.reader({ binding, handle: (m) => void replayed.push(m) });
    await reader.caughtUp();
    await reader.stop();
    const again = replayed.filter((m) => m.headers[DeadLetterHeaders.replays] === '1');
    expect(again.map((m) => m.value!.kind)).toEqual(['bad', 'bad']);
  });

  it('fails with topic_not_found for a topic without a DLQ', async () => {
    await transport.admin().ensureTopics([{ topic: 't.empty.v1', partitions: 1 }]);
    await expect(scanDeadLetters({ transport, topic: 't.empty.v1' })).rejects.toMatchObject({ code: 'topic_not_found' });
  });
});

describe('dlq command line', () => {
  it('requires the brokers and the registry', async () => {
    const r = await runCli(['dlq', 'stats', '--topic', 'x'], { env: { KAFKA_BROKERS: undefined, SCHEMA_REGISTRY_URL: undefined } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.err)).toEqual({ error: { code: 'brokers_required', message: 'give --brokers or set KAFKA_BROKERS' } });
  });

  it('refuses a limit that is not a positive integer, and a missing --topic', async () => {
    expect((await runCli(['dlq', 'replay', '--topic', 'x', '--limit', '0', '--brokers', 'h:1', '--registry', 'http://r'])).code).toBe(1);
    expect((await runCli(['dlq', 'list', '--brokers', 'h:1', '--registry', 'http://r'])).err).toContain("required option '--topic <name>'");
  });
});
