import { TransientError } from '@safeguard/domain';
import { DeadLetterHeaders, deadLetterHeaders, deadLetterTopic, parseDeadLetterHeaders, replayHeaders } from './dead-letter';
import { classifyFailure, reasonOf } from './policy';
import { CapacityError, InvalidInputError, SafeguardError } from '@safeguard/domain';
import { DeserializationError } from '../errors';

describe('dead letters', () => {
  const message = {
    topic: 't.v1',
    partition: 3,
    offset: '42',
    key: Buffer.from('k'),
    value: Buffer.from([9]),
    headers: { trace: 'abc' },
    timestampMs: 1000,
  };

  it('names the DLQ <topic>.dlq', () => {
    expect(deadLetterTopic('media.content.hashed.v1')).toBe('media.content.hashed.v1.dlq');
  });

  it('keeps original headers and adds every safeguard.dlq.* header', () => {
    const h = deadLetterHeaders(message, { reason: 'x_failed', attempts: 5, error: new TransientError('x_failed', 'boom'), groupId: 'g', service: 'svc', nowMs: 2000 });
    expect(h).toMatchObject({
      trace: 'abc',
      [DeadLetterHeaders.reason]: 'x_failed',
      [DeadLetterHeaders.attempts]: '5',
      [DeadLetterHeaders.sourceTopic]: 't.v1',
      [DeadLetterHeaders.sourcePartition]: '3',
      [DeadLetterHeaders.sourceOffset]: '42',
      [DeadLetterHeaders.sourceTimestampMs]: '1000',
      [DeadLetterHeaders.group]: 'g',
      [DeadLetterHeaders.service]: 'svc',
      [DeadLetterHeaders.failedAtMs]: '2000',
      [DeadLetterHeaders.errorClass]: 'TransientError',
      [DeadLetterHeaders.errorMessage]: 'boom',
    });
    expect(parseDeadLetterHeaders(h)).toEqual({
      reason: 'x_failed',
      attempts: 5,
      sourceTopic: 't.v1',
      sourcePartition: 3,
      sourceOffset: '42',
      sourceTimestampMs: 1000,
      group: 'g',
      service: 'svc',
      failedAtMs: 2000,
      errorClass: 'TransientError',
      errorMessage: 'boom',
      replays: 0,
    });
  });

  it('cuts long error messages', () => {
    const h = deadLetterHeaders(message, { reason: 'r', attempts: 1, error: new Error('x'.repeat(5000)), groupId: 'g', service: 's', nowMs: 0 });
    expect(h[DeadLetterHeaders.errorMessage].length).toBe(500);
  });

  it('is not fooled by ordinary records', () => {
    expect(parseDeadLetterHeaders({ trace: 'x' })).toBeUndefined();
  });

  it('replay strips dlq headers and counts replays', () => {
    const h = deadLetterHeaders(message, { reason: 'r', attempts: 1, error: new Error('e'), groupId: 'g', service: 's', nowMs: 0 });
    const once = replayHeaders(h);
    expect(once).toEqual({ trace: 'abc', [DeadLetterHeaders.replays]: '1' });
    const again = deadLetterHeaders({ ...message, headers: once }, { reason: 'r', attempts: 1, error: new Error('e'), groupId: 'g', service: 's', nowMs: 0 });
    expect(parseDeadLetterHeaders(again)?.replays).toBe(1);
    expect(replayHeaders(again)[DeadLetterHeaders.replays]).toBe('2');
  });
});

describe('failure classification', () => {
  it('maps error classes to actions', () => {
    expect(classifyFailure(new InvalidInputError('bad', 'x'))).toBe('invalid');
    expect(classifyFailure(new DeserializationError('wrong_magic_byte', 'x'))).toBe('invalid');
    expect(classifyFailure(new SafeguardError('config', 'x', { retriable: false }))).toBe('invalid');
    expect(classifyFailure(new CapacityError('pool_full', 'x'))).toBe('capacity');
    expect(classifyFailure(new TransientError('timeout', 'x'))).toBe('retry');
    expect(classifyFailure(new TransientError('produce_failed', 'x'))).toBe('outage');
    expect(classifyFailure(new TransientError('schema_registry_unavailable', 'x'))).toBe('outage');
    // Wrapped by a handler in its own transient error: still an outage.
    expect(classifyFailure(new TransientError('output_failed', 'x', { cause: new TransientError('produce_failed', 'y') }))).toBe('outage');
    expect(classifyFailure(new TransientError('hash_worker_failed', 'x', { cause: new TypeError('z') }))).toBe('retry');
    // A produce the broker refused for good (e.g. a record too large) is the message's fault.
    expect(classifyFailure(new SafeguardError('produce_failed', 'x', { retriable: false }))).toBe('invalid');
    expect(classifyFailure(new TypeError('bug'))).toBe('retry');
    expect(classifyFailure('a string')).toBe('retry');
  });

  it('recognises the classes by name across package copies', () => {
    class CapacityError extends Error {}
    expect(classifyFailure(new CapacityError('other copy'))).toBe('capacity');
  });

  it('uses the error code as the reason, unexpected_error otherwise', () => {
    expect(reasonOf(new TransientError('http_timeout', 'x'))).toBe('http_timeout');
    expect(reasonOf(new TypeError('x'))).toBe('unexpected_error');
  });
});
