import { randomBytes } from 'node:crypto';
import { TestkitError } from './errors';

const LEGAL = /^[A-Za-z0-9._-]+$/;
/** Kafka's limit on topic name length. */
export const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * A name no other test (in this process, another jest worker, or a parallel run on the same
 * broker) will pick: `<prefix>-<ms since epoch, base 36>-<10 random hex digits>`, e.g.
 * `media.content.hashed.v1-m3x9k2a1-4f0c9e1b2a`. Use it for topics, consumer groups and
 * registry subjects so integration tests never share state.
 *
 * @param prefix - Kafka-legal characters only (`A-Z a-z 0-9 . _ -`); default `test`.
 * @throws TestkitError `invalid_argument` if the prefix has other characters or the result
 *   would exceed {@link MAX_TOPIC_NAME_LENGTH} (249) characters.
 */
export function uniqueName(prefix = 'test'): string {
  if (!LEGAL.test(prefix)) {
    throw new TestkitError('invalid_argument', `uniqueName prefix ${JSON.stringify(prefix)} may only contain A-Z a-z 0-9 . _ -`);
  }
  const name = `${prefix}-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new TestkitError('invalid_argument', `uniqueName prefix is too long: the name would have ${name.length} characters (max ${MAX_TOPIC_NAME_LENGTH})`);
  }
  return name;
}
