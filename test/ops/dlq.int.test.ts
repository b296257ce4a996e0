// The dead-letter runbook against the real broker and registry: a consumer dead-letters records
// (the transport writes <topic>.dlq with the safeguard.dlq.* headers), `safeguard dlq stats` and
// `dlq list` show them by reason, `dlq replay --dry-run` publishes nothing, `dlq replay --reason
// --limit` re-publishes exactly those (checked with kcat, an independent client: same value bytes,
// safeguard.dlq.replays = 1), and the fixed consumer then handles them.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '@safeguard/cli/testing';
import { InvalidInputError } from '@safeguard/domain';
import { createTransport, deadLetterTopic, type Consumer, type TopicBinding, type Transport } from '@safeguard/kafka';
import { integrationEnv, kcatConsume, uniqueName, waitFor } from '@safeguard/testkit';
import { REPO_ROOT } from './lib/metric-catalog';

jest.setTimeout(180_000);

interface Item {
  id: string;
  kind: string;
}

const valueSchema = { type: 'record', name: 'DlqItem', namespace: 'safeguard.test', fields: [{ name: 'id', type: 'string' }, { name: 'kind', type: 'string' }] };

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = integrationEnv();
  return runCli([...args, '--brokers', env.brokersCsv, '--registry', env.registryUrl]);
}

describe('safeguard dlq on the real broker', () => {
  let transport: Transport;
  let binding: TopicBinding<Item>;
  let consumer: Consumer | undefined;
  const handled: string[] = [];
  let fixed = false;

  beforeAll(async () => {
    const env = integrationEnv();
    transport = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: 'dlq-it', schemaRegistryUrl: env.registryUrl });
    binding = { topic: `${uniqueName('dlq')}.items.v1`, valueSchema, key: (v) => v.id };
    await transport.admin().ensureTopics([{ topic: binding.topic, partitions: 3 }]);
    const items: Item[] = [
      { id: 'i-1', kind: 'ok' },
      { id: 'i-2', kind: 'needs-fix' },
      { id: 'i-3', kind: 'needs-fix' },
      { id: 'i-4', kind: 'broken' },
      { id: 'i-5', kind: 'needs-fix' },
    ];
    await transport.producer().send(binding, items.map((value) => ({ value })));
    consumer = transport.consumer({ groupId: uniqueName('dlq-group'), retry: { attempts: 1 } });
    await consumer.run({
      bindings: [binding],
      handle: async (m) => {
        const v = m.value as Item;
        // Before the "fix", needs-fix items are refused; broken ones always are.
        if (v.kind === 'broken') throw new InvalidInputError('item_broken', 'item cannot be handled');
        if (v.kind === 'needs-fix' && !fixed) throw new InvalidInputError('item_kind_unsupported', 'kind not supported yet');
        handled.push(`${v.id}@${m.headers['safeguard.dlq.replays'] ?? '0'}`);
      },
    });
    await waitFor(async () => (await transport.admin().listOffsets(deadLetterTopic(binding.topic))).reduce((s, o) => s + Number(o.high), 0) === 4, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: 'four dead letters',
    });
  });

  afterAll(async () => {
    await consumer?.stop();
    await transport.admin().deleteTopics([binding.topic, deadLetterTopic(binding.topic)]);
    await transport.close();
  });

  it('stats counts the dead letters by reason, through the installed command too', async () => {
    const r = await cli(['dlq', 'stats', '--topic', binding.topic]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(r.out)).toMatchObject({ topic: binding.topic, deadLetterTopic: `${binding.topic}.dlq`, total: 4, byReason: { item_kind_unsupported: 3, item_broken: 1 }, replayedBefore: 0, foreign: 0 });

    // The same through bin/safeguard.js, as `npx safeguard dlq stats` runs it.
    const env = integrationEnv();
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/safeguard.js'), 'dlq', 'stats', '--topic', binding.topic], {
      env: { ...process.env, KAFKA_BROKERS: env.brokersCsv, SCHEMA_REGISTRY_URL: env.registryUrl },
      timeout: 120_000,
    });
    expect(JSON.parse(stdout)).toMatchObject({ total: 4, byReason: { item_kind_unsupported: 3, item_broken: 1 } });
  });

  it('list shows where each came from and why, never the value', async () => {
    const r = await cli(['dlq', 'list', '--topic', binding.topic, '--reason', 'item_broken']);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ reason: 'item_broken', attempts: 1, errorClass: 'InvalidInputError', errorMessage: 'item cannot be handled', service: 'dlq-it', replays: 0, sourcePartition: expect.any(Number), sourceOffset: expect.stringMatching(/^\d+$/) }),
    ]);
    expect(r.out).not.toContain('i-4'); // neither the key nor the value is printed
  });

  it('replay --dry-run publishes nothing; replay --reason --limit publishes exactly those, byte for byte', async () => {
    const before = (await transport.admin().listOffsets(binding.topic)).reduce((s, o) => s + Number(o.high), 0);
    const dry = await cli(['dlq', 'replay', '--topic', binding.topic, '--reason', 'item_kind_unsupported', '--dry-run']);
    expect(JSON.parse(dry.out)).toEqual({ topic: binding.topic, dryRun: true, replayed: 3, byReason: { item_kind_unsupported: 3 }, skipped: 1, foreign: 0 });
    expect((await transport.admin().listOffsets(binding.topic)).reduce((s, o) => s + Number(o.high), 0)).toBe(before);

    // The cause is fixed; replay two of the three.
    fixed = true;
    const done = await cli(['dlq', 'replay', '--topic', binding.topic, '--reason', 'item_kind_unsupported', '--limit', '2']);
    expect(JSON.parse(done.out)).toEqual({ topic: binding.topic, dryRun: false, replayed: 2, byReason: { item_kind_unsupported: 2 }, skipped: 2, foreign: 0 });

    await waitFor(() => handled.filter((h) => h.endsWith('@1')).length === 2, { timeoutMs: 60_000, intervalMs: 250, description: 'the fixed consumer handles both replayed records' });
    const again = handled.filter((h) => h.endsWith('@1'));
    expect(new Set(again).size).toBe(2); // two of i-2, i-3, i-5 (the first two in DLQ order)
    for (const h of again) expect(['i-2@1', 'i-3@1', 'i-5@1']).toContain(h);

    // An independent client sees the replayed records: the dead letters' value bytes, replay count 1.
    const dlq = await kcatConsume({ topic: deadLetterTopic(binding.topic), count: 4 });
    const all = await kcatConsume({ topic: binding.topic, count: before + 2 });
    const replayed = all.filter((r) => r.headers.some((h) => h.key === 'safeguard.dlq.replays' && h.value?.toString('utf8') === '1'));
    expect(replayed).toHaveLength(2);
    for (const r of replayed) {
      const original = dlq.find((d) => d.key?.equals(r.key!));
      expect(original?.value?.equals(r.value!)).toBe(true);
      expect(r.headers.some((h) => h.key === 'safeguard.dlq.reason')).toBe(false);
    }
    const after = JSON.parse((await cli(['dlq', 'stats', '--topic', binding.topic])).out);
    expect(after).toMatchObject({ total: 4 }); // the DLQ is not changed by a replay
  });

  it('fails with topic_not_found (exit 2) for a topic without a DLQ', async () => {
    const r = await cli(['dlq', 'stats', '--topic', `${binding.topic}.missing`]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.err).error.code).toBe('topic_not_found');
  });
});
