// Shared test fixtures: benign, synthetic data only. Hashes are those of the benign PDQ
// reference images in shared/pdq-vectors (a bridge photograph); ids are opaque and made up;
// IP addresses are from the documentation ranges (RFC 5737).
import { generateKeyPairSync } from 'node:crypto';
import type { GroomingAlertEvent, MatchEvent } from '../events';
import { keyIdOf, type SigningKey } from '../keys';
import { parsePolicyConfig, type PolicyConfig } from '../policy';
import type { ProviderProfile } from '../reports/profile';

/** PDQ of shared/pdq-vectors/images/bridge-mods/aaa-orig.jpg. */
export const BRIDGE_PDQ = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
/** SHA-256 of the same file. */
export const BRIDGE_SHA256 = 'b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298';
/** PDQ of shared/pdq-vectors/images/misc-images/wee.jpg. */
export const WEE_PDQ = '6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d';

export const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);

export function provider(): ProviderProfile {
  return {
    name: 'Example Platform B.V. (test)',
    legalEntityId: 'EUID-TEST-0001',
    country: 'NL',
    contactEmail: 'trust-safety@example.org',
    service: 'Example Photos',
    ncmec: {
      reportingPerson: { firstName: 'Test', lastName: 'Reporter', email: 'reporter@example.org' },
      companyTemplate: 'Synthetic test report. Legal process: legal@example.org.',
      legalUrl: 'https://example.org/legal',
    },
  };
}

export function signingKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

let seq = 0;
export function match(over: Partial<MatchEvent> = {}): MatchEvent {
  seq++;
  return {
    matchId: `m-${seq}`,
    contentId: `c-${seq}`,
    platformId: 'plat-1',
    uploaderAccountId: 'acct-u1',
    algorithm: 'pdq',
    distance: 4,
    queryHash: BRIDGE_PDQ,
    quality: 100,
    bank: { name: 'eu-indicators', kind: 'block', source: 'eu_centre', entryId: 'e-1', listVersion: 'v1', verified: true },
    matchedAtMs: T0,
    mediaUri: `s3://example-bucket/uploads/${seq}`,
    ...over,
  };
}

export function alert(over: Partial<GroomingAlertEvent> = {}): GroomingAlertEvent {
  seq++;
  return {
    alertId: `a-${seq}`,
    conversationId: 'conv-1',
    platformId: 'plat-1',
    participantIds: ['acct-adult', 'acct-minor'],
    suspectedAdultId: 'acct-adult',
    score: 0.91,
    stage: 'exclusivity',
    signals: [
      { kind: 'age_probing', messageIds: ['msg-3', 'msg-5'] },
      { kind: 'secrecy_request', messageIds: ['msg-9'] },
    ],
    raisedAtMs: T0,
    ...over,
  };
}

export function policy(over: Record<string, unknown> = {}): PolicyConfig {
  return parsePolicyConfig({
    version: 1,
    defaultDestinations: ['eu_centre', 'ncmec'],
    rules: [
      { id: 'exact-verified', when: { kind: 'match', bankKind: ['block'], bankVerified: true, algorithm: ['sha256', 'md5'], maxDistance: 0 }, action: 'report', industryClassification: 'B2' },
      { id: 'pdq-near', when: { kind: 'match', algorithm: ['pdq'], maxDistance: 31, minQuality: 50 }, action: 'review' },
      { id: 'pdq-low-quality', when: { kind: 'match', algorithm: ['pdq'] }, action: 'drop' },
    ],
    ...over,
  });
}

/** A manual clock. */
export class FakeClock {
  constructor(public nowMs: number = T0) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}
