// Shared test setup: benign, synthetic data only. Hashes are those of the benign PDQ reference
// images in the repository's test/fixtures/pdq-vectors (a bridge photograph); ids are made up; nothing leaves
// 127.0.0.1 (the authority simulators).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GroomingAlert, MatchDetail, MatchFound } from '@safeguard/schemas';
import { pdqVectorImage } from '@safeguard/testkit';

/** SHA-256 of shared/pdq-vectors/images/bridge-mods/aaa-orig.jpg. */
export const BRIDGE_SHA256 = 'b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298';
/** PDQ of the same image. */
export const BRIDGE_PDQ = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
/** PDQ of shared/pdq-vectors/images/misc-images/wee.jpg (stands in for an indicator entry's own hash). */
export const WEE_PDQ = '6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d';
export const BRIDGE_IMAGE = pdqVectorImage('bridge-mods/aaa-orig.jpg');

/** Review API keys of the tests (synthetic, 32+ characters). */
export const KEYS = {
  reviewer: 'reviewer-key-'.padEnd(32, 'r'),
  reviewer2: 'second-reviewer-key-'.padEnd(32, 's'),
  admin: 'admin-key-'.padEnd(32, 'a'),
  platform: 'platform-key-'.padEnd(32, 'p'),
};

/** `REPORTER_API_KEYS` for {@link KEYS}; the admin's is given hashed, as at rest. */
export function apiKeysEnv(hash: (k: string) => string): string {
  return [`rev-1:reviewer:${KEYS.reviewer}`, `rev-2:reviewer:${KEYS.reviewer2}`, `adm-1:admin:sha256:${hash(KEYS.admin)}`, `plat-1:platform:${KEYS.platform}`].join(',');
}

export const POLICY = {
  version: 1,
  defaultDestinations: ['eu_centre', 'ncmec'],
  rules: [
    { id: 'exact-verified', when: { kind: 'match', bankKind: ['block'], bankVerified: true, algorithm: ['sha256', 'md5'], maxDistance: 0 }, action: 'report', industryClassification: 'B2' },
    { id: 'pdq-near', when: { kind: 'match', algorithm: ['pdq'], maxDistance: 31, minQuality: 50 }, action: 'review' },
    { id: 'pdq-low-quality', when: { kind: 'match', algorithm: ['pdq'] }, action: 'drop' },
  ],
};

export const PROVIDER = {
  name: 'Example Platform B.V. (test)',
  legalEntityId: 'EUID-TEST-0001',
  country: 'NL',
  contactEmail: 'trust-safety@example.org',
  service: 'Example Photos',
  ncmec: {
    reportingPerson: { firstName: 'Test', lastName: 'Reporter', email: 'reporter@example.org' },
    companyTemplate: 'Synthetic test report. Legal process: legal@example.org.',
  },
};

/** A temporary directory with the policy, provider profile, signing key and a media root holding one benign image. */
export interface Workspace {
  dir: string;
  policyFile: string;
  providerFile: string;
  keyFile: string;
  publicKey: KeyObject;
  mediaRoot: string;
  /** file:// URI of the benign image under the media root. */
  mediaUri: string;
  storePath: string;
  remove(): void;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'sg-reporter-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyFile = join(dir, 'signing-key.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICY));
  const providerFile = join(dir, 'provider.json');
  writeFileSync(providerFile, JSON.stringify(PROVIDER));
  const mediaRoot = join(dir, 'media');
  mkdirSync(mediaRoot);
  copyFileSync(BRIDGE_IMAGE, join(mediaRoot, 'bridge.jpg'));
  return {
    dir,
    policyFile,
    providerFile,
    keyFile,
    publicKey,
    mediaRoot,
    mediaUri: `file://${join(mediaRoot, 'bridge.jpg')}`,
    storePath: join(dir, 'reporting.db'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let n = 0;

/** One match detail. */
export function detail(over: Partial<MatchDetail> = {}): MatchDetail {
  return {
    bank: { name: 'eu-indicators', kind: 'BLOCK', source: 'eu_centre', listVersion: 'v7' },
    entryId: 'e-100',
    entryLabels: [],
    algorithm: 'sha256',
    distance: 0,
    threshold: 0,
    queryHash: BRIDGE_SHA256,
    queryQuality: null,
    queryVariant: null,
    frameTimestampMs: null,
    entryHash: BRIDGE_SHA256,
    ...over,
  };
}

/** A matcher result (v2 shape). */
export function matchFound(over: Partial<MatchFound> = {}): MatchFound {
  n++;
  return {
    matchId: `mf-${n}`,
    hashedEventId: `he-${n}`,
    platformId: 'plat-1',
    contentId: `content-${n}`,
    uploaderAccountId: `acct-${n}`,
    mediaUri: null,
    decision: 'BLOCK',
    matches: [detail()],
    suppressedCount: 0,
    uploadContext: null,
    matchedAtMs: Date.now(),
    ...over,
  };
}

/** A PDQ near match on a review list (goes to human review). */
export function pdqMatch(over: Partial<MatchFound> = {}): MatchFound {
  return matchFound({
    decision: 'REVIEW',
    matches: [
      detail({
        bank: { name: 'platform-review', kind: 'REVIEW', source: 'platform', listVersion: '2026-01' },
        entryId: 'p-7',
        algorithm: 'pdq',
        distance: 12,
        threshold: 31,
        queryHash: BRIDGE_PDQ,
        queryQuality: 100,
        entryHash: WEE_PDQ,
      }),
    ],
    ...over,
  });
}

/** A synthetic grooming alert: ids, scores and signals only (no text exists anywhere). */
export function groomingAlert(over: Partial<GroomingAlert> = {}): GroomingAlert {
  n++;
  return {
    alertId: `ga-${n}`,
    platformId: 'plat-1',
    conversationId: `conv-${n}`,
    suspectedAccountId: 'acct-adult',
    participantIds: ['acct-adult', 'acct-minor'],
    score: 0.91,
    threshold: 0.8,
    stage: 'EXCLUSIVITY',
    signals: [
      { kind: 'age_probing', weight: 0.3, count: 2, messageIds: ['msg-3', 'msg-5'] },
      { kind: 'secrecy_request', weight: 0.4, count: 1, messageIds: ['msg-9'] },
    ],
    evidenceMessageIds: ['msg-3', 'msg-5', 'msg-9'],
    messagesAnalyzed: 12,
    minorInvolved: true,
    detectorVersion: 'grooming-test-1',
    firstMessageAtMs: Date.now() - 60_000,
    raisedAtMs: Date.now(),
    ...over,
  };
}
