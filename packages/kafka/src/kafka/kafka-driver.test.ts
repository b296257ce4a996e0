import { logLevel } from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import { hasErrorType, logCreator, TOPIC_CREATION_ERROR_TEXTS } from './kafka-driver';

describe('kafka driver helpers', () => {
  it("names the creation errors with kafkajs's own texts", () => {
    // The log entries carry only the text; this pins our copy to kafkajs's error table.
    const { errorCodes } = jest.requireActual('kafkajs/src/protocol/error') as { errorCodes: Array<{ type: string; message: string }> };
    for (const [type, text] of Object.entries(TOPIC_CREATION_ERROR_TEXTS)) {
      expect(errorCodes.find((e) => e.type === type)?.message).toBe(text);
    }
  });

  it('demotes creation errors to debug only while topics are being created', () => {
    const seen: string[] = [];
    const logger = {
      debug: (_o: object, m: string) => void seen.push(`debug ${m}`),
      info: (_o: object, m: string) => void seen.push(`info ${m}`),
      warn: (_o: object, m: string) => void seen.push(`warn ${m}`),
      error: (_o: object, m: string) => void seen.push(`error ${m}`),
    };
    let creating = false;
    const log = logCreator(logger, () => creating)();
    const entry = (level: logLevel, message: string, error?: string): LogEntry => ({ namespace: 'Connection', level, label: 'ERROR', log: { message, timestamp: '', error } });

    log(entry(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', TOPIC_CREATION_ERROR_TEXTS.UNKNOWN_TOPIC_OR_PARTITION));
    creating = true;
    log(entry(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', TOPIC_CREATION_ERROR_TEXTS.UNKNOWN_TOPIC_OR_PARTITION));
    log(entry(logLevel.ERROR, 'Response CreateTopics(key: 19, version: 2)', TOPIC_CREATION_ERROR_TEXTS.TOPIC_ALREADY_EXISTS));
    log(entry(logLevel.WARN, 'Response Metadata(key: 3, version: 6)', TOPIC_CREATION_ERROR_TEXTS.LEADER_NOT_AVAILABLE));
    log(entry(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', 'The request timed out'));
    log(entry(logLevel.WARN, 'Connection timeout'));
    expect(seen).toEqual([
      'error Response Metadata(key: 3, version: 6)',
      'debug Response Metadata(key: 3, version: 6)',
      'debug Response CreateTopics(key: 19, version: 2)',
      'debug Response Metadata(key: 3, version: 6)',
      'error Response Produce(key: 0, version: 7)',
      'warn Connection timeout',
    ]);
  });

  it('finds a protocol error type in causes and aggregated errors', () => {
    const unknown = { type: 'UNKNOWN_TOPIC_OR_PARTITION' };
    expect(hasErrorType(unknown, 'UNKNOWN_TOPIC_OR_PARTITION')).toBe(true);
    expect(hasErrorType(new Error('retries exceeded', { cause: unknown }), 'UNKNOWN_TOPIC_OR_PARTITION')).toBe(true);
    expect(hasErrorType({ errors: [{ type: 'INVALID_CONFIG' }, { type: 'TOPIC_ALREADY_EXISTS' }] }, 'TOPIC_ALREADY_EXISTS')).toBe(true);
    expect(hasErrorType({ errors: [{ type: 'INVALID_CONFIG' }] }, 'TOPIC_ALREADY_EXISTS')).toBe(false);
    expect(hasErrorType(new Error('plain'), 'UNKNOWN_TOPIC_OR_PARTITION')).toBe(false);
    expect(hasErrorType(undefined, 'UNKNOWN_TOPIC_OR_PARTITION')).toBe(false);
  });
});
