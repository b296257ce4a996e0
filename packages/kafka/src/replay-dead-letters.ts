import { CoreTransport } from './core/transport';
import type { ReplayOptions, ReplayResult } from './core/replay';
import { TransportConfigError } from './errors';
import type { Transport } from './types';

/**
 * Re-publishes the dead letters of `options.topic` (those in `<topic>.dlq` when the call starts)
 * to the topic, byte for byte, with their key and original headers, and `safeguard.dlq.replays`
 * raised by one. The DLQ is left as it is, so narrow repeated replays with `filter` or `reasons`.
 *
 * @throws TransportConfigError when `transport` was not made by `createTransport`;
 *   TopicNotFoundError when the topic or its DLQ does not exist.
 */
export function replayDeadLetters(transport: Transport, options: ReplayOptions): Promise<ReplayResult> {
  if (!(transport instanceof CoreTransport)) throw new TransportConfigError('replayDeadLetters needs a transport made by createTransport');
  return transport.replayDeadLetters(options);
}
