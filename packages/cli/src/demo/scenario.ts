import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BankKind } from '@safeguard/domain/matching';
import { hashMedia } from '@safeguard/hashing';
import { parseDeadLetterHeaders, type TopicBinding } from '@safeguard/kafka';
import { verifyEuReportBytes } from '@safeguard/reporting';
import { topics, type GroomingAlert, type MatchFound } from '@safeguard/schemas';
import sharp from 'sharp';
import { importBank } from '../commands/bank';
import { DEMO_KEYS, type DemoPipeline } from './pipeline';

/** One upload of the demo: a file under the media root, or a deliberately bad reference. */
export interface DemoUpload {
  contentId: string;
  uploaderAccountId: string;
  /** File name under the media root, or undefined for a bad reference. */
  file?: string;
  /** A URI to submit instead of the file (refused by ingest). */
  uri?: string;
  /** What the demo shows this upload for. */
  note: string;
}

/** One indicator list of the demo. */
export interface DemoBank {
  name: string;
  kind: BankKind;
  source: string;
  /** Files whose hashes become entries, with the algorithm used. */
  entries: Array<{ entryId: string; file: string; algorithm: 'pdq' | 'sha256' | 'md5' }>;
}

/** A conversation line of examples/demo/conversations.jsonl. */
export interface DemoConversation {
  conversationId: string;
  language?: string;
  participants: Array<{ id: string; declaredAge?: number }>;
  messages: Array<{ id: string; senderId: string; sentAtMs: number; text: string }>;
}

/** Where the sample data lives in the repository. */
export interface DemoSources {
  /** test/fixtures/pdq-vectors/images */
  vectorImages: string;
  /** examples/demo/conversations.jsonl */
  conversationsFile: string;
}

const V = (p: string): string => p; // readability: a path under the vector images

/** The benign vector images the demo copies into its media folder (flat names). */
export const DEMO_SOURCE_IMAGES: Record<string, string> = {
  'bridge.jpg': V('bridge-mods/aaa-orig.jpg'),
  'bridge-blur.jpg': V('bridge-mods/blur-a-lot.jpg'),
  'bridge-contrast.jpg': V('bridge-mods/high-contrast.jpg'),
  'bridge-sharpen.jpg': V('bridge-mods/sharpen-a-lot.jpg'),
  'bridge-shrunk.jpg': V('bridge-mods/shrink-a-lot.jpg'),
  'bridge-square.jpg': V('bridge-mods/square-256x256.jpg'),
  'bridge-rotated.jpg': V('reg-test-input/dih/bridge-2-rotate-90.jpg'),
  'bridge-mirrored.jpg': V('reg-test-input/dih/bridge-6-flipy.jpg'),
  'scene-0003.jpg': V('reg-test-input/labelme-subset/q0003.jpg'),
  'scene-0004.jpg': V('reg-test-input/labelme-subset/q0004.jpg'),
  'scene-0122.jpg': V('reg-test-input/labelme-subset/q0122.jpg'),
  'scene-0291.jpg': V('reg-test-input/labelme-subset/q0291.jpg'),
  'scene-0746.jpg': V('reg-test-input/labelme-subset/q0746.jpg'),
  'scene-1050.jpg': V('reg-test-input/labelme-subset/q1050.jpg'),
  'scene-2821.jpg': V('reg-test-input/labelme-subset/q2821.jpg'),
  'pattern.png': V('misc-images/c.png'),
  'pen.png': V('reg-test-input/pen-and-coaster.png'),
  'wee.jpg': V('misc-images/wee.jpg'),
};

/** Indicator lists: a verified block list, a platform review list, an allow-list. */
export const DEMO_BANKS: DemoBank[] = [
  {
    name: 'demo-known',
    kind: 'block',
    source: 'eu_centre',
    entries: [
      { entryId: 'K-0001', file: 'bridge.jpg', algorithm: 'pdq' },
      { entryId: 'K-0002', file: 'scene-0746.jpg', algorithm: 'sha256' },
      { entryId: 'K-0003', file: 'pattern.png', algorithm: 'pdq' },
    ],
  },
  {
    name: 'demo-review',
    kind: 'review',
    source: 'platform',
    entries: [
      { entryId: 'R-0001', file: 'scene-1050.jpg', algorithm: 'pdq' },
      { entryId: 'R-0002', file: 'scene-2821.jpg', algorithm: 'pdq' },
    ],
  },
  { name: 'demo-allow', kind: 'allow', source: 'platform', entries: [{ entryId: 'A-0001', file: 'scene-2821.jpg', algorithm: 'pdq' }] },
];

