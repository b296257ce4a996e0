// The launcher itself: one service as a process, kill -9 and restart, orderly stop, topics deleted.
import { topics } from '@safeguard/schemas';
import { jsonRequest } from './http';
import { Pipeline } from './pipeline';

jest.setTimeout(180_000);

describe('pipeline launcher (real broker)', () => {
  it('starts a service process, kill -9s and restarts it on the same ports, stops it gracefully and deletes the topics', async () => {
    // Without its Kafka input, ingest has no consumer group: a restart after kill -9 does not wait
    // for the dead member's session to expire (kafkajs's default 30 s), which keeps this test short.
    const pipeline = await Pipeline.start({ services: ['ingest'], extraEnv: { ingest: { INGEST_KAFKA_INPUT: 'false' } } });
    let stopped = false;
    try {
      const submit = (contentId: string) => jsonRequest('POST', `${pipeline.url('ingest')}/v1/content`, pipeline.keys.ingest, { contentId, media: { uri: 'https://media.example/a.jpg' } });
      expect((await submit('c-1')).status).toBe(202);
      expect(pipeline.isRunning('hasher')).toBe(false);
      const firstPid = pipeline.pid('ingest');
      expect(await pipeline.kill('ingest')).toEqual({ code: null, signal: 'SIGKILL' });
      expect(pipeline.isRunning('ingest')).toBe(false);
      await expect(fetch(`${pipeline.managementUrl('ingest')}/healthz`)).rejects.toThrow();

      await pipeline.restart('ingest');
      expect(pipeline.pid('ingest')).not.toBe(firstPid);
      expect(pipeline.incarnationCount('ingest')).toBe(2);
      expect((await submit('c-2')).status).toBe(202);
      expect(pipeline.logLines('ingest').some((l) => l.includes('"msg":"ingest ready"'))).toBe(true);
      const topic = pipeline.topic(topics.contentSubmitted.topic);
      expect(await pipeline.transport().admin().listTopics()).toContain(topic);

      const stops = await pipeline.stop();
      stopped = true;
      expect(stops).toEqual([{ service: 'ingest', incarnation: 2, code: 0, signal: null }]);
      expect(pipeline.exits.map((e) => [e.incarnation, e.code, e.signal])).toEqual([
        [1, null, 'SIGKILL'],
        [2, 0, null],
      ]);
    } finally {
      if (!stopped) {
        pipeline.printLogs();
        await pipeline.stop();
      }
    }
    // A fresh transport: the pipeline's own was closed by stop().
    const { createTransport } = await import('@safeguard/kafka');
    const check = createTransport({ kind: 'kafka', brokers: pipeline.env.brokers, clientId: 'launcher-test', schemaRegistryUrl: pipeline.env.registryUrl });
    try {
      expect((await check.admin().listTopics()).filter((t) => t.startsWith(pipeline.prefix))).toEqual([]);
    } finally {
      await check.close();
    }
  });
});
