// What the end-to-end and the fault tests share: the records they submit (HTTP bodies and Kafka
// values of the workload) and the reconciliation of the pipeline's outputs with the reference
// model: every input accounted for, the expected matches, alerts, cases and delivered reports,
// each exactly once by its id; repeats only as identical redeliveries.
import { parseDeadLetterHeaders } from '@safeguard/kafka';
import { SqliteReportingStore, type Case } from '@safeguard/reporting';
import { topics, type ChatMessage, type ContentHashed, type ContentSubmitted, type GroomingAlert, type MatchFound, type ReportEmitted } from '@safeguard/schemas';
import { kcatConsume, waitFor } from '@safeguard/testkit';
import { groupLag, readTopic, topicSize } from '../support/topics';
import type { Pipeline, ServiceName } from '../support/pipeline';
import type { CorpusConversation, ExpectedAlert } from './chat-corpus';
import type { modelOutcome } from './model';
import { platformEventId, type ContentEvent } from './workload';

/** An HTTP answer of ingest as the tests keep it. */
export type Answer = { status: number; body: { status?: string; eventId?: string; error?: { code: string } } | null };

/**
 * The first record per id, and how many records repeated an id already seen. Delivery is
 * at-least-once: a service that re-processes a message after a rebalance or a crash publishes the
 * same result again under the same deterministic id (and consumers de-duplicate on it). "Exactly
 * once" is therefore asserted on ids; repeats are counted and must be exact copies (`same`).
 * @throws when two records share an id but differ.
 */
export function distinctBy<T>(records: readonly T[], id: (r: T) => string, same: (a: T, b: T) => boolean): { distinct: T[]; repeats: number } {
  const first = new Map<string, T>();
  let repeats = 0;
  for (const r of records) {
    const seen = first.get(id(r));
    if (seen === undefined) first.set(id(r), r);
    else {
      repeats++;
      if (!same(seen, r)) throw new Error(`two different records share the id ${id(r)}:\n${JSON.stringify(seen, bigints)}\n${JSON.stringify(r, bigints)}`);
    }
  }
  return { distinct: [...first.values()], repeats };
}

const bigints = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? `<${v.length} bytes>` : v);
/** JSON of a record value without the named (time) fields, for "identical copy" comparisons. */
export function sameExcept<V extends object>(...fields: Array<keyof V>): (a: { value: V | null }, b: { value: V | null }) => boolean {
  const strip = (v: V | null) => JSON.stringify(v === null ? null : { ...v, ...Object.fromEntries(fields.map((f) => [f, 0])) }, bigints);
  return (a, b) => strip(a.value) === strip(b.value);
}

/** The `POST /v1/content` body of an event (the upload context fixed at `uploadedAtMs`). */
export function contentHttpBody(e: ContentEvent, uploadedAtMs: number): unknown {
  return {
    contentId: e.contentId,
    uploaderAccountId: e.uploaderAccountId,
    contentKind: 'IMAGE',
    media: { ...(e.media.uri !== undefined ? { uri: e.media.uri } : {}), ...(e.media.inlineBase64 !== undefined ? { inlineBase64: e.media.inlineBase64 } : {}) },
    uploadContext: { uploadedAtMs, ipAddress: '192.0.2.10', countryCode: 'NL', publiclyAvailable: true },
  };
}

/** The record of an event on ingest's Kafka input (a fresh platform event id). */
export function contentKafkaValue(e: ContentEvent, platformId: string): ContentSubmitted {
  return {
    eventId: platformEventId(),
    platformId,
    contentId: e.contentId,
    uploaderAccountId: e.uploaderAccountId,
    contentKind: 'IMAGE',
    media: { uri: e.media.uri ?? null, inlineBytes: e.media.inlineBytes ?? null, mimeType: null, sizeBytes: null },
    uploadContext: { uploadedAtMs: Date.now(), ipAddress: '198.51.100.7', countryCode: 'DE', publiclyAvailable: false },
    channel: 'kafka',
    submittedAtMs: Date.now(),
  };
}

