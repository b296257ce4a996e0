import type { Headers } from '../types';
import type { RawMessage } from './driver';

/**
 * Header names on every dead letter. The value of a dead letter is the original record's bytes,
 * unchanged (wire frame included, or whatever undecodable bytes arrived), its key is the original
 * key, and its original headers are kept; these headers are added.
 */
export const DeadLetterHeaders = {
  /** Reason code: the error's `code` (e.g. `deserialization_failed`), or `unexpected_error`. */
  reason: 'safeguard.dlq.reason',
  /** Handler attempts made before dead-lettering (decimal). */
  attempts: 'safeguard.dlq.attempts',
  /** Topic the record came from. */
  sourceTopic: 'safeguard.dlq.source.topic',
  /** Partition it came from (decimal). */
  sourcePartition: 'safeguard.dlq.source.partition',
  /** Offset it had (decimal). */
  sourceOffset: 'safeguard.dlq.source.offset',
  /** Its original timestamp, epoch ms (decimal). */
  sourceTimestampMs: 'safeguard.dlq.source.timestamp-ms',
  /** Consumer group that gave up on it. */
  group: 'safeguard.dlq.group',
  /** Client id (service name) of the transport that gave up on it. */
  service: 'safeguard.dlq.service',
  /** When it was dead-lettered, epoch ms (decimal). */
  failedAtMs: 'safeguard.dlq.failed-at-ms',
  /** Class name of the final error (e.g. `DeserializationError`, `TransientError`, `TypeError`). */
  errorClass: 'safeguard.dlq.error.class',
  /** The final error's message, cut to 500 characters. Error messages carry ids at most, never content. */
  errorMessage: 'safeguard.dlq.error.message',
  /** How many times this record was replayed from a DLQ before (decimal; absent means 0). */
  replays: 'safeguard.dlq.replays',
} as const;

/** Prefix of every dead-letter header. */
export const DEAD_LETTER_HEADER_PREFIX = 'safeguard.dlq.';

/** The dead-letter topic of a topic: `<topic>.dlq`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** What a dead letter says about its failure, parsed from its headers. */
export interface DeadLetterInfo {
  reason: string;
  attempts: number;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  sourceTimestampMs: number | undefined;
  group: string | undefined;
  service: string | undefined;
  failedAtMs: number;
  errorClass: string | undefined;
  errorMessage: string | undefined;
  replays: number;
}

/** Details recorded with a dead letter. */
export interface DeadLetterCause {
  reason: string;
  attempts: number;
  error: unknown;
  groupId: string;
  service: string;
  nowMs: number;
}

const MAX_ERROR_MESSAGE = 500;

/** The headers of the dead letter for `message`: its own headers plus the `safeguard.dlq.*` ones. */
export function deadLetterHeaders(message: RawMessage, cause: DeadLetterCause): Record<string, string> {
  const err = cause.error;
  const errorClass = err instanceof Error ? err.name || err.constructor.name : typeof err;
  const errorMessage = err instanceof Error ? err.message.slice(0, MAX_ERROR_MESSAGE) : '';
  return {
    ...message.headers,
    [DeadLetterHeaders.reason]: cause.reason,
    [DeadLetterHeaders.attempts]: String(cause.attempts),
    [DeadLetterHeaders.sourceTopic]: message.topic,
    [DeadLetterHeaders.sourcePartition]: String(message.partition),
    [DeadLetterHeaders.sourceOffset]: message.offset,
    [DeadLetterHeaders.sourceTimestampMs]: String(message.timestampMs),
    [DeadLetterHeaders.group]: cause.groupId,
    [DeadLetterHeaders.service]: cause.service,
    [DeadLetterHeaders.failedAtMs]: String(cause.nowMs),
    [DeadLetterHeaders.errorClass]: errorClass,
    [DeadLetterHeaders.errorMessage]: errorMessage,
  };
}

/** Parses the `safeguard.dlq.*` headers; `undefined` when the record is not a dead letter. */
export function parseDeadLetterHeaders(headers: Headers): DeadLetterInfo | undefined {
  const reason = headers[DeadLetterHeaders.reason];
  const sourceTopic = headers[DeadLetterHeaders.sourceTopic];
  if (reason === undefined || sourceTopic === undefined) return undefined;
  const num = (name: string): number | undefined => {
    const v = headers[name];
    return v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  return {
    reason,
    attempts: num(DeadLetterHeaders.attempts) ?? 0,
    sourceTopic,
    sourcePartition: num(DeadLetterHeaders.sourcePartition) ?? -1,
    sourceOffset: headers[DeadLetterHeaders.sourceOffset] ?? '',
    sourceTimestampMs: num(DeadLetterHeaders.sourceTimestampMs),
    group: headers[DeadLetterHeaders.group],
    service: headers[DeadLetterHeaders.service],
    failedAtMs: num(DeadLetterHeaders.failedAtMs) ?? 0,
    errorClass: headers[DeadLetterHeaders.errorClass],
    errorMessage: headers[DeadLetterHeaders.errorMessage],
    replays: num(DeadLetterHeaders.replays) ?? 0,
  };
}

/** The headers a replayed record gets: the dead letter's original headers, without `safeguard.dlq.*`, with the replay count raised. */
export function replayHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith(DEAD_LETTER_HEADER_PREFIX)) out[k] = v;
  const previous = Number(headers[DeadLetterHeaders.replays] ?? '0');
  out[DeadLetterHeaders.replays] = String((Number.isFinite(previous) ? previous : 0) + 1);
  return out;
}
