import { isMessageOf } from '@safeguard/kafka';
import { InvalidInputError } from '@safeguard/domain';
import { topics, type ChatMessage, type ContentSubmitted } from '@safeguard/schemas';
import { consumerSessionOptions, type ServiceRuntime, type StartedService } from '@safeguard/service-runtime';
import type { IngestConfig } from './config';
import { Deduplicator } from './dedup';
import { IngestHandler } from './handler';
import { buildHttpGateway } from './http-gateway';
import { createIngestMetrics } from './metrics';
import { RejectedInputError } from './validation';

/** A running ingest service. */
export interface IngestService extends StartedService {
  /** The port the HTTP gateway listens on (useful when configured as 0). */
  readonly httpPort: number;
  readonly handler: IngestHandler;
}

/**
 * Starts the ingest service on `runtime`: creates its topics, the HTTP gateway and (unless
 * disabled) the Kafka input consumer, and registers the shutdown steps (stop accepting HTTP,
 * drain in-flight requests, stop the consumer after committing, flush the producer).
 */
export async function startIngest(config: IngestConfig, runtime: ServiceRuntime): Promise<IngestService> {
  const { transport, logger } = runtime;
  const contentOut = runtime.topic(topics.contentSubmitted);
  const messagesOut = runtime.topic(topics.chatMessageSent);
  const contentIn = runtime.topic(topics.platformContentUploaded);
  const messagesIn = runtime.topic(topics.platformMessageSent);
  const bindings = config.kafkaInput ? [contentOut, messagesOut, contentIn, messagesIn] : [contentOut, messagesOut];
  await transport.admin().ensureTopics(
    bindings.map((b) => ({ topic: b.topic, partitions: b.partitions, retentionMs: b.retentionMs, cleanupPolicy: b.compacted ? 'compact' : 'delete' })),
  );

  const producer = transport.producer();
  const metrics = createIngestMetrics(runtime.registry);
  const handler = new IngestHandler({
    publishContent: async (event) => {
      await producer.send(contentOut, [{ value: event }]);
    },
    publishMessage: async (event) => {
      await producer.send(messagesOut, [{ value: event }]);
    },
    dedup: new Deduplicator({ windowMs: config.dedupWindowMs, maxEntries: config.dedupMaxEntries }),
    limits: config.limits,
    metrics,
  });

  let accepting = false;
  const gateway = buildHttpGateway({ handler, apiKeys: config.apiKeys, limits: config.limits, metrics, logger, isAccepting: () => accepting });
  await gateway.listen({ port: config.httpPort, host: '0.0.0.0' });
  const address = gateway.server.address();
  const httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;
  runtime.addReadinessCheck('http_accepting', () => accepting);
  runtime.shutdown.add('stop_http_gateway', async () => {
    accepting = false;
    await gateway.close();
  });

  let crashed: Promise<Error> | undefined;
  if (config.kafkaInput) {
    let reportCrash: (e: Error) => void = () => undefined;
    crashed = new Promise<Error>((resolve) => (reportCrash = resolve));
    const consumer = transport.consumer({ groupId: runtime.groupId, ...consumerSessionOptions(config.common.kafkaSessionTimeoutMs), onCrash: (e) => reportCrash(e) });
    await consumer.run({
      bindings: [contentIn, messagesIn],
      handle: async (message) => {
        if (message.value === null) throw new InvalidInputError('tombstone_unexpected', 'input records must have a value');
        try {
          if (isMessageOf(contentIn, message)) {
            const v = message.value as ContentSubmitted;
            await handler.submitContent(v.platformId, { ...v, ...v.media }, 'kafka');
          } else {
            const v = message.value as ChatMessage;
            await handler.submitMessage(v.platformId, v, 'kafka');
          }
        } catch (err) {
          if (err instanceof RejectedInputError) handler.rejected(isMessageOf(contentIn, message) ? 'content' : 'message', 'kafka', err.code);
          throw err;
        }
      },
    });
    runtime.addReadinessCheck('kafka_input_joined', () => consumer.isRunning());
    runtime.shutdown.add('stop_kafka_input', () => consumer.stop());
  }
  runtime.shutdown.add('flush_producer', () => producer.flush());

  accepting = true;
  logger.info({ httpPort, kafkaInput: config.kafkaInput, contentTopic: contentOut.topic, messageTopic: messagesOut.topic }, 'ingest ready');
  return { httpPort, handler, crashed };
}