/** The uploads: matches, near-duplicates, allow-listed, unrelated and malformed. */
export const DEMO_UPLOADS: DemoUpload[] = [
  { contentId: 'up-001', uploaderAccountId: 'acct-a1', file: 'bridge-blur.jpg', note: 'edited copy of a listed image' },
  { contentId: 'up-002', uploaderAccountId: 'acct-a1', file: 'bridge-contrast.jpg', note: 'edited copy of a listed image' },
  { contentId: 'up-003', uploaderAccountId: 'acct-a1', file: 'bridge-sharpen.jpg', note: 'edited copy of a listed image' },
  { contentId: 'up-004', uploaderAccountId: 'acct-a1', file: 'bridge-recompressed.jpg', note: 're-encoded copy (made by the demo)' },
  { contentId: 'up-005', uploaderAccountId: 'acct-a2', file: 'bridge-shrunk.jpg', note: 'shrunk copy' },
  { contentId: 'up-006', uploaderAccountId: 'acct-a2', file: 'bridge-square.jpg', note: 'squashed to a square' },
  { contentId: 'up-007', uploaderAccountId: 'acct-a2', file: 'bridge-rotated.jpg', note: 'rotated 90 degrees (matched through dihedral hashes)' },
  { contentId: 'up-008', uploaderAccountId: 'acct-a3', file: 'bridge-mirrored.jpg', note: 'mirrored (matched through dihedral hashes)' },
  { contentId: 'up-009', uploaderAccountId: 'acct-b1', file: 'scene-0746-copy.jpg', note: 'byte-identical copy: exact SHA-256 match, reported by policy' },
  { contentId: 'up-010', uploaderAccountId: 'acct-b2', file: 'pattern-flipped.png', note: 'flipped copy (made by the demo)' },
  { contentId: 'up-011', uploaderAccountId: 'acct-c1', file: 'scene-1050.jpg', note: 'on the platform review list (the demo reviewer calls it a false positive)' },
  { contentId: 'up-012', uploaderAccountId: 'acct-c2', file: 'scene-2821.jpg', note: 'on the review list and the allow-list: suppressed' },
  { contentId: 'up-013', uploaderAccountId: 'acct-d1', file: 'scene-0003.jpg', note: 'unrelated' },
  { contentId: 'up-014', uploaderAccountId: 'acct-d1', file: 'scene-0004.jpg', note: 'unrelated' },
  { contentId: 'up-015', uploaderAccountId: 'acct-d2', file: 'scene-0122.jpg', note: 'unrelated' },
  { contentId: 'up-016', uploaderAccountId: 'acct-d2', file: 'scene-0291.jpg', note: 'unrelated' },
  { contentId: 'up-017', uploaderAccountId: 'acct-d3', file: 'pen.png', note: 'unrelated' },
  { contentId: 'up-018', uploaderAccountId: 'acct-d3', file: 'wee.jpg', note: 'unrelated' },
  { contentId: 'up-019', uploaderAccountId: 'acct-e1', file: 'notes.jpg', note: 'a text file named .jpg: dead-lettered by the hasher' },
  { contentId: 'up-020', uploaderAccountId: 'acct-e1', uri: 'ftp://files.example/x.jpg', note: 'unsupported URI scheme: refused by ingest' },
  { contentId: 'up-001', uploaderAccountId: 'acct-a1', file: 'bridge-blur.jpg', note: 'the same upload sent twice: de-duplicated by ingest' },
];

/** Copies the sample images into `mediaRoot` and makes the demo's own variants. */
export async function prepareMedia(sources: DemoSources, mediaRoot: string): Promise<string[]> {
  mkdirSync(mediaRoot, { recursive: true });
  for (const [name, rel] of Object.entries(DEMO_SOURCE_IMAGES)) copyFileSync(join(sources.vectorImages, rel), join(mediaRoot, name));
  const bridge = join(mediaRoot, 'bridge.jpg');
  await sharp(bridge).jpeg({ quality: 35 }).toFile(join(mediaRoot, 'bridge-recompressed.jpg'));
  await sharp(join(mediaRoot, 'pattern.png')).flop().png().toFile(join(mediaRoot, 'pattern-flipped.png'));
  copyFileSync(join(mediaRoot, 'scene-0746.jpg'), join(mediaRoot, 'scene-0746-copy.jpg'));
  writeFileSync(join(mediaRoot, 'notes.jpg'), 'shopping list: milk, bread, apples\n');
  return [...Object.keys(DEMO_SOURCE_IMAGES), 'bridge-recompressed.jpg', 'pattern-flipped.png', 'scene-0746-copy.jpg', 'notes.jpg'];
}

