import type { Registry } from 'prom-client';
import { AvroCodec } from '../codec/avro-codec';
import type { Admin, Consumer, ConsumerOptions, Producer, Reader, ReaderOptions, Transport, TransportLogger } from '../types';
import type { Driver } from './driver';
import { errorFields } from './logger';
import { TransportMetrics } from './metrics';
import { PartitionedSender } from './partitioned-sender';
import { TypedConsumer } from './typed-consumer';
import type { TransportContext } from './typed-consumer';
import { TypedProducer } from './typed-producer';
import { TypedReader } from './typed-reader';
import type { ReplayOptions, ReplayResult } from './replay';
import { runReplay } from './replay';

/** Options shared by both transports, after defaults. */
export interface CoreOptions {
  clientId: string;
  logger: TransportLogger;
  metricsRegistry?: Registry;
  autoRegisterSchemas: boolean;
  random?: () => number;
}

/** The one {@link Transport} implementation; the driver decides where bytes go. */
export class CoreTransport implements Transport {
  readonly kind: Transport['kind'];
  protected readonly ctx: TransportContext;
  private producerInstance: TypedProducer | undefined;
  private readonly consumers = new Set<Consumer>();
  private readonly readers = new Set<Reader>();
  private closing: Promise<void> | undefined;

  constructor(protected readonly driver: Driver, options: CoreOptions) {
    this.kind = driver.kind;
    const metrics = new TransportMetrics(options.metricsRegistry);
    this.ctx = {
      driver,
      admin: driver.admin,
      codec: new AvroCodec(driver.registry, { autoRegister: options.autoRegisterSchemas }),
      sender: new PartitionedSender(driver, driver.admin, metrics),
      metrics,
      logger: options.logger,
      clientId: options.clientId,
      random: options.random ?? Math.random,
    };
  }

  producer(): Producer {
    this.producerInstance ??= new TypedProducer(this.ctx.codec, this.ctx.sender, () => this.driver.disconnectProducer());
    return this.producerInstance;
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = new TypedConsumer(this.ctx, options);
    this.consumers.add(consumer);
    return consumer;
  }

  admin(): Admin {
    return this.ctx.admin;
  }

  async reader<V>(options: ReaderOptions<V>): Promise<Reader> {
    const reader = new TypedReader(this.ctx, options);
    this.readers.add(reader);
    try {
      await reader.start();
    } catch (err) {
      this.readers.delete(reader);
      await reader.stop();
      throw err;
    }
    return reader;
  }

  /** See {@link runReplay}. */
  replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
    return runReplay(this.driver, this.ctx.admin, this.ctx.sender, options);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const steps: Array<[string, () => Promise<void>]> = [
      ['consumers', async () => void (await Promise.allSettled([...this.consumers].map((c) => c.stop())))],
      ['readers', async () => void (await Promise.allSettled([...this.readers].map((r) => r.stop())))],
      ['producer', async () => this.ctx.sender.flush()],
      ['driver', async () => this.driver.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.ctx.logger.warn({ step: name, ...errorFields(err) }, 'transport close step failed');
      }
    }
  }
}
