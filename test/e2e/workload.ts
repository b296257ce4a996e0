// The content workload of the end-to-end test: which file each event references, through which
// channel, by which uploader, and what must become of it. Seeded, so a failure reproduces.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../support/random';
import type { MediaFile } from './media-library';
import { modelOutcome, type BankSpec, type ModelOutcome } from './model';

/** How an event enters ingest. */
export type EntryChannel = 'http' | 'kafka';

/** What must become of one content event. */
export type Expectation =
  /** Refused by the HTTP gateway with this status and code (never published). */
  | { kind: 'http_refused'; status: number; code: string }
  /** Refused by ingest's Kafka input: dead-lettered on the input's DLQ with this reason. */
  | { kind: 'ingest_dlq'; code: string }
  /** A resubmission of an accepted content id: 200 duplicate (HTTP) or dropped (Kafka). */
  | { kind: 'duplicate'; of: string }
  /** Accepted, then refused by the hasher: dead-lettered with this reason. */
  | { kind: 'hasher_dlq'; code: string }
  /** Accepted and hashed; matched (or not) as the model says. */
  | { kind: 'hashed'; file: MediaFile; outcome: ModelOutcome };

/** One content event. */
export interface ContentEvent {
  contentId: string;
  uploaderAccountId: string;
  channel: EntryChannel;
  /** The HTTP body (`POST /v1/content`), or the media of the Kafka record. */
  media: { uri?: string | null; inlineBase64?: string | null; inlineBytes?: Buffer | null };
  /** A raw HTTP body overriding the normal one (malformed requests). */
  rawBody?: string;
  expect: Expectation;
}

/** The banks of the workload, built from the library's hashes. */
export interface WorkloadBanks {
  banks: BankSpec[];
}

const byId = (files: readonly MediaFile[], id: string): MediaFile => {
  const f = files.find((x) => x.id === id);
  if (!f) throw new Error(`no library file ${id}`);
  return f;
};

/**
 * The indicator lists, from hashes of benign reference images (never real indicators):
 * - `e2e-known` (block, eu_centre: authority-verified): MD5 and SHA-256 of 4 files, so their
 *   exact copies are reported directly;
 * - `e2e-verified-pdq` (block, eu_centre): PDQ of one photograph, so its near-duplicates are
 *   BLOCK decisions that still go to review (policy: only exact hashes report directly);
 * - `e2e-review` (review, platform): PDQ of 4 photographs, near-duplicates go to review;
 * - `e2e-allow` (allow, platform): PDQ of a photograph that is also on the review list (a known
 *   benign collision: its family must be suppressed) and of one on no list.
 */
export function workloadBanks(files: readonly MediaFile[]): BankSpec[] {
  const h = (id: string) => byId(files, id).hashes!;
  const exact = ['orig/reg-test-input/labelme-subset/q0003.jpg', 'orig/misc-images/small.jpg', 'var/flip/reg-test-input/labelme-subset/q1050.jpg', 'var/resize50/reg-test-input/pen-and-coaster.png'];
  return [
    {
      name: 'e2e-known',
      kind: 'block',
      source: 'eu_centre',
      threshold: 31,
      entries: exact.flatMap((id, i) => [
        { entryId: `k${i}-md5`, algorithm: 'md5' as const, hash: h(id).md5 },
        { entryId: `k${i}-sha256`, algorithm: 'sha256' as const, hash: h(id).sha256 },
      ]),
    },
    { name: 'e2e-verified-pdq', kind: 'block', source: 'eu_centre', threshold: 31, entries: [{ entryId: 'vp-q2821', algorithm: 'pdq', hash: h('orig/reg-test-input/labelme-subset/q2821.jpg').pdq }] },
    {
      name: 'e2e-review',
      kind: 'review',
      source: 'platform',
      threshold: 31,
      entries: [
        { entryId: 'r-wee', algorithm: 'pdq', hash: h('orig/misc-images/wee.jpg').pdq },
        { entryId: 'r-q0746', algorithm: 'pdq', hash: h('orig/reg-test-input/labelme-subset/q0746.jpg').pdq },
        { entryId: 'r-pen', algorithm: 'pdq', hash: h('orig/reg-test-input/pen-and-coaster.png').pdq },
        { entryId: 'r-c', algorithm: 'pdq', hash: h('orig/misc-images/c.png').pdq },
      ],
    },
    {
      name: 'e2e-allow',
      kind: 'allow',
      source: 'platform',
      threshold: 31,
      entries: [
        { entryId: 'a-c', algorithm: 'pdq', hash: h('orig/misc-images/c.png').pdq },
        { entryId: 'a-q0122', algorithm: 'pdq', hash: h('orig/reg-test-input/labelme-subset/q0122.jpg').pdq },
      ],
    },
  ];
}

