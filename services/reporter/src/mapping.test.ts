import { parseGroomingAlertEvent, parseMatchEvent } from '@safeguard/reporting';
import { BRIDGE_PDQ, BRIDGE_SHA256, detail, groomingAlert, matchFound, WEE_PDQ } from '../test/helpers';
import { feedbackOutcomeOf, groomingEventOf, indicatorFeedbackEvent, matchEventsOf, unknownUploaderId, uploadOf, type UploadFieldDropReason } from './mapping';

describe('mapping events to the reporting library and back', () => {
  it('turns each match of a matcher result into a library match event with provenance', () => {
    const m = matchFound({
      mediaUri: 's3://bucket/x',
      matches: [
        detail(),
        detail({ bank: { name: 'platform-review', kind: 'REVIEW', source: 'platform', listVersion: '3' }, entryId: 'p-1', algorithm: 'pdq', distance: 9, threshold: 31, queryHash: BRIDGE_PDQ.toUpperCase(), queryQuality: 88, entryHash: WEE_PDQ }),
      ],
    });
    const evs = matchEventsOf(m, new Set(['eu_centre']));
    expect(evs.map((e) => parseMatchEvent(e))).toEqual(evs);
    expect(evs[0]).toMatchObject({ contentId: m.contentId, uploaderAccountId: m.uploaderAccountId, algorithm: 'sha256', distance: 0, quality: 100, queryHash: BRIDGE_SHA256, entryHash: BRIDGE_SHA256, mediaUri: 's3://bucket/x', bank: { name: 'eu-indicators', kind: 'block', source: 'eu_centre', entryId: 'e-100', listVersion: 'v7', verified: true } });
    expect(evs[1]).toMatchObject({ algorithm: 'pdq', distance: 9, quality: 88, queryHash: BRIDGE_PDQ, entryHash: WEE_PDQ, bank: { kind: 'review', verified: false } });
    // Ids depend on content and entry, not on the hashed event: a re-hash of the same content is a duplicate.
    const again = matchEventsOf({ ...m, matchId: 'other', hashedEventId: 'other' }, new Set());
    expect(again.map((e) => e.matchId)).toEqual(evs.map((e) => e.matchId));
    expect(new Set(evs.map((e) => e.matchId)).size).toBe(2);
  });

  it('gives content of an unnamed uploader its own subject', () => {
    const [ev] = matchEventsOf(matchFound({ uploaderAccountId: null, contentId: 'c-x' }), new Set());
    expect(ev!.uploaderAccountId).toBe(unknownUploaderId('plat-1', 'c-x'));
    expect(ev!.uploaderAccountId).toMatch(/^uploader-unknown_[0-9a-f]{32}$/);
  });

  it('maps grooming alerts (stages, signals) and refuses one without a suspect', () => {
    const a = groomingAlert({ stage: 'TRUST_BUILDING', participantIds: ['acct-minor'], suspectedAccountId: 'acct-adult' });
    const ev = groomingEventOf(a);
    expect(parseGroomingAlertEvent(ev)).toEqual(ev);
    expect(ev).toMatchObject({ stage: 'relationship_forming', suspectedAdultId: 'acct-adult', participantIds: ['acct-minor', 'acct-adult'], signals: [{ kind: 'age_probing', messageIds: ['msg-3', 'msg-5'] }, { kind: 'secrecy_request', messageIds: ['msg-9'] }] });
    expect(groomingEventOf(groomingAlert({ stage: 'MEETING' })).stage).toBe('meeting');
    expect(() => groomingEventOf(groomingAlert({ suspectedAccountId: null }))).toThrow(expect.objectContaining({ code: 'invalid_event' }));
  });

  it('carries the upload context onto every match event; malformed fields are left out and named, the match is kept', () => {
    const m = matchFound({
      matches: [detail(), detail({ entryId: 'e-101' })],
      uploadContext: { uploadedAtMs: 1_700_000_000_000, ipAddress: ' 192.0.2.10 ', countryCode: 'de', publiclyAvailable: false },
    });
    const evs = matchEventsOf(m, new Set());
    expect(evs.map((e) => e.upload)).toEqual([
      { uploadedAtMs: 1_700_000_000_000, ipAddress: '192.0.2.10', countryCode: 'DE', publiclyAvailable: false },
      { uploadedAtMs: 1_700_000_000_000, ipAddress: '192.0.2.10', countryCode: 'DE', publiclyAvailable: false },
    ]);
    expect(evs.map((e) => parseMatchEvent(e))).toEqual(evs);
    expect(matchEventsOf(matchFound({ uploadContext: null }), new Set())[0]).not.toHaveProperty('upload');

    const dropped: UploadFieldDropReason[] = [];
    const bad = uploadOf({ uploadedAtMs: -5, ipAddress: '999.1.1.1', countryCode: 'Germany', publiclyAvailable: true }, (f) => dropped.push(f));
    expect(bad).toEqual({ publiclyAvailable: true });
    expect(dropped).toEqual(['uploaded_at_invalid', 'ip_address_invalid', 'country_code_invalid']);
    expect(uploadOf({ uploadedAtMs: null, ipAddress: '2001:db8::1', countryCode: null, publiclyAvailable: null })).toEqual({ ipAddress: '2001:db8::1' });
    expect(uploadOf({ uploadedAtMs: null, ipAddress: null, countryCode: null, publiclyAvailable: null })).toBeUndefined();
    // Whatever arrives, the library accepts the mapped event (nothing malformed gets through to dead-letter the match).
    const [ev] = matchEventsOf(matchFound({ uploadContext: { uploadedAtMs: null, ipAddress: 'not-an-ip', countryCode: 'zz', publiclyAvailable: null } }), new Set());
    expect(parseMatchEvent(ev).upload).toEqual({ countryCode: 'ZZ' });
  });

  it('shapes feedback as the matcher expects: DOWN + disable_entry / propose_allow_list with the content\'s queryHash, entry hash or empty', () => {
    const f = {
      feedbackId: 'fb_1', caseId: 'case_1', createdAtMs: 5, exchange: 'platform', bankName: 'b', entryId: 'e', listVersion: '1', algorithm: 'pdq',
      vote: 'down' as const, opinion: 'negative' as const, reasonCode: 'benign_collision', action: 'disable_entry' as const, actorId: 'adm', bankKind: 'review' as const, entryHash: WEE_PDQ,
    };
    expect(indicatorFeedbackEvent(f)).toEqual({ feedbackId: 'fb_1', bank: { name: 'b', kind: 'REVIEW', source: 'platform', listVersion: '1' }, entryId: 'e', algorithm: 'pdq', hashValue: WEE_PDQ, vote: 'DOWN', action: 'disable_entry', caseId: 'case_1', createdAtMs: 5, queryHash: null });
    const proposal = { ...f, action: 'propose_allow' as const, allowListProposal: { algorithm: 'pdq', hash: BRIDGE_PDQ.toUpperCase() } };
    expect(indicatorFeedbackEvent(proposal)).toMatchObject({ action: 'propose_allow_list', hashValue: WEE_PDQ, queryHash: BRIDGE_PDQ });
    expect(indicatorFeedbackEvent({ ...proposal, entryHash: undefined })).toMatchObject({ action: 'propose_allow_list', hashValue: '', queryHash: BRIDGE_PDQ });
    expect(indicatorFeedbackEvent({ ...f, vote: 'up', action: 'none' })).toMatchObject({ vote: 'UP', action: null, queryHash: null });
  });

  it('publishes feedback with an unknown entry hash only when it carries an action', () => {
    const base = {
      feedbackId: 'fb_1', caseId: 'case_1', createdAtMs: 5, exchange: 'platform', bankName: 'b', entryId: 'e', listVersion: '1', algorithm: 'pdq',
      vote: 'up' as const, opinion: 'affirmative' as const, reasonCode: 'confirmed', action: 'none' as const, actorId: 'rev',
    };
    expect(feedbackOutcomeOf({ ...base, entryHash: WEE_PDQ })).toBe('published');
    expect(feedbackOutcomeOf(base)).toBe('skipped_entry_hash_unknown');
    expect(feedbackOutcomeOf({ ...base, vote: 'down', opinion: 'negative', reasonCode: 'complaint_upheld' })).toBe('skipped_entry_hash_unknown');
    expect(feedbackOutcomeOf({ ...base, vote: 'down', opinion: 'negative', action: 'disable_entry' })).toBe('published_without_entry_hash');
    expect(feedbackOutcomeOf({ ...base, vote: 'down', opinion: 'negative', action: 'propose_allow', allowListProposal: { algorithm: 'pdq', hash: BRIDGE_PDQ } })).toBe('published_without_entry_hash');
  });
});
