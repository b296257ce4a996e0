import { TestkitError } from './errors';
import { MAX_TOPIC_NAME_LENGTH, uniqueName } from './unique-name';

describe('uniqueName', () => {
  it('keeps the prefix and yields a Kafka-legal topic name', () => {
    const name = uniqueName('media.content.hashed.v1');
    expect(name.startsWith('media.content.hashed.v1-')).toBe(true);
    expect(name).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(name.length).toBeLessThanOrEqual(MAX_TOPIC_NAME_LENGTH);
  });

  it('does not repeat across many calls in the same millisecond', () => {
    const names = new Set(Array.from({ length: 10_000 }, () => uniqueName('t')));
    expect(names.size).toBe(10_000);
  });

  it('defaults the prefix to "test"', () => {
    expect(uniqueName()).toMatch(/^test-[0-9a-z]+-[0-9a-f]{10}$/);
  });

  it.each(['has space', 'slash/topic', 'ümlaut', ''])('rejects the prefix %p', (prefix) => {
    expect(() => uniqueName(prefix)).toThrow(TestkitError);
  });

  it('rejects a prefix that would exceed the topic length limit', () => {
    let err: unknown;
    try {
      uniqueName('x'.repeat(240));
    } catch (e) {
      err = e;
    }
    expect((err as TestkitError).code).toBe('invalid_argument');
  });
});
