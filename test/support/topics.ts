import type { ConsumedMessage, Transport } from '@safeguard/kafka';
import { renameTopic, type EventTopic } from '@safeguard/schemas';

/**
 * Reads a whole topic as it is now (every record up to each partition's end at the start of the
 * call), decoded with `binding`'s schema, in partition then offset order. A missing topic reads
 * as empty. Dead-letter topics hold the original records, so `binding` is the source topic's.
 */
export async function readTopic<V>(transport: Transport, binding: EventTopic<V>, topic: string, timeoutMs = 60_000): Promise<Array<ConsumedMessage<V>>> {
  const admin = transport.admin();
  if (!(await admin.listTopics()).includes(topic)) return [];
  const out: Array<ConsumedMessage<V>> = [];
  let failed: Error | undefined;
  const reader = await transport.reader({ binding: renameTopic(binding, topic), handle: (m) => void out.push(m), onError: (e) => (failed = e) });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      reader.caughtUp(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await reader.stop();
  }
  if (failed) throw failed;
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Records on a topic now: the sum of its partitions' high watermarks minus low watermarks (0 when missing). */
export async function topicSize(transport: Transport, topic: string): Promise<number> {
  const admin = transport.admin();
  if (!(await admin.listTopics()).includes(topic)) return 0;
  const offsets = await admin.listOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

/**
 * Records of `topic` the consumer group has not committed yet (end offsets minus committed
 * offsets, a partition without a commit counting from its low watermark). 0 means the group has
 * handled, and committed, everything on the topic.
 */
export async function groupLag(transport: Transport, group: string, topic: string): Promise<number> {
  const admin = transport.admin();
  if (!(await admin.listTopics()).includes(topic)) return 0;
  const [ends, committed] = await Promise.all([admin.listOffsets(topic), admin.committedOffsets(group, topic)]);
  const at = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return ends.reduce((n, o) => n + Number(o.high) - (at.get(o.partition) ?? Number(o.low)), 0);
}
