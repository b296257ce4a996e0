// Shared test setup: benign, synthetic data only. Hashes are those of the benign PDQ reference
// images in the repository's test/fixtures/pdq-vectors (a bridge photograph); ids are made up; nothing leaves
// 127.0.0.1 (the authority simulators).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport, type Transport } from '@safeguard/kafka';
import { EuCentreSimulator, NcmecSimulator } from '@safeguard/reporting/sim';
import { renameTopic, type EventTopic, type GroomingAlert, type MatchDetail, type MatchFound } from '@safeguard/schemas';
import { hashApiKey } from '@safeguard/service-runtime';
import { integrationEnv, pdqVectorImage, uniqueName } from '@safeguard/testkit';

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
export function apiKeysEnv(): string {
  return [`rev-1:reviewer:${KEYS.reviewer}`, `rev-2:reviewer:${KEYS.reviewer2}`, `adm-1:admin:sha256:${hashApiKey(KEYS.admin)}`, `plat-1:platform:${KEYS.platform}`].join(',');
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

/** A test's {@link workspace} and the local authority simulators (127.0.0.1 only), the EU Centre trusting the workspace's key. */
export interface Authorities {
  ws: Workspace;
  ncmec: NcmecSimulator;
  eu: EuCentreSimulator;
}

/** Creates a workspace and starts both simulators. Stop them with {@link stopAuthorities}. */
export async function startAuthorities(): Promise<Authorities> {
  const ws = workspace();
  const ncmec = await NcmecSimulator.start();
  const eu = await EuCentreSimulator.start({ publicKeys: [ws.publicKey] });
  return { ws, ncmec, eu };
}

/** Closes both simulators, then removes the workspace. */
export async function stopAuthorities({ ws, ncmec, eu }: Authorities): Promise<void> {
  await ncmec.close();
  await eu.close();
  ws.remove();
}

/**
 * The reporter variables every test sets: the review API on a free port with {@link KEYS}, the
 * workspace's store, policy, provider profile, signing key and media root, both simulators, and
 * `eu_centre` as the verified source. Transport, ports of other servers and intervals are the test's.
 */
export function reporterEnv({ ws, ncmec, eu }: Authorities): Record<string, string> {
  return {
    REPORTER_HTTP_PORT: '0',
    REPORTER_API_KEYS: apiKeysEnv(),
    REPORTER_STORE_PATH: ws.storePath,
    REPORTER_POLICY_FILE: ws.policyFile,
    REPORTER_PROVIDER_FILE: ws.providerFile,
    REPORTER_SIGNING_KEY_FILE: ws.keyFile,
    REPORTER_NCMEC_URL: ncmec.url,
    REPORTER_NCMEC_USERNAME: ncmec.credentials.username,
    REPORTER_NCMEC_PASSWORD: ncmec.credentials.password,
    REPORTER_EU_CENTRE_URL: eu.url,
    REPORTER_VERIFIED_SOURCES: 'eu_centre',
    REPORTER_MEDIA_ROOT: ws.mediaRoot,
  };
}

/** An answer of the review API: the status and the parsed JSON body (undefined when empty). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked by the assertions
export type ApiAnswer = { status: number; json: any };

/** Calls the review API at `baseUrl` with `Authorization: Bearer <key>` (none without a key) and a JSON body when given. */
export async function callApi(baseUrl: string, method: string, path: string, key: string | undefined, body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/**
 * One integration test's share of the real broker: a topic prefix of its own (also the prefix of
 * the reporter's consumer group), the reporter's Kafka variables for it, and a platform-side client.
 */
export interface BrokerScope {
  /** `<unique name>.` */
  prefix: string;
  /** `KAFKA_BROKERS`, `SCHEMA_REGISTRY_URL` and `SAFEGUARD_TOPIC_PREFIX`. */
  env: Record<string, string>;
  /** A client of the real broker and registry, as a platform (or a reviewer's tool) would use. */
  platform: Transport;
  /** The binding of `binding`'s topic under the prefix. */
  prefixed<V>(binding: EventTopic<V>): EventTopic<V>;
  /** Deletes every topic under the prefix, then closes the client. */
  cleanUp(): Promise<void>;
}

/** A {@link BrokerScope} named after the test (`name` also names the client: `<name>-test`). */
export function brokerScope(name: string): BrokerScope {
  const env = integrationEnv();
  const prefix = `${uniqueName(name)}.`;
  const platform = createTransport({ kind: 'kafka', brokers: env.brokers, clientId: `${name}-test`, schemaRegistryUrl: env.registryUrl });
  return {
    prefix,
    env: { KAFKA_BROKERS: env.brokersCsv, SCHEMA_REGISTRY_URL: env.registryUrl, SAFEGUARD_TOPIC_PREFIX: prefix },
    platform,
    prefixed: (binding) => renameTopic(binding, `${prefix}${binding.topic}`),
    cleanUp: async () => {
      const names = (await platform.admin().listTopics()).filter((t) => t.startsWith(prefix));
      await platform.admin().deleteTopics(names);
      await platform.close();
    },
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