/** The record of a corpus message on ingest's Kafka input (a fresh platform event id). */
export function chatKafkaValue(c: Pick<CorpusConversation, 'conversationId' | 'participants' | 'language'>, m: CorpusConversation['messages'][number], platformId: string): ChatMessage {
  return {
    eventId: platformEventId(),
    platformId,
    conversationId: c.conversationId,
    messageId: m.id,
    senderId: m.senderId,
    recipientIds: c.participants.map((p) => p.id).filter((id) => id !== m.senderId),
    text: m.text,
    language: c.language ?? null,
    participants: c.participants.map((p) => ({ accountId: p.id, declaredAge: p.declaredAge ?? null, ageBand: 'UNKNOWN', accountCreatedAtMs: null })),
    sentAtMs: m.sentAtMs,
    channel: 'kafka',
  };
}

/** The `POST /v1/messages` body of a corpus message. */
export function chatHttpBody(c: CorpusConversation, m: CorpusConversation['messages'][number]): unknown {
  return {
    conversationId: c.conversationId,
    messageId: m.id,
    senderId: m.senderId,
    recipientIds: c.participants.map((p) => p.id).filter((id) => id !== m.senderId),
    text: m.text,
    language: c.language ?? null,
    participants: c.participants.map((p) => ({ accountId: p.id, ...(p.declaredAge === undefined ? {} : { declaredAge: p.declaredAge }) })),
    sentAtMs: m.sentAtMs,
  };
}

/** The consumer groups and input topics of the pipeline's stages. */
export function stageInputs(pipeline: Pipeline): Array<[ServiceName, string]> {
  return [
    ['ingest', pipeline.topic(topics.platformContentUploaded.topic)],
    ['ingest', pipeline.topic(topics.platformMessageSent.topic)],
    ['hasher', pipeline.topic(topics.contentSubmitted.topic)],
    ['matcher', pipeline.topic(topics.contentHashed.topic)],
    ['grooming', pipeline.topic(topics.chatMessageSent.topic)],
    ['reporter', pipeline.topic(topics.contentMatched.topic)],
    ['reporter', pipeline.topic(topics.conversationFlagged.topic)],
  ];
}

/**
 * Waits until the hasher has hashed or dead-lettered `accepted` distinct submissions (records on
 * its output and dead-letter topics; repeats only make it sooner, the reconciliation checks ids)
 * and then until every stage's consumer group has committed everything on its inputs.
 * @returns seconds until the hasher drained and until every stage caught up.
 */
export async function waitForDrain(pipeline: Pipeline, accepted: number, timeoutMs: number): Promise<{ hasherSeconds: number; allSeconds: number }> {
  const t0 = Date.now();
  const hashedTopic = pipeline.topic(topics.contentHashed.topic);
  const hasherDlq = `${pipeline.topic(topics.contentSubmitted.topic)}.dlq`;
  await waitFor(
    async () => {
      const [h, d] = await Promise.all([topicSize(pipeline.transport(), hashedTopic), topicSize(pipeline.transport(), hasherDlq)]);
      return h + d >= accepted;
    },
    { timeoutMs, intervalMs: 1_000, description: `${accepted} submissions hashed or dead-lettered` },
  );
  const hasherSeconds = (Date.now() - t0) / 1000;
  const stages = stageInputs(pipeline);
  await waitFor(async () => (await Promise.all(stages.map(([s, t]) => groupLag(pipeline.transport(), pipeline.group(s), t)))).every((l) => l === 0), {
    timeoutMs: Math.max(30_000, timeoutMs - (Date.now() - t0)),
    intervalMs: 1_000,
    description: 'every consumer group caught up',
  });
  return { hasherSeconds, allSeconds: (Date.now() - t0) / 1000 };
}

/** What {@link reconcileContent} found. */
export interface ContentLedger {
  published: number;
  hashed: number;
  hasherDeadLettered: number;
  ingestDeadLettered: number;
  matched: number;
  unmatched: number;
  /** Identical repeats (same id) per topic. */
  redelivered: { submitted: number; hashed: number; matched: number };
}

