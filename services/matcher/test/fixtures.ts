/**
 * Fixtures shared by the matcher's unit and integration tests: benign PDQ hashes from Meta's
 * reference vectors (`expected.csv` in the repository's copy, `pdqVectorsDir()` of
 * @safeguard/testkit) and event builders. Not exported from the package (not built).
 */
import type { ContentHashed, HashValue, IndicatorFeedback, IndicatorUpdated } from '@safeguard/schemas';

/** PDQ of `bridge-mods/aaa-orig.jpg` (quality 100). */
export const PDQ_BRIDGE = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
/** PDQ of `bridge-mods/sharpen-a-lot.jpg`: a near duplicate of {@link PDQ_BRIDGE} (a few bits away). */
export const PDQ_BRIDGE_SHARPENED = 'd0f8f0cec0f4a84f0e370a22238f67f0b36a2ef596231e1d73e6a39c4e9c9b22';
/** PDQ of `misc-images/c.png`: unrelated to the bridge. */
export const PDQ_C = 'e4cc89d91c623842f8d1f1d9a398e78c9f199a3bf87925f2b7e11e0bf061b064';
/** PDQ of `misc-images/wee.jpg`: unrelated to both. */
export const PDQ_WEE = '6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d';
/** An MD5 (of the empty string). */
export const MD5_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';

/** An indicator record (ACTIVE, review bank `plat`, threshold 31) with overrides. */
export function indicator(over: Partial<IndicatorUpdated> & { entryId: string; bankName?: string; kind?: IndicatorUpdated['bank']['kind'] }): IndicatorUpdated {
  const { bankName, kind, ...rest } = over;
  return {
    bank: { name: bankName ?? 'plat', kind: kind ?? 'REVIEW', source: 'platform', listVersion: 'v1' },
    pdqThreshold: 31,
    algorithm: 'pdq',
    hashValue: PDQ_BRIDGE,
    labels: [],
    status: 'ACTIVE',
    reason: 'imported',
    updatedBy: 'test',
    updatedAtMs: 1_000,
    ...rest,
  };
}

/** A PDQ content hash. */
export function pdqHash(value: string, quality = 100, variant: string | null = null): HashValue {
  return { algorithm: 'pdq', value, quality, variant, frameTimestampMs: null };
}

/** A ContentHashed event with the given hashes. */
export function hashedEvent(contentId: string, hashes: HashValue[], over: Partial<ContentHashed> = {}): ContentHashed {
  return {
    eventId: `he-${contentId}`,
    submittedEventId: `se-${contentId}`,
    platformId: 'platform-a',
    contentId,
    uploaderAccountId: 'u-1',
    mediaUri: `https://cdn.example/${contentId}.jpg`,
    mediaType: 'JPEG',
    sizeBytes: 1234,
    width: 512,
    height: 512,
    durationMs: null,
    hashes,
    uploadContext: null,
    hasherVersion: 'test',
    hashedAtMs: 5_000,
    ...over,
  };
}

/** An IndicatorFeedback event. */
export function feedback(over: Partial<IndicatorFeedback> & { entryId: string }): IndicatorFeedback {
  return {
    feedbackId: `fb-${over.entryId}`,
    bank: { name: 'plat', kind: 'REVIEW', source: 'platform', listVersion: 'v1' },
    algorithm: 'pdq',
    hashValue: PDQ_BRIDGE,
    vote: 'DOWN',
    action: 'disable_entry',
    caseId: 'case-1',
    createdAtMs: 9_000,
    queryHash: null,
    ...over,
  };
}