/** Hashes the bank images and writes one CSV per bank into `outDir` (the files that are imported). */
export async function writeBankFiles(mediaRoot: string, outDir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const bank of DEMO_BANKS) {
    const lines = ['entry_id,algorithm,hash,labels'];
    for (const e of bank.entries) {
      const result = await hashMedia(readFileSync(join(mediaRoot, e.file)));
      if (result.kind !== 'image') throw new Error(`${e.file} is not an image`);
      const hash = e.algorithm === 'pdq' ? result.pdq : e.algorithm === 'sha256' ? result.sha256 : result.md5;
      lines.push(`${e.entryId},${e.algorithm},${hash},demo`);
    }
    const path = join(outDir, `bank-${bank.name}.csv`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    files.set(bank.name, path);
  }
  return files;
}

/** Imports the demo banks through the same code as `safeguard bank import`. */
export async function importBanks(pipeline: DemoPipeline, bankFiles: Map<string, string>): Promise<Array<{ bank: string; entries: number }>> {
  const ctx = { transport: pipeline.transport, indicatorTopic: topics.indicatorUpdated.topic, feedbackTopic: topics.indicatorFeedback.topic, timeoutMs: 15_000 };
  const out: Array<{ bank: string; entries: number }> = [];
  for (const bank of DEMO_BANKS) {
    const outcome = await importBank(ctx, {
      bank: bank.name,
      kind: bank.kind,
      source: bank.source,
      pdqThreshold: 31,
      format: 'csv',
      content: readFileSync(bankFiles.get(bank.name)!),
      requireSignature: false,
      changeSettings: true,
      dryRun: false,
      updatedBy: 'demo',
    });
    if (!outcome.ok) throw new Error(`bank ${bank.name} refused: ${outcome.errors.map((e) => `${e.line}: ${e.code}`).join(', ')}`);
    out.push({ bank: bank.name, entries: outcome.entries });
  }
  return out;
}