/**
 * Reconciles the content side with the workload's expectations: one ContentSubmitted per accepted
 * event (none for refusals), each through its channel; one ContentHashed per decodable medium with
 * the hashes @safeguard/hashing gives the file; the hasher's and ingest's dead letters with their
 * reasons; exactly the MatchFound records the reference model says (read back by kcat too).
 * `events` are the ones submitted (resubmissions of an accepted id included, as `duplicate`).
 */
export async function reconcileContent(pipeline: Pipeline, events: readonly ContentEvent[]): Promise<ContentLedger> {
  const client = pipeline.transport();
  const accepted = events.filter((e) => e.expect.kind === 'hashed' || e.expect.kind === 'hasher_dlq');
  const hashedExpected = accepted.filter((e) => e.expect.kind === 'hashed');
  const byContent = new Map(events.filter((e) => e.expect.kind !== 'duplicate').map((e) => [e.contentId, e]));

  // Ingest → hasher: one ContentSubmitted per accepted event, none for refusals or duplicates.
  const submittedTopic = pipeline.topic(topics.contentSubmitted.topic);
  const submittedRaw = await readTopic<ContentSubmitted>(client, topics.contentSubmitted, submittedTopic);
  const { distinct: submitted, repeats: submittedRepeats } = distinctBy(submittedRaw, (m) => m.value!.eventId, sameExcept<ContentSubmitted>('submittedAtMs'));
  expect(submitted.map((m) => m.value!.contentId).sort()).toEqual(accepted.map((e) => e.contentId).sort());
  for (const m of submitted) expect(m.value!.channel).toBe(byContent.get(m.value!.contentId)!.channel);

  // Hasher: one ContentHashed with the expected hashes per decodable medium; the rest dead-lettered with the reason.
  const hashedTopic = pipeline.topic(topics.contentHashed.topic);
  const hashedRaw = await readTopic<ContentHashed>(client, topics.contentHashed, hashedTopic);
  const { distinct: hashed, repeats: hashedRepeats } = distinctBy(hashedRaw, (m) => m.value!.eventId, sameExcept<ContentHashed>('hashedAtMs'));
  expect(hashed.map((m) => m.value!.contentId).sort()).toEqual(hashedExpected.map((e) => e.contentId).sort());
  for (const m of hashed) {
    const e = byContent.get(m.value!.contentId)!;
    if (e.expect.kind !== 'hashed') throw new Error('unreachable');
    const h = e.expect.file.hashes!;
    const got = Object.fromEntries(m.value!.hashes.map((x) => [x.algorithm, x.value]));
    expect({ id: e.contentId, ...got, quality: m.value!.hashes[0]!.quality, width: m.value!.width, height: m.value!.height }).toEqual({
      id: e.contentId,
      pdq: h.pdq,
      md5: h.md5,
      sha1: h.sha1,
      sha256: h.sha256,
      quality: h.quality,
      width: h.width,
      height: h.height,
    });
    expect(m.value!.mediaUri).toBe(e.media.uri ?? null);
    expect(m.value!.uploaderAccountId).toBe(e.uploaderAccountId);
  }
  const deadLettered = await readTopic<ContentSubmitted>(client, topics.contentSubmitted, `${submittedTopic}.dlq`);
  const dlqReasons = deadLettered.map((m) => `${m.value!.contentId} ${parseDeadLetterHeaders(m.headers)?.reason}`).sort();
  expect(dlqReasons).toEqual(accepted.filter((e) => e.expect.kind === 'hasher_dlq').map((e) => `${e.contentId} ${(e.expect as { code: string }).code}`).sort());

  // Ingest's Kafka input: malformed records dead-lettered with the reason.
  const ingestDlq = await readTopic<ContentSubmitted>(client, topics.platformContentUploaded, `${pipeline.topic(topics.platformContentUploaded.topic)}.dlq`);
  expect(ingestDlq.map((m) => `${m.value!.contentId} ${parseDeadLetterHeaders(m.headers)?.reason}`).sort()).toEqual(
    events.filter((e) => e.expect.kind === 'ingest_dlq').map((e) => `${e.contentId} ${(e.expect as { code: string }).code}`).sort(),
  );

  // Matcher: exactly the model's matches, once per content (read back by librdkafka too).
  const matchedTopic = pipeline.topic(topics.contentMatched.topic);
  const matchedRaw = await readTopic<MatchFound>(client, topics.contentMatched, matchedTopic);
  const { distinct: matched, repeats: matchedRepeats } = distinctBy(matchedRaw, (m) => m.value!.matchId, sameExcept<MatchFound>('matchedAtMs'));
  const matchExpected = hashedExpected.filter((e) => e.expect.kind === 'hashed' && e.expect.outcome.matches.length > 0);
  expect(matched.map((m) => m.value!.contentId).sort()).toEqual(matchExpected.map((e) => e.contentId).sort());
  for (const m of matched) {
    const e = byContent.get(m.value!.contentId)!;
    const o = (e.expect as { outcome: ReturnType<typeof modelOutcome> }).outcome;
    const got = m.value!.matches
      .map((d) => ({ bank: d.bank.name, kind: d.bank.kind.toLowerCase(), source: d.bank.source, entryId: d.entryId, algorithm: d.algorithm, distance: d.distance }))
      .sort((a, b) => (a.bank < b.bank ? -1 : a.bank > b.bank ? 1 : a.entryId < b.entryId ? -1 : 1));
    expect({ id: e.contentId, decision: m.value!.decision, matches: got, suppressed: m.value!.suppressedCount }).toEqual({ id: e.contentId, decision: o.decision, matches: o.matches, suppressed: o.suppressed });
  }
  const kcatRecords = await kcatConsume({ topic: matchedTopic, count: matchedRaw.length, timeoutMs: 60_000, brokers: pipeline.env.brokersCsv });
  expect(new Set(kcatRecords.map((r) => r.key!.toString('utf8'))).size).toBe(matchExpected.length);

  return {
    published: submitted.length,
    hashed: hashed.length,
    hasherDeadLettered: deadLettered.length,
    ingestDeadLettered: ingestDlq.length,
    matched: matched.length,
    unmatched: hashed.length - matched.length,
    redelivered: { submitted: submittedRepeats, hashed: hashedRepeats, matched: matchedRepeats },
  };
}

