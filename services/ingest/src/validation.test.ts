import type { IngestLimits } from './config';
import { parseContentRequest, parseMessageRequest, RejectedInputError, validateContent, validateMessage } from './validation';

const limits: IngestLimits = { inlineMaxBytes: 16, textMaxChars: 20, allowedUriSchemes: ['https', 'file'] };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RejectedInputError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('validateContent', () => {
  const ok = { contentId: 'c1', uri: 'https://cdn.example/x.jpg' };

  it('accepts a uri reference and fills defaults', () => {
    expect(validateContent('p1', ok, limits)).toMatchObject({
      platformId: 'p1',
      contentId: 'c1',
      contentKind: 'UNKNOWN',
      uploaderAccountId: null,
      media: { uri: 'https://cdn.example/x.jpg', inlineBytes: null },
    });
  });

  it('records the inline size', () => {
    expect(validateContent('p1', { contentId: 'c1', inlineBytes: Buffer.alloc(8) }, limits).media.sizeBytes).toBe(8);
  });

  it.each([
    [{ contentId: '' , uri: ok.uri }, 'id_invalid'],
    [{ contentId: 'a\u0000b', uri: ok.uri }, 'id_invalid'],
    [{ contentId: 'x'.repeat(257), uri: ok.uri }, 'id_invalid'],
    [{ contentId: 'c1' }, 'media_reference_missing'],
    [{ contentId: 'c1', uri: ok.uri, inlineBytes: Buffer.alloc(1) }, 'media_reference_ambiguous'],
    [{ contentId: 'c1', inlineBytes: Buffer.alloc(0) }, 'media_empty'],
    [{ contentId: 'c1', inlineBytes: Buffer.alloc(17) }, 'inline_too_large'],
    [{ contentId: 'c1', uri: 'not a uri' }, 'uri_invalid'],
    [{ contentId: 'c1', uri: 'ftp://host/x' }, 'uri_scheme_not_allowed'],
    [{ contentId: 'c1', uri: 'https://user:secret@host/x' }, 'uri_has_credentials'],
  ])('refuses %j with %s', (draft, code) => {
    expect(codeOf(() => validateContent('p1', draft, limits))).toBe(code);
  });
});

describe('validateMessage', () => {
  const ok = { conversationId: 'conv', messageId: 'm1', senderId: 's', text: 'hello', sentAtMs: 1 };

  it('accepts a message and fills defaults', () => {
    expect(validateMessage('p1', ok, limits)).toMatchObject({ platformId: 'p1', recipientIds: [], participants: [], language: null });
  });

  it.each([
    [{ ...ok, text: '' }, 'text_empty'],
    [{ ...ok, text: 'x'.repeat(21) }, 'text_too_long'],
    [{ ...ok, sentAtMs: 0 }, 'timestamp_invalid'],
    [{ ...ok, senderId: '' }, 'id_invalid'],
    [{ ...ok, recipientIds: ['ok', ''] }, 'id_invalid'],
  ])('refuses %j with %s', (draft, code) => {
    expect(codeOf(() => validateMessage('p1', draft, limits))).toBe(code);
  });
});

describe('request parsing', () => {
  it('decodes inline base64 and normalises the upload context', () => {
    const draft = parseContentRequest({
      contentId: 'c1',
      media: { inlineBase64: Buffer.from('abc').toString('base64') },
      uploadContext: { ipAddress: '192.0.2.1' },
    });
    expect(draft.inlineBytes).toEqual(Buffer.from('abc'));
    expect(draft.uploadContext).toEqual({ uploadedAtMs: null, ipAddress: '192.0.2.1', countryCode: null, publiclyAvailable: null });
  });

  it('names every offending field and never echoes values', () => {
    try {
      parseContentRequest({ contentId: 5, media: { uri: 'x' }, surprise: 'secret-value' });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(RejectedInputError);
      const e = err as RejectedInputError;
      expect(e.code).toBe('invalid_request');
      expect(e.issues.map((i) => i.path).sort()).toEqual(['(body)', 'contentId']);
      expect(JSON.stringify(e.issues)).not.toContain('secret-value');
    }
  });

  it('refuses bad base64 and bad ip addresses', () => {
    expect(codeOf(() => parseContentRequest({ contentId: 'c', media: { inlineBase64: '@@@' } }))).toBe('invalid_request');
    expect(codeOf(() => parseContentRequest({ contentId: 'c', media: { uri: 'https://h/x' }, uploadContext: { ipAddress: '999.1.1.1' } }))).toBe('invalid_request');
  });

  it('parses messages with participants', () => {
    const draft = parseMessageRequest({ conversationId: 'c', messageId: 'm', senderId: 's', text: 't', sentAtMs: 5, participants: [{ accountId: 'a', declaredAge: 12 }] });
    expect(draft.participants).toEqual([{ accountId: 'a', declaredAge: 12, ageBand: 'UNKNOWN', accountCreatedAtMs: null }]);
  });
});