async function post(url: string, key: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function get(url: string, key: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** What ingest answered for one upload. */
export interface UploadOutcome {
  upload: DemoUpload;
  status: number;
  result: string;
}

/** Submits every upload through the ingest HTTP API (file:// URIs into the media root). */
export async function submitUploads(pipeline: DemoPipeline, mediaRoot: string, onEach: () => void): Promise<UploadOutcome[]> {
  const out: UploadOutcome[] = [];
  for (const u of DEMO_UPLOADS) {
    const uri = u.uri ?? `file://${join(mediaRoot, u.file!)}`;
    const res = await post(`${pipeline.ingestUrl}/v1/content`, DEMO_KEYS.platform, {
      contentId: u.contentId,
      uploaderAccountId: u.uploaderAccountId,
      contentKind: 'IMAGE',
      media: { uri },
      uploadContext: { uploadedAtMs: Date.now(), ipAddress: '192.0.2.44', countryCode: 'NL', publiclyAvailable: false },
    });
    const error = res.json.error as { code?: string } | undefined;
    out.push({ upload: u, status: res.status, result: error?.code ?? String(res.json.status) });
    onEach();
  }
  return out;
}

/** Reads the demo conversations. */
export function readConversations(file: string): DemoConversation[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DemoConversation);
}

/** Submits every message of every conversation through the ingest HTTP API, in order. */
export async function submitConversations(pipeline: DemoPipeline, conversations: DemoConversation[], onEach: () => void): Promise<number> {
  let sent = 0;
  for (const c of conversations) {
    const participants = c.participants.map((p) => ({ accountId: p.id, ...(p.declaredAge !== undefined ? { declaredAge: p.declaredAge } : {}) }));
    for (const m of c.messages) {
      const res = await post(`${pipeline.ingestUrl}/v1/messages`, DEMO_KEYS.platform, {
        conversationId: c.conversationId,
        messageId: m.id,
        senderId: m.senderId,
        recipientIds: c.participants.map((p) => p.id).filter((id) => id !== m.senderId),
        text: m.text,
        ...(c.language ? { language: c.language } : {}),
        participants,
        sentAtMs: m.sentAtMs,
      });
      if (res.status !== 202 && res.status !== 200) throw new Error(`message refused: HTTP ${res.status}`);
      sent++;
      onEach();
    }
  }
  return sent;
}

/** Reads every record of a topic (the pipeline's own topics) from the start. */
export async function readTopic<V>(pipeline: DemoPipeline, binding: TopicBinding<V>): Promise<V[]> {
  const values: V[] = [];
  const reader = await pipeline.transport.reader({ binding, handle: (m) => void (m.value !== null && values.push(m.value)) });
  await reader.caughtUp();
  await reader.stop();
  return values;
}

/** Dead letters of a topic: reason code and source offset. */
export function deadLetters(pipeline: DemoPipeline, topic: string): Array<{ reason: string; key: string | null }> {
  const dlq = `${topic}.dlq`;
  if (!pipeline.broker.hasTopic(dlq)) return [];
  const out: Array<{ reason: string; key: string | null }> = [];
  for (let p = 0; p < pipeline.broker.partitionCount(dlq); p++) {
    for (const r of pipeline.broker.read(dlq, p, 0, 10_000)) {
      out.push({ reason: parseDeadLetterHeaders(r.headers)?.reason ?? 'unknown', key: r.key?.toString('utf8') ?? null });
    }
  }
  return out;
}

/** One review decision the demo reviewer took. */
export interface DemoDecision {
  caseId: string;
  kind: string;
  outcome: 'confirm' | 'false_positive';
  why: string;
}

/**
 * Plays the human reviewer through the review API: claims each pending case and confirms it,
 * except cases whose only evidence is the platform's own review list, which it marks as false
 * positives and proposes for the allow-list (feedback to the list). A real deployment has
 * people here; grooming cases are never reported without this step.
 */
export async function reviewCases(pipeline: DemoPipeline): Promise<DemoDecision[]> {
  const decisions: DemoDecision[] = [];
  for (;;) {
    const res = await fetch(`${pipeline.reviewUrl}/v1/cases/claim-next`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_KEYS.reviewer}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (res.status === 204) break;
    if (!res.ok) throw new Error(`claim-next: HTTP ${res.status}`);
    const claimed = (await res.json()) as { case?: { caseId: string } };
    const caseId = claimed.case?.caseId;
    if (!caseId) throw new Error('claim-next answered without a case');
    // What a reviewer reads before deciding: evidence references, hashes, provenance, scores.
    const detail = (await get(`${pipeline.reviewUrl}/v1/cases/${encodeURIComponent(caseId)}`, DEMO_KEYS.reviewer)).case as Record<string, unknown>;
    const evidence = detail.evidence as Array<{ type: string; matches?: Array<{ bank: { name: string } }> }>;
    const banks = new Set(evidence.flatMap((e) => (e.matches ?? []).map((m) => m.bank.name)));
    const onlyReviewList = banks.size > 0 && [...banks].every((b) => b === 'demo-review');
    const body = onlyReviewList
      ? { outcome: 'false_positive', reasonCode: 'benign_collision', action: 'propose_allow_list' }
      : { outcome: 'confirm', reasonCode: 'demo_confirmed', industryClassification: 'B2' };
    const decided = await post(`${pipeline.reviewUrl}/v1/cases/${encodeURIComponent(caseId)}/decision`, DEMO_KEYS.reviewer, body);
    if (decided.status >= 300) throw new Error(`decision on ${caseId}: HTTP ${decided.status} ${JSON.stringify(decided.json)}`);
    decisions.push({
      caseId,
      kind: String(detail.kind),
      outcome: body.outcome as DemoDecision['outcome'],
      why: onlyReviewList ? 'only the platform review list matched: benign collision, proposed for the allow-list' : 'confirmed by the demo reviewer',
    });
  }
  return decisions;
}

/** Writes what the simulators received into `reportsDir`; returns file names and EU signature checks. */
export function writeReports(pipeline: DemoPipeline, reportsDir: string): { files: string[]; euVerified: number; euTotal: number; ncmecFinished: number } {
  mkdirSync(reportsDir, { recursive: true });
  const files: string[] = [];
  let ncmecFinished = 0;
  for (const [reportId, r] of pipeline.ncmec.reports) {
    const name = `ncmec-${reportId}.xml`;
    writeFileSync(join(reportsDir, name), r.xml);
    files.push(name);
    if (r.state === 'finished') ncmecFinished++;
  }
  let euVerified = 0;
  for (const [key, r] of pipeline.euCentre.accepted) {
    const name = `eu-${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
    writeFileSync(join(reportsDir, name), r.body);
    files.push(name);
    if (verifyEuReportBytes(r.body, pipeline.publicKey).ok) euVerified++;
  }
  return { files, euVerified, euTotal: pipeline.euCentre.accepted.size, ncmecFinished };
}

/** Short human text for a match event. */
export function describeMatch(m: MatchFound, uploads: Map<string, DemoUpload>): string {
  const u = uploads.get(m.contentId);
  const best = [...m.matches].sort((a, b) => a.distance - b.distance)[0]!;
  const variant = best.queryVariant ? ` via ${best.queryVariant}` : '';
  return `${m.contentId} ${u?.file ?? ''} → ${best.bank.name}/${best.entryId} (${best.algorithm}${variant}, distance ${best.distance}) ${m.decision}${m.suppressedCount ? `, ${m.suppressedCount} suppressed` : ''}`;
}

/** Short human text for a grooming alert. */
export function describeAlert(a: GroomingAlert): string {
  const signals = a.signals.map((s) => s.kind).join(', ');
  return `${a.conversationId}: score ${a.score.toFixed(2)}, stage ${a.stage}, after ${a.messagesAnalyzed} messages; signals ${signals}; evidence ${a.evidenceMessageIds.length} message ids`;
}

export { basename };