/** Options of {@link buildWorkload}. */
export interface WorkloadOptions {
  /** Content events in total. Default 2000. */
  events?: number;
  /** Share of accepted events that reference a matching file. Default 0.08. */
  matchedShare?: number;
  seed?: number;
  /** Directory the hasher may read (the library's root): used for "missing file" URIs. */
  mediaRoot: string;
  /** Largest inline media ingest accepts, bytes. Default 512 KiB. */
  inlineMaxBytes?: number;
}

/** The workload, with the files' model outcomes. */
export interface Workload {
  events: ContentEvent[];
  /** Model outcome of every decodable file, by file id. */
  outcomes: Map<string, ModelOutcome>;
}

/**
 * Builds the content events:
 * - ~`matchedShare` of the accepted ones reference files the banks match (direct reports with
 *   one uploader each; reviews grouped 1–3 per uploader so cases hold several contents);
 * - the rest reference files no list matches (or that an allow-list suppresses);
 * - 60 % go through HTTP by URI, 10 % HTTP inline (small files), 30 % the Kafka input;
 * - malformed requests refused by the gateway, malformed records dead-lettered by ingest's Kafka
 *   input, media and references the hasher must dead-letter, and resubmitted content ids.
 */
export function buildWorkload(files: readonly MediaFile[], banks: readonly BankSpec[], options: WorkloadOptions): Workload {
  const rnd = seededRandom(options.seed ?? 20261128);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const total = options.events ?? 2000;
  const inlineMax = options.inlineMaxBytes ?? 512 * 1024;
  const outcomes = new Map<string, ModelOutcome>();
  for (const f of files) if (f.hashes) outcomes.set(f.id, modelOutcome(f.hashes, banks));
  const valid = files.filter((f) => f.hashes);
  const report = valid.filter((f) => outcomes.get(f.id)!.policy === 'report');
  const review = valid.filter((f) => outcomes.get(f.id)!.policy === 'review');
  const quiet = valid.filter((f) => outcomes.get(f.id)!.policy === 'none');
  if (report.length === 0 || review.length === 0 || quiet.length === 0) throw new Error('the banks must yield direct reports, reviews and unmatched files');

  const events: ContentEvent[] = [];
  let n = 0;
  const nextId = (tag: string) => `c-${tag}-${String(n++).padStart(5, '0')}`;
  const channelOf = (): EntryChannel => (rnd() < 0.3 ? 'kafka' : 'http');
  const mediaOf = (f: MediaFile, channel: EntryChannel): ContentEvent['media'] => {
    if (f.sizeBytes > 0 && f.sizeBytes <= inlineMax && rnd() < 0.12) {
      const bytes = readFileSync(f.path);
      return channel === 'http' ? { inlineBase64: bytes.toString('base64') } : { inlineBytes: bytes };
    }
    return { uri: f.uri };
  };
  const hashed = (f: MediaFile, uploader: string, tag: string): ContentEvent => {
    const channel = channelOf();
    return { contentId: nextId(tag), uploaderAccountId: uploader, channel, media: mediaOf(f, channel), expect: { kind: 'hashed', file: f, outcome: outcomes.get(f.id)! } };
  };

  // Refused by the HTTP gateway (never published).
  const http = (contentId: string, media: ContentEvent['media'], status: number, code: string, rawBody?: string): ContentEvent => ({
    contentId,
    uploaderAccountId: 'u-x',
    channel: 'http',
    media,
    ...(rawBody ? { rawBody } : {}),
    expect: { kind: 'http_refused', status, code },
  });
  const someUri = pick(quiet).uri;
  for (let i = 0; i < 2; i++) {
    events.push(
      http(nextId('bad-uri'), { uri: 'not a uri' }, 400, 'uri_invalid'),
      http(nextId('bad-scheme'), { uri: 'ftp://media.example/x.jpg' }, 400, 'uri_scheme_not_allowed'),
      http(nextId('bad-cred'), { uri: 'https://user:secret@media.example/x.jpg' }, 400, 'uri_has_credentials'),
      http(nextId('no-media'), {}, 400, 'media_reference_missing'),
      http(nextId('two-media'), { uri: someUri, inlineBase64: Buffer.from('x').toString('base64') }, 400, 'media_reference_ambiguous'),
      http(nextId('bad-b64'), { inlineBase64: '***not base64***' }, 400, 'invalid_request'),
      http(`${nextId('bad-id')}\u0007`, { uri: someUri }, 400, 'id_invalid'),
      http(nextId('bad-json'), {}, 400, 'invalid_json', '{"contentId": "c-1", "media": '),
    );
  }
  // Refused by ingest's Kafka input (dead-lettered with the reason).
  for (let i = 0; i < 2; i++) {
    const k = (tag: string, media: ContentEvent['media'], code: string): ContentEvent => ({ contentId: nextId(tag), uploaderAccountId: 'u-x', channel: 'kafka', media, expect: { kind: 'ingest_dlq', code } });
    events.push(
      k('kbad-scheme', { uri: 'gopher://media.example/x.jpg' }, 'uri_scheme_not_allowed'),
      k('kbad-cred', { uri: 'https://user:secret@media.example/x.jpg' }, 'uri_has_credentials'),
      k('kno-media', {}, 'media_reference_missing'),
      k('kbad-uri', { uri: '/relative/x.jpg' }, 'uri_invalid'),
    );
  }
  // Accepted by ingest, refused by the hasher.
  for (const f of files.filter((x) => x.kind === 'malformed')) {
    for (let i = 0; i < 3; i++) {
      const channel = channelOf();
      const media = f.sizeBytes > 0 && f.sizeBytes <= inlineMax && i === 2 ? (channel === 'http' ? { inlineBase64: readFileSync(f.path).toString('base64') } : { inlineBytes: readFileSync(f.path) }) : { uri: f.uri };
      events.push({ contentId: nextId('bad-media'), uploaderAccountId: `u-x`, channel, media, expect: { kind: 'hasher_dlq', code: f.refusal! } });
    }
  }
  const refusedRefs: Array<[string, string]> = [
    [pathToFileURL(join(options.mediaRoot, 'missing', 'nowhere.jpg')).href, 'fetch_not_found'],
    ['file:///etc/hostname', 'fetch_refused'],
    ['http://169.254.169.254/latest/meta-data/image.jpg', 'fetch_refused'],
    ['http://10.0.0.1/media/image.jpg', 'fetch_refused'],
  ];
  for (const [uri, code] of refusedRefs) {
    for (let i = 0; i < 2; i++) events.push({ contentId: nextId('bad-ref'), uploaderAccountId: 'u-x', channel: channelOf(), media: { uri }, expect: { kind: 'hasher_dlq', code } });
  }

  // Duplicates are added at the end; the rest are hashed.
  const duplicates = Math.max(4, Math.round(total * 0.01));
  const remaining = total - events.length - duplicates;
  const matched = Math.round(remaining * (options.matchedShare ?? 0.08));
  const reports = Math.max(6, Math.round(matched * 0.25));
  for (let i = 0; i < reports; i++) events.push(hashed(pick(report), `u-report-${i}`, 'rep'));
  let group = 0;
  for (let left = matched - reports; left > 0; group++) {
    const size = Math.min(left, 1 + Math.floor(rnd() * 3));
    for (let j = 0; j < size; j++) events.push(hashed(pick(review), `u-review-${group}`, 'rev'));
    left -= size;
  }
  while (events.length < total - duplicates) events.push(hashed(pick(quiet), `u-${Math.floor(rnd() * 400)}`, 'ok'));

  // Resubmissions of accepted content ids, through the same channel as the original.
  const accepted = events.filter((e) => e.expect.kind === 'hashed');
  for (let i = 0; i < duplicates; i++) {
    const of = pick(accepted);
    events.push({ ...of, expect: { kind: 'duplicate', of: of.contentId } });
  }
  return { events: shuffleKeepingDuplicatesLast(events, rnd), outcomes };
}

/** Shuffles the events, keeping each resubmission after its original (they go last). */
function shuffleKeepingDuplicatesLast(events: ContentEvent[], rnd: () => number): ContentEvent[] {
  const first = events.filter((e) => e.expect.kind !== 'duplicate');
  const dups = events.filter((e) => e.expect.kind === 'duplicate');
  for (let i = first.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [first[i], first[j]] = [first[j]!, first[i]!];
  }
  return [...first, ...dups];
}

/** A fresh event id for a Kafka input record. */
export function platformEventId(): string {
  return randomUUID();
}
