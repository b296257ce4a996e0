import { ConversationAnalyzer } from '@safeguard/grooming';
import { groomingConversation } from '../test/fixtures/conversations';
import { alertIdOf, buildAlertEvent, decodePendingAlert, encodePendingAlert } from './alert';

describe('alerts', () => {
  it('ids are deterministic per conversation, sequence and message, 32 hex digits', () => {
    const id = alertIdOf('p/c', 1, 'm10');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(alertIdOf('p/c', 1, 'm10')).toBe(id);
    expect(alertIdOf('p/c', 2, 'm10')).not.toBe(id);
    expect(alertIdOf('p/c', 1, 'm11')).not.toBe(id);
    expect(alertIdOf('p/d', 1, 'm10')).not.toBe(id);
  });

  it('round-trips through the pending-alert bytes, and refuses bytes it cannot read', () => {
    const analyzer = new ConversationAnalyzer();
    let state = analyzer.createState({ conversationId: 'platform-test/c', participants: [{ id: 'acct-adult-1' }, { id: 'acct-teen-1', ageBand: 'minor' }] });
    let event;
    for (const m of groomingConversation({ conversationId: 'c' })) {
      const r = analyzer.update(state, { id: m.messageId, senderId: m.senderId, sentAtMs: m.sentAtMs, text: m.text });
      state = r.state;
      if (r.alert) {
        event = buildAlertEvent({
          platformId: 'platform-test',
          conversationId: 'c',
          conversationKey: 'platform-test/c',
          alert: r.alert,
          state,
          raisedAtMs: m.sentAtMs,
          config: analyzer.config,
          detectorVersion: 'v',
        });
      }
    }
    expect(event).toBeDefined();
    expect(decodePendingAlert(encodePendingAlert(event!))).toEqual(event);
    expect(() => decodePendingAlert(Buffer.from([0xff]))).toThrow(expect.objectContaining({ code: 'pending_alert_unreadable' }));
  });
});