/** What {@link reconcileChat} found. */
export interface ChatLedger {
  chatMessages: number;
  alerts: number;
  alertedConversations: number;
  redelivered: { messages: number; alerts: number };
}

/**
 * Reconciles the chat side: every corpus message published once (by conversation and message
 * id; repeats identical), the malformed Kafka records dead-lettered with their reasons
 * (`conversationId reason`), and exactly the alerts the library gives each conversation, once
 * each by alert id.
 */
export async function reconcileChat(pipeline: Pipeline, conversations: readonly CorpusConversation[], alertsExpected: readonly ExpectedAlert[], kafkaRefusals: readonly string[]): Promise<ChatLedger> {
  const client = pipeline.transport();
  const messageCount = conversations.reduce((n, c) => n + c.messages.length, 0);
  const chatRaw = await readTopic<ChatMessage>(client, topics.chatMessageSent, pipeline.topic(topics.chatMessageSent.topic));
  const { distinct: chat, repeats: chatRepeats } = distinctBy(chatRaw, (m) => m.value!.eventId, sameExcept<ChatMessage>());
  expect(chat.length).toBe(messageCount);
  expect(new Set(chat.map((m) => `${m.value!.conversationId}/${m.value!.messageId}`)).size).toBe(messageCount);
  const chatDlq = await readTopic<ChatMessage>(client, topics.platformMessageSent, `${pipeline.topic(topics.platformMessageSent.topic)}.dlq`);
  expect(chatDlq.map((m) => `${m.value!.conversationId} ${parseDeadLetterHeaders(m.headers)?.reason}`).sort()).toEqual([...kafkaRefusals].sort());

  const alertsRaw = await readTopic<GroomingAlert>(client, topics.conversationFlagged, pipeline.topic(topics.conversationFlagged.topic));
  const { distinct: alerts, repeats: alertRepeats } = distinctBy(alertsRaw, (m) => m.value!.alertId, sameExcept<GroomingAlert>());
  const alertKey = (a: { conversationId: string; raisedAtMs: number; stage: string }) => `${a.conversationId}@${a.raisedAtMs} ${a.stage}`;
  expect(alerts.map((m) => alertKey(m.value!)).sort()).toEqual(alertsExpected.map(alertKey).sort());
  for (const m of alerts) expect(m.value!.evidenceMessageIds.length).toBeGreaterThan(0);
  return {
    chatMessages: messageCount,
    alerts: alerts.length,
    alertedConversations: new Set(alerts.map((m) => m.value!.conversationId)).size,
    redelivered: { messages: chatRepeats, alerts: alertRepeats },
  };
}

