import { CapacityError, InvalidInputError, SafeguardError, TransientError, isSafeguardError } from './errors';

describe('errors', () => {
  it('carries code, retriable and cause', () => {
    const cause = new Error('inner');
    const err = new TransientError('fetch_timeout', 'media fetch timed out', { cause });
    expect(err.code).toBe('fetch_timeout');
    expect(err.retriable).toBe(true);
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('TransientError');
    expect(err).toBeInstanceOf(SafeguardError);
  });

  it('marks invalid input as not retriable and capacity as retriable', () => {
    expect(new InvalidInputError('schema_invalid', 'x').retriable).toBe(false);
    expect(new CapacityError('pool_full', 'x').retriable).toBe(true);
  });

  it('recognises errors by shape', () => {
    expect(isSafeguardError(new InvalidInputError('a', 'b'))).toBe(true);
    expect(isSafeguardError(Object.assign(new Error('x'), { code: 'c', retriable: false }))).toBe(true);
    expect(isSafeguardError(new Error('plain'))).toBe(false);
    expect(isSafeguardError('nope')).toBe(false);
  });
});
