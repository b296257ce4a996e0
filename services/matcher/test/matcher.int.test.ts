import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createTransport, parseDeadLetterHeaders, type Transport } from '@safeguard/kafka';
import { topics, type ContentHashed, type MatchFound } from '@safeguard/schemas';
import { ServiceRuntime } from '@safeguard/service-runtime';
import { decodeConfluentWithPythonAvro, integrationEnv, kcatConsume, uniqueName, waitFor } from '@safeguard/testkit';
import { matcherConfigSchema } from '../src/config';
import { startMatcher, type MatcherService } from '../src/service';
import { hashedEvent, PDQ_BRIDGE, PDQ_BRIDGE_SHARPENED, PDQ_WEE, pdqHash } from './fixtures';

jest.setTimeout(180_000);

const run = promisify(execFile);
const CLI = join(dirname(require.resolve('@safeguard/cli')), '..', 'bin', 'safeguard.js');

describe('matcher against the real broker and schema registry', () => {
  let prefix: string;
  let dir: string;
  let runtime: ServiceRuntime | undefined;
  let client: Transport;

  const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
    const env = integrationEnv();
    const { stdout } = await run(process.execPath, [CLI, ...args, '--brokers', env.brokersCsv, '--registry', env.registryUrl, '--topic-prefix', prefix], { timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  };
  const bankFile = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  async function startService(): Promise<MatcherService> {
    const env = integrationEnv();
    const config = matcherConfigSchema.parse({
      KAFKA_BROKERS: env.brokersCsv,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      MATCHER_CHECK_API: 'false',
    });
    runtime = await ServiceRuntime.start({ service: 'matcher', common: config.common });
    return startMatcher(config, runtime);
  }

  const hashedTopic = () => `${prefix}${topics.contentHashed.topic}`;
  const matchedTopic = () => `${prefix}${topics.contentMatched.topic}`;
  const publish = (events: ContentHashed[]) => client.producer().send({ ...topics.contentHashed, topic: hashedTopic() }, events.map((value) => ({ value })));
  /** Waits until the matcher committed every content-hashed event published so far (all handled). */
  const allHandled = async (count: number) =>
    waitFor(async () => (await client.admin().committedOffsets(`${prefix}matcher`, hashedTopic())).reduce((n, o) => n + Number(o.offset), 0) >= count, {
      timeoutMs: 60_000,
      description: `${count} content-hashed events committed`,
    });
  /** Every MatchFound on the topic, read by kcat (librdkafka) and decoded by Apache's Python Avro. */
  const readMatches = async (count: number): Promise<Array<{ key: string; value: MatchFound }>> => {
    const records = await kcatConsume({ topic: matchedTopic(), count, timeoutMs: 60_000 });
    return Promise.all(
      records.map(async (r) => ({ key: r.key!.toString('utf8'), value: (await decodeConfluentWithPythonAvro(r.value!, integrationEnv().registryUrl)).value as MatchFound })),
    );
  };

  beforeEach(() => {
    const env = integrationEnv();
    prefix = `${uniqueName('matcher')}.`;
    dir = mkdtempSync(join(tmpdir(), 'safeguard-matcher-int-'));
    client = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: 'matcher-test', schemaRegistryUrl: env.registryUrl });
  });

  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
    const names = (await client.admin().listTopics()).filter((t) => t.startsWith(prefix));
    await client.admin().deleteTopics(names);
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('matches a near duplicate of an imported entry with provenance; disabling stops it; an allow-list suppresses', async () => {
    const imported = await cli(
      'bank', 'import', '--bank', 'test-block', '--kind', 'block', '--source', 'platform',
      bankFile('block.tsv', `bridge-orig\tpdq\t${PDQ_BRIDGE}\tbenign_test\nwee\tpdq\t${PDQ_WEE}\n`),
    );
    expect(imported).toMatchObject({ ok: true, bank: 'test-block', added: 2, published: 2 });
    const service = await startService();
    expect(service.isReady()).toBe(true);
    expect(service.index.banks.getEntry('test-block', 'bridge-orig')).toMatchObject({ hashHex: PDQ_BRIDGE, labels: ['benign_test'] });

    await publish([hashedEvent('c-near', [pdqHash(PDQ_BRIDGE_SHARPENED, 100)])]);
    const [first] = await readMatches(1);
    expect(first!.key).toBe('platform-a/c-near');
    expect(first!.value).toMatchObject({
      hashedEventId: 'he-c-near',
      contentId: 'c-near',
      platformId: 'platform-a',
      decision: 'BLOCK',
      suppressedCount: 0,
      matches: [
        {
          bank: { name: 'test-block', kind: 'BLOCK', source: 'platform', listVersion: imported.listVersion },
          entryId: 'bridge-orig',
          entryLabels: ['benign_test'],
          entryHash: PDQ_BRIDGE,
          algorithm: 'pdq',
          distance: 14,
          threshold: 31,
          queryHash: PDQ_BRIDGE_SHARPENED,
          queryQuality: 100,
          queryVariant: null,
          frameTimestampMs: null,
        },
      ],
    });

    // Disable through the CLI: the replica applies it from the topic, and the same query stops matching.
    expect(await cli('bank', 'disable', '--bank', 'test-block', 'bridge-orig', '--reason', 'false_positive')).toMatchObject({ status: 'DISABLED', changed: true });
    await waitFor(() => service.index.banks.getEntry('test-block', 'bridge-orig')?.disabled, { timeoutMs: 30_000, description: 'the disable applied' });
    // An allow-list entry for the other image suppresses its block match.
    expect(await cli('bank', 'import', '--bank', 'benign', '--kind', 'allow', '--source', 'platform', bankFile('allow.tsv', `wee-benign\tpdq\t${PDQ_WEE}\n`))).toMatchObject({ added: 1 });
    await waitFor(() => service.index.banks.getEntry('benign', 'wee-benign'), { timeoutMs: 30_000, description: 'the allow entry applied' });
    await publish([hashedEvent('c-disabled', [pdqHash(PDQ_BRIDGE_SHARPENED)]), hashedEvent('c-allowed', [pdqHash(PDQ_WEE)])]);
    await allHandled(3);
    const all = await readMatches(1);
    expect(all.map((m) => m.value.contentId)).toEqual(['c-near']);
    const metrics = await runtime!.registry.metrics();
    expect(metrics).toMatch(/safeguard_matcher_suppressed_total\{reason="allow_list"[^}]*\} 1/);
    expect(metrics).toMatch(/safeguard_matcher_index_entries\{algorithm="pdq",bank="test-block"[^}]*\} 2/);
    // Nothing else arrived on the topic: its end offsets add up to the one record read.
    const offsets = await client.admin().listOffsets(matchedTopic());
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(1);
  });

  it('dead-letters a ContentHashed with a malformed PDQ with its reason and keeps going', async () => {
    await cli('bank', 'import', '--bank', 'test-block', '--kind', 'review', '--source', 'platform', bankFile('b.tsv', `bridge\tpdq\t${PDQ_BRIDGE}\n`));
    await startService();
    await publish([hashedEvent('bad', [pdqHash(`${PDQ_BRIDGE.slice(0, 62)}zz`)]), hashedEvent('good', [pdqHash(PDQ_BRIDGE)])]);
    const [dead] = await kcatConsume({ topic: `${hashedTopic()}.dlq`, count: 1, timeoutMs: 60_000 });
    const headers = Object.fromEntries(dead!.headers.map((h) => [h.key, h.value?.toString('utf8') ?? '']));
    expect(parseDeadLetterHeaders(headers)).toMatchObject({ reason: 'hash_charset_invalid', sourceTopic: hashedTopic(), attempts: 1 });
    expect(dead!.key?.toString('utf8')).toBe('platform-a/bad');
    const [match] = await readMatches(1);
    expect(match!.value).toMatchObject({ contentId: 'good', decision: 'REVIEW' });
  });
});