/** A match case the reporter must hold. */
export interface ExpectedMatchCase {
  contents: string[];
  policy: 'report' | 'review';
  /** `<bank>/<entryId>/<algorithm>` of every match. */
  entries: Set<string>;
}

/** Match cases the reporter must hold: one per uploader of matched contents (a case window longer than the run). */
export function expectedMatchCases(events: readonly ContentEvent[]): Map<string, ExpectedMatchCase> {
  const out = new Map<string, ExpectedMatchCase>();
  for (const e of events) {
    if (e.expect.kind !== 'hashed' || e.expect.outcome.matches.length === 0) continue;
    const c = out.get(e.uploaderAccountId) ?? { contents: [], policy: e.expect.outcome.policy as 'report' | 'review', entries: new Set<string>() };
    c.contents.push(e.contentId);
    for (const m of e.expect.outcome.matches) c.entries.add(`${m.bank}/${m.entryId}/${m.algorithm}`);
    if (e.expect.outcome.policy !== c.policy) throw new Error(`uploader ${e.uploaderAccountId} mixes outcomes`);
    out.set(e.uploaderAccountId, c);
  }
  return out;
}

/** The reporter's cases, read from its SQLite store (read-only, while it runs). */
export async function readCases(pipeline: Pipeline): Promise<Case[]> {
  const store = new SqliteReportingStore(pipeline.storePath, { readonly: true });
  try {
    return await store.listCases();
  } finally {
    await store.close();
  }
}

/**
 * Waits for exactly the expected cases (one per matched uploader, one per alerted conversation)
 * and checks their subjects, items and policy.
 * @returns the cases.
 */
export async function reconcileCases(pipeline: Pipeline, matchCases: ReadonlyMap<string, ExpectedMatchCase>, alertsExpected: readonly ExpectedAlert[], timeoutMs = 120_000): Promise<Case[]> {
  const groomingConversations = new Set(alertsExpected.map((a) => a.conversationId));
  const expectedCount = matchCases.size + groomingConversations.size;
  await waitFor(async () => (await readCases(pipeline)).length >= expectedCount, { timeoutMs, intervalMs: 1_000, description: `${expectedCount} cases` });
  const cases = await readCases(pipeline);
  expect(cases.length).toBe(expectedCount);
  const matchCaseList = cases.filter((c) => c.kind === 'match');
  expect(matchCaseList.map((c) => c.subjectId).sort()).toEqual([...matchCases.keys()].sort());
  for (const c of matchCaseList) {
    const want = matchCases.get(c.subjectId)!;
    expect({ subject: c.subjectId, contents: c.items.map((i) => (i.type === 'match' ? i.contentId : '')).sort() }).toEqual({ subject: c.subjectId, contents: [...want.contents].sort() });
    expect({ subject: c.subjectId, policy: c.policy?.action }).toEqual({ subject: c.subjectId, policy: want.policy });
  }
  const groomingCaseList = cases.filter((c) => c.kind === 'grooming');
  expect(groomingCaseList.map((c) => c.subjectId).sort()).toEqual([...groomingConversations].sort());
  for (const c of groomingCaseList) {
    const want = alertsExpected.filter((a) => a.conversationId === c.subjectId).length;
    expect({ conversation: c.subjectId, items: c.items.length }).toEqual({ conversation: c.subjectId, items: want });
  }
  return cases;
}

