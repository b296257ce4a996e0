import { InvalidInputError } from '@safeguard/domain';
import type { AvroCodec } from '../codec/avro-codec';
import { TransportErrorCodes } from '../errors';
import type { Producer, ProduceRecord, RecordPosition, TopicBinding } from '../types';
import { encodeHeaders } from './headers';
import type { PartitionedSender } from './partitioned-sender';

/** The typed producer over the shared codec and sender. */
export class TypedProducer implements Producer {
  constructor(
    private readonly codec: AvroCodec,
    private readonly sender: PartitionedSender,
    private readonly disconnectDriver: () => Promise<void>,
  ) {}

  async send<V>(binding: TopicBinding<V>, records: readonly ProduceRecord<V>[]): Promise<RecordPosition[]> {
    // Fail on a missing topic before the schema gets registered under its subject.
    await this.sender.partitionCount(binding.topic);
    const encoded = await Promise.all(
      records.map(async (r) => {
        const key = r.key !== undefined ? r.key : r.value !== null && binding.key ? binding.key(r.value) : null;
        if (r.value === null && (key === null || key === undefined)) {
          throw new InvalidInputError(TransportErrorCodes.tombstoneWithoutKey, `a tombstone for ${binding.topic} needs a key`);
        }
        const value = r.value === null ? null : await this.codec.encode(binding, r.value);
        return {
          key: key === null || key === undefined ? null : Buffer.from(key, 'utf8'),
          value,
          headers: toHeaderStrings(r.headers),
          partition: r.partition,
          timestampMs: r.timestampMs,
        };
      }),
    );
    return this.sender.send(binding.topic, encoded);
  }

  flush(): Promise<void> {
    return this.sender.flush();
  }

  async disconnect(): Promise<void> {
    await this.flush();
    await this.disconnectDriver();
  }
}

function toHeaderStrings(headers: ProduceRecord<unknown>['headers']): Record<string, string> {
  // Round-trips through the wire encoding so only string values survive, as on the broker.
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(encodeHeaders(headers))) out[k] = v.toString('utf8');
  return out;
}