/** What {@link reconcileReports} found. */
export interface ReportLedger {
  reported: number;
  ncmecUploads: number;
  /** Identical repeats of ReportEmitted records (same report id). */
  redelivered: number;
  /**
   * NCMEC submits whose outcome the reporter could not know (killed during the call), and the
   * unfinished reports NCMEC holds (at most that many: the API has no idempotency key).
   */
  ambiguousSubmits: number;
  unfinishedAtNcmec: number;
}

/**
 * Waits until `reported` cases are in state `reported`, then checks that each authority got
 * exactly one report per reported case and nothing else (one finished NCMEC report, one
 * accepted EU report: never a second report for one incident), and two ReportEmitted (NCMEC,
 * EU) per case, delivered, naming the NCMEC report id; repeats only as identical copies. The one
 * tolerated leftover: an unfinished NCMEC report per submit the reporter counted as ambiguous
 * (a kill while NCMEC answered /submit; the reporter audits it for an operator to retract).
 */
export async function reconcileReports(pipeline: Pipeline, reported: number, timeoutMs = 180_000): Promise<ReportLedger> {
  await waitFor(async () => (await readCases(pipeline)).filter((c) => c.state === 'reported').length === reported, { timeoutMs, intervalMs: 1_000, description: `${reported} cases reported` });
  const cases = await readCases(pipeline);
  const reportedIds = new Set(cases.filter((c) => c.state === 'reported').map((c) => c.caseId));
  const ncmecFinished = [...pipeline.ncmec.reports.values()].filter((r) => r.state === 'finished');
  expect(ncmecFinished.length).toBe(reported);
  const store = new SqliteReportingStore(pipeline.storePath, { readonly: true });
  const ambiguousSubmits = await store
    .listOutbox()
    .then((records) => records.reduce((n, r) => n + r.ambiguousSubmits, 0))
    .finally(() => store.close());
  const unfinishedAtNcmec = pipeline.ncmec.reports.size - ncmecFinished.length;
  expect(unfinishedAtNcmec).toBeLessThanOrEqual(ambiguousSubmits);
  expect(pipeline.ncmec.callsTo('/submit').length).toBe(reported + unfinishedAtNcmec);
  expect(pipeline.eu.accepted.size).toBe(reported);
  expect(new Set([...pipeline.eu.accepted.values()].map((a) => a.report.caseId))).toEqual(reportedIds);

  const client = pipeline.transport();
  const reportTopic = pipeline.topic(topics.caseReported.topic);
  await waitFor(async () => (await topicSize(client, reportTopic)) >= 2 * reported, { timeoutMs: 60_000, description: `${2 * reported} ReportEmitted events` });
  const emittedRaw = await readTopic<ReportEmitted>(client, topics.caseReported, reportTopic);
  const { distinct: emitted, repeats } = distinctBy(emittedRaw, (m) => m.value!.reportId, sameExcept<ReportEmitted>());
  expect(emitted.length).toBe(2 * reported);
  expect(emitted.every((m) => m.value!.status === 'DELIVERED')).toBe(true);
  expect(new Set(emitted.map((m) => `${m.value!.caseId}/${m.value!.destination}`)).size).toBe(2 * reported);
  expect(new Set(emitted.map((m) => m.value!.caseId))).toEqual(reportedIds);
  const ncmecIds = new Set(ncmecFinished.map((r) => r.reportId));
  for (const m of emitted.filter((x) => x.value!.destination === 'NCMEC')) expect(ncmecIds.has(m.value!.externalReportId!)).toBe(true);
  return { reported, ncmecUploads: pipeline.ncmec.callsTo('/upload').length, redelivered: repeats, ambiguousSubmits, unfinishedAtNcmec };
}
