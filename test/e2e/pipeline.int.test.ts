// The whole pipeline, five service processes on the real broker and registry, under a workload of
// ~2,000 content events (benign reference photographs, variants made here, malformed files and
// references) and the 200 synthetic, non-explicit conversations of the grooming corpus's test
// split, submitted through ingest's HTTP API and its Kafka input. Every input is then accounted
// for, and matches, alerts, cases and delivered reports are compared with what a reference model
// says they must be, each exactly once. The test acts as reviewer through the review API.
// Nothing leaves 127.0.0.1: reports go to the NCMEC and EU Centre simulators in this process.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeadLetterHeaders } from '@safeguard/kafka';
import { SqliteReportingStore, type Case } from '@safeguard/reporting';
import { renameTopic, topics, type ChatMessage, type ContentHashed, type ContentSubmitted, type GroomingAlert, type IndicatorFeedback, type IndicatorUpdated, type MatchFound, type ReportEmitted } from '@safeguard/schemas';
import { kcatConsume, waitFor } from '@safeguard/testkit';
import { jsonRequest, mapLimit } from '../support/http';
import { Pipeline, PLATFORM_ID } from '../support/pipeline';
import { sumSamples } from '../support/prometheus';
import { groupLag, readTopic, topicSize } from '../support/topics';
import { expectedAlerts, loadCorpus, type CorpusConversation, type ExpectedAlert } from './chat-corpus';
import { buildMediaLibrary, type MediaFile } from './media-library';
import { bankFileText, modelOutcome, type BankSpec } from './model';
import { buildWorkload, platformEventId, workloadBanks, type ContentEvent } from './workload';

jest.setTimeout(900_000);

const DAY_MS = 86_400_000;
/** Deadline for the pipeline to drain the workload (a loaded 2-core machine). */
const DRAIN_MS = 420_000;

type Answer = { status: number; body: { status?: string; eventId?: string; error?: { code: string } } | null };

/**
 * The first record per id, and how many records repeated an id already seen. Delivery is
 * at-least-once: a service that re-processes a message after a rebalance publishes the same
 * result again under the same deterministic id (and consumers de-duplicate on it). "Exactly once"
 * is therefore asserted on ids; repeats are counted and must be exact copies.
 */
function distinctBy<T>(records: readonly T[], id: (r: T) => string, same: (a: T, b: T) => boolean): { distinct: T[]; repeats: number } {
  const first = new Map<string, T>();
  let repeats = 0;
  for (const r of records) {
    const seen = first.get(id(r));
    if (seen === undefined) first.set(id(r), r);
    else {
      repeats++;
      if (!same(seen, r)) throw new Error(`two different records share the id ${id(r)}`);
    }
  }
  return { distinct: [...first.values()], repeats };
}

function log(message: string): void {
  process.stdout.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

describe('the whole pipeline, end to end (5 service processes, real broker and registry)', () => {
  let dir: string;
  let mediaDir: string;
  let files: MediaFile[];
  let banks: BankSpec[];
  let events: ContentEvent[];
  let conversations: CorpusConversation[];
  let labels: Map<string, { grooming: boolean }>;
  let alertsExpected: ExpectedAlert[];
  let pipeline: Pipeline;
  let failed = false;
  const started = Date.now();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'safeguard-e2e-'));
    mediaDir = join(dir, 'media');
    mkdirSync(mediaDir);
    // The library (variants, expected hashes) is built while the services start.
    const [library, started] = await Promise.all([
      buildMediaLibrary(mediaDir),
      Pipeline.start({ fileRoots: [mediaDir], mediaRoot: mediaDir, extraEnv: { reporter: { REPORTER_CASE_WINDOW_MS: String(30 * DAY_MS) } } }),
    ]);
    files = library;
    pipeline = started;
    banks = workloadBanks(files);
    ({ events } = buildWorkload(files, banks, { mediaRoot: mediaDir, events: 2000 }));
    const corpus = loadCorpus('test');
    conversations = corpus.conversations;
    labels = corpus.labels;
    alertsExpected = expectedAlerts(conversations, PLATFORM_ID);
    log(`pipeline ready (prefix ${pipeline.prefix}); ${files.length} media files, ${events.length} content events, ${conversations.length} conversations, ${alertsExpected.length} expected alerts`);
  });

  afterAll(async () => {
    if (!pipeline) return;
    const stops = await pipeline.stop({ keepWorkDir: failed });
    if (failed) process.stderr.write(`service logs kept in ${pipeline.workDir}/logs\n`);
    rmSync(dir, { recursive: true, force: true });
    log(`stopped${stops.length > 0 ? ` ${stops.map((s) => `${s.service}=${s.code ?? s.signal}`).join(' ')}` : ''}; total ${Math.round((Date.now() - started) / 1000)} s`);
  });

  /** Runs a test body; on failure prints the services' logs (jest has no per-test failure hook). */
  const guarded = (body: () => Promise<void>) => async () => {
    try {
      await body();
    } catch (err) {
      if (!failed) pipeline?.printLogs();
      failed = true;
      throw err;
    }
  };

  const contentBinding = () => renameTopic(topics.platformContentUploaded, pipeline.topic(topics.platformContentUploaded.topic));
  const messageBinding = () => renameTopic(topics.platformMessageSent, pipeline.topic(topics.platformMessageSent.topic));
  const answers = new Map<string, Answer>();
  const duplicateAnswers: Answer[] = [];
  const chatAnswers: Answer[] = [];
  const badChatAnswers: Array<{ answer: Answer; status: number; code: string }> = [];
  let kafkaDuplicates = 0;

  function httpBody(e: ContentEvent): unknown {
    return {
      contentId: e.contentId,
      uploaderAccountId: e.uploaderAccountId,
      contentKind: 'IMAGE',
      media: { ...(e.media.uri !== undefined ? { uri: e.media.uri } : {}), ...(e.media.inlineBase64 !== undefined ? { inlineBase64: e.media.inlineBase64 } : {}) },
      uploadContext: { uploadedAtMs: Date.now(), ipAddress: '192.0.2.10', countryCode: 'NL', publiclyAvailable: true },
    };
  }

  function kafkaValue(e: ContentEvent): ContentSubmitted {
    return {
      eventId: platformEventId(),
      platformId: PLATFORM_ID,
      contentId: e.contentId,
      uploaderAccountId: e.uploaderAccountId,
      contentKind: 'IMAGE',
      media: { uri: e.media.uri ?? null, inlineBytes: e.media.inlineBytes ?? null, mimeType: null, sizeBytes: null },
      uploadContext: { uploadedAtMs: Date.now(), ipAddress: '198.51.100.7', countryCode: 'DE', publiclyAvailable: false },
      channel: 'kafka',
      submittedAtMs: Date.now(),
    };
  }

  async function postContent(e: ContentEvent): Promise<Answer> {
    return jsonRequest('POST', `${pipeline.url('ingest')}/v1/content`, pipeline.keys.ingest, e.rawBody ?? httpBody(e));
  }

  async function submitContent(batch: readonly ContentEvent[]): Promise<void> {
    const http = batch.filter((e) => e.channel === 'http');
    const kafka = batch.filter((e) => e.channel === 'kafka');
    const producer = pipeline.transport().producer();
    await Promise.all([
      mapLimit(http, 12, async (e) => {
        const a = await postContent(e);
        if (e.expect.kind === 'duplicate') duplicateAnswers.push(a);
        else answers.set(e.contentId, a);
      }),
      (async () => {
        // Batches stay well under the broker's 1 MiB request limit (inline media go one by one).
        const inline = kafka.filter((e) => e.media.inlineBytes);
        const byUri = kafka.filter((e) => !e.media.inlineBytes);
        for (let i = 0; i < byUri.length; i += 100) await producer.send(contentBinding(), byUri.slice(i, i + 100).map((e) => ({ value: kafkaValue(e) })));
        for (const e of inline) await producer.send(contentBinding(), [{ value: kafkaValue(e) }]);
      })(),
    ]);
  }

  function chatValue(c: CorpusConversation, m: CorpusConversation['messages'][number]): ChatMessage {
    return {
      eventId: platformEventId(),
      platformId: PLATFORM_ID,
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

  /** Conversations go whole through one channel (each keeps its order): 70 % HTTP, 30 % Kafka. */
  async function submitChats(): Promise<void> {
    const viaKafka = conversations.filter((_, i) => i % 10 < 3);
    const viaHttp = conversations.filter((_, i) => i % 10 >= 3);
    const producer = pipeline.transport().producer();
    await Promise.all([
      mapLimit(viaHttp, 12, async (c) => {
        for (const m of c.messages) {
          const v = chatValue(c, m);
          const a = await jsonRequest<Answer['body']>('POST', `${pipeline.url('ingest')}/v1/messages`, pipeline.keys.ingest, {
            conversationId: v.conversationId,
            messageId: v.messageId,
            senderId: v.senderId,
            recipientIds: v.recipientIds,
            text: v.text,
            language: v.language,
            participants: c.participants.map((p) => ({ accountId: p.id, ...(p.declaredAge === undefined ? {} : { declaredAge: p.declaredAge }) })),
            sentAtMs: v.sentAtMs,
          });
          chatAnswers.push(a);
        }
      }),
      (async () => {
        for (const c of viaKafka) await producer.send(messageBinding(), c.messages.map((m) => ({ value: chatValue(c, m) })));
      })(),
    ]);
  }

  // Malformed chat messages, in conversations of their own (the corpus's stay intact).
  const badChats = {
    http: [
      { body: { conversationId: 'bad-conv-1', messageId: 'm1', senderId: 'a', text: '', sentAtMs: 1_700_000_000_000 }, status: 400, code: 'text_empty' },
      { body: { conversationId: 'bad-conv-2', messageId: 'm1', senderId: 'a', text: 'hello', sentAtMs: 0 }, status: 400, code: 'invalid_request' },
      { body: { conversationId: 'bad-conv-3', messageId: 'm1', senderId: 'a', text: 'hello', sentAtMs: 1_700_000_000_000, extra: 1 }, status: 400, code: 'invalid_request' },
    ],
    kafka: [{ conversationId: 'bad-conv-4', text: '', code: 'text_empty' }],
  };

  it(
    'accounts for every content event and chat message: hashed, matched or not, dead-lettered or refused with a reason, each exactly once',
    guarded(async () => {
      // Banks are imported through the CLI while the matcher runs: it applies them from the topic.
      for (const bank of banks) {
        const file = join(dir, `${bank.name}.tsv`);
        writeFileSync(file, bankFileText(bank));
        const out = JSON.parse((await pipeline.cli(['bank', 'import', '--bank', bank.name, '--kind', bank.kind, '--source', bank.source, '--threshold', String(bank.threshold), file])).trim().split('\n').pop()!) as { ok: boolean; added: number };
        expect(out).toMatchObject({ ok: true, added: bank.entries.length });
      }
      const entries = banks.reduce((n, b) => n + b.entries.length, 0);
      await waitFor(async () => sumSamples(await pipeline.scrape('matcher'), 'safeguard_matcher_index_entries') === entries, { timeoutMs: 60_000, description: `${entries} entries in the matcher's index` });
      log(`banks imported (${entries} entries)`);

      const t0 = Date.now();
      const originals = events.filter((e) => e.expect.kind !== 'duplicate');
      await Promise.all([submitContent(originals), submitChats()]);
      // Resubmissions after their originals were answered (HTTP) or produced (Kafka, same key).
      const dups = events.filter((e) => e.expect.kind === 'duplicate');
      kafkaDuplicates = dups.filter((e) => e.channel === 'kafka').length;
      await submitContent(dups);
      for (const b of badChats.http) badChatAnswers.push({ answer: await jsonRequest('POST', `${pipeline.url('ingest')}/v1/messages`, pipeline.keys.ingest, b.body), status: b.status, code: b.code });
      await pipeline.transport().producer().send(
        messageBinding(),
        badChats.kafka.map((b) => ({ value: { ...chatValue({ conversationId: b.conversationId, participants: [{ id: 'a' }], messages: [] }, { id: 'm1', senderId: 'a', sentAtMs: 1_700_000_000_000, text: b.text }) } })),
      );
      const submitSeconds = (Date.now() - t0) / 1000;
      log(`submitted ${events.length} content events and ${conversations.reduce((n, c) => n + c.messages.length, 0)} messages in ${submitSeconds.toFixed(1)} s`);

      // HTTP answers: refusals with their codes, acceptances, duplicates.
      for (const e of events) {
        if (e.channel !== 'http' || e.expect.kind === 'duplicate') continue;
        const a = answers.get(e.contentId);
        if (e.expect.kind === 'http_refused') expect({ id: e.contentId, status: a?.status, code: a?.body?.error?.code }).toEqual({ id: e.contentId, status: e.expect.status, code: e.expect.code });
        else expect({ id: e.contentId, status: a?.status }).toEqual({ id: e.contentId, status: 202 });
      }
      const httpDups = events.filter((e) => e.expect.kind === 'duplicate' && e.channel === 'http').length;
      expect(duplicateAnswers.map((a) => [a.status, a.body?.status])).toEqual(Array(httpDups).fill([200, 'duplicate']));
      expect(chatAnswers.filter((a) => a.status !== 202)).toEqual([]);
      expect(badChatAnswers.map((b) => [b.answer.status, b.answer.body?.error?.code])).toEqual(badChatAnswers.map((b) => [b.status, b.code]));

      // Wait until every stage has handled (and committed) everything.
      const accepted = events.filter((e) => e.expect.kind === 'hashed' || e.expect.kind === 'hasher_dlq');
      const hashedExpected = accepted.filter((e) => e.expect.kind === 'hashed');
      const submittedTopic = pipeline.topic(topics.contentSubmitted.topic);
      const hashedTopic = pipeline.topic(topics.contentHashed.topic);
      const hasherDlq = `${submittedTopic}.dlq`;
      const t1 = Date.now();
      await waitFor(
        async () => {
          const [h, d] = await Promise.all([topicSize(pipeline.transport(), hashedTopic), topicSize(pipeline.transport(), hasherDlq)]);
          return h + d >= accepted.length;
        },
        { timeoutMs: DRAIN_MS, intervalMs: 1_000, description: `${accepted.length} submissions hashed or dead-lettered` },
      );
      log(`hasher drained in ${((Date.now() - t1) / 1000).toFixed(1)} s after the last submission`);
      const stages: Array<[Parameters<Pipeline['group']>[0], string]> = [
        ['ingest', pipeline.topic(topics.platformContentUploaded.topic)],
        ['ingest', pipeline.topic(topics.platformMessageSent.topic)],
        ['hasher', submittedTopic],
        ['matcher', hashedTopic],
        ['grooming', pipeline.topic(topics.chatMessageSent.topic)],
        ['reporter', pipeline.topic(topics.contentMatched.topic)],
        ['reporter', pipeline.topic(topics.conversationFlagged.topic)],
      ];
      await waitFor(async () => (await Promise.all(stages.map(([s, t]) => groupLag(pipeline.transport(), pipeline.group(s), t)))).every((l) => l === 0), {
        timeoutMs: DRAIN_MS,
        intervalMs: 1_000,
        description: 'every consumer group caught up',
      });
      log(`all stages caught up ${((Date.now() - t0) / 1000).toFixed(1)} s after the first submission`);

      const client = pipeline.transport();
      // Ingest → hasher: one ContentSubmitted per accepted event, none for refusals or duplicates.
      const submitted = await readTopic<ContentSubmitted>(client, topics.contentSubmitted, submittedTopic);
      expect(submitted.map((m) => m.value!.contentId).sort()).toEqual(accepted.map((e) => e.contentId).sort());
      const byContent = new Map(events.filter((e) => e.expect.kind !== 'duplicate').map((e) => [e.contentId, e]));
      for (const m of submitted) expect(m.value!.channel).toBe(byContent.get(m.value!.contentId)!.channel);

      // Hasher: one ContentHashed with the expected hashes per decodable medium; the rest dead-lettered with the reason.
      const hashedRaw = await readTopic<ContentHashed>(client, topics.contentHashed, hashedTopic);
      const { distinct: hashed, repeats: hashedRepeats } = distinctBy(hashedRaw, (m) => m.value!.eventId, (a, b) => JSON.stringify({ ...a.value, hashedAtMs: 0 }) === JSON.stringify({ ...b.value, hashedAtMs: 0 }));
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
      const deadLettered = await readTopic<ContentSubmitted>(client, topics.contentSubmitted, hasherDlq);
      const dlqReasons = deadLettered.map((m) => `${m.value!.contentId} ${parseDeadLetterHeaders(m.headers)?.reason}`).sort();
      expect(dlqReasons).toEqual(accepted.filter((e) => e.expect.kind === 'hasher_dlq').map((e) => `${e.contentId} ${(e.expect as { code: string }).code}`).sort());

      // Ingest's Kafka input: malformed records dead-lettered with the reason; duplicates dropped.
      const ingestDlq = await readTopic<ContentSubmitted>(client, topics.platformContentUploaded, `${pipeline.topic(topics.platformContentUploaded.topic)}.dlq`);
      expect(ingestDlq.map((m) => `${m.value!.contentId} ${parseDeadLetterHeaders(m.headers)?.reason}`).sort()).toEqual(
        events.filter((e) => e.expect.kind === 'ingest_dlq').map((e) => `${e.contentId} ${(e.expect as { code: string }).code}`).sort(),
      );
      const ingestMetrics = await pipeline.scrape('ingest');
      expect(sumSamples(ingestMetrics, 'safeguard_ingest_events_total', { kind: 'content', channel: 'kafka', outcome: 'duplicate' })).toBeGreaterThanOrEqual(kafkaDuplicates);

      // Matcher: exactly the model's matches, once per content (read back by librdkafka too).
      const matchedTopic = pipeline.topic(topics.contentMatched.topic);
      const matchedRaw = await readTopic<MatchFound>(client, topics.contentMatched, matchedTopic);
      const { distinct: matched, repeats: matchedRepeats } = distinctBy(matchedRaw, (m) => m.value!.matchId, (a, b) => a.value!.contentId === b.value!.contentId && JSON.stringify(a.value!.matches) === JSON.stringify(b.value!.matches));
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
      const kcatRecords = await kcatConsume({ topic: matchedTopic, count: matchedRaw.length, timeoutMs: 60_000 });
      expect(new Set(kcatRecords.map((r) => r.key!.toString('utf8'))).size).toBe(matchExpected.length);
      const matcherMetrics = await pipeline.scrape('matcher');
      const suppressedExpected = hashedExpected.reduce((n, e) => n + (e.expect.kind === 'hashed' && e.expect.outcome.matches.length === 0 ? e.expect.outcome.suppressed : 0), 0);
      expect(sumSamples(matcherMetrics, 'safeguard_matcher_suppressed_total', { reason: 'allow_list' })).toBeGreaterThanOrEqual(suppressedExpected);
      expect(sumSamples(matcherMetrics, 'safeguard_messages_consumed_total', { topic: hashedTopic, outcome: 'ok' })).toBeGreaterThanOrEqual(hashedExpected.length);

      // Chat: every message published once and analysed; malformed ones refused or dead-lettered.
      const messageCount = conversations.reduce((n, c) => n + c.messages.length, 0);
      const chat = await readTopic<ChatMessage>(client, topics.chatMessageSent, pipeline.topic(topics.chatMessageSent.topic));
      expect(chat.length).toBe(messageCount);
      expect(new Set(chat.map((m) => `${m.value!.conversationId}/${m.value!.messageId}`)).size).toBe(messageCount);
      const chatDlq = await readTopic<ChatMessage>(client, topics.platformMessageSent, `${pipeline.topic(topics.platformMessageSent.topic)}.dlq`);
      expect(chatDlq.map((m) => `${m.value!.conversationId} ${parseDeadLetterHeaders(m.headers)?.reason}`)).toEqual(badChats.kafka.map((b) => `${b.conversationId} ${b.code}`));
      const groomingMetrics = await pipeline.scrape('grooming');
      expect(sumSamples(groomingMetrics, 'safeguard_grooming_messages_total', { outcome: 'analysed' }) + sumSamples(groomingMetrics, 'safeguard_grooming_messages_total', { outcome: 'policy_excluded' })).toBe(messageCount);

      // Grooming: exactly the library's alerts, once each.
      const alertsRaw = await readTopic<GroomingAlert>(client, topics.conversationFlagged, pipeline.topic(topics.conversationFlagged.topic));
      const { distinct: alerts, repeats: alertRepeats } = distinctBy(alertsRaw, (m) => m.value!.alertId, (a, b) => JSON.stringify(a.value) === JSON.stringify(b.value));
      const alertKey = (a: { conversationId: string; raisedAtMs: number; stage: string }) => `${a.conversationId}@${a.raisedAtMs} ${a.stage}`;
      expect(alerts.map((m) => alertKey(m.value!)).sort()).toEqual(alertsExpected.map(alertKey).sort());
      for (const m of alerts) expect(m.value!.evidenceMessageIds.length).toBeGreaterThan(0);

      const ledger = {
        contentEvents: events.length,
        httpRefused: events.filter((e) => e.expect.kind === 'http_refused').length,
        ingestDeadLettered: ingestDlq.length,
        duplicates: events.filter((e) => e.expect.kind === 'duplicate').length,
        published: submitted.length,
        hashed: hashed.length,
        hasherDeadLettered: deadLettered.length,
        matched: matched.length,
        unmatched: hashed.length - matched.length,
        chatMessages: messageCount,
        chatRefused: badChats.http.length + badChats.kafka.length,
        alerts: alerts.length,
        alertedConversations: new Set(alerts.map((m) => m.value!.conversationId)).size,
        redelivered: { hashed: hashedRepeats, matched: matchedRepeats, alerts: alertRepeats },
      };
      expect(ledger.httpRefused + ledger.ingestDeadLettered + ledger.duplicates + ledger.hashed + ledger.hasherDeadLettered).toBe(ledger.contentEvents);
      log(`ledger ${JSON.stringify(ledger)}`);
    }),
  );

  /** Match cases the reporter must hold: one per uploader of matched contents (window 30 days). */
  function expectedMatchCases(): Map<string, { contents: string[]; policy: 'report' | 'review'; entries: Set<string> }> {
    const out = new Map<string, { contents: string[]; policy: 'report' | 'review'; entries: Set<string> }>();
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

  async function readCases(): Promise<Case[]> {
    const store = new SqliteReportingStore(pipeline.storePath, { readonly: true });
    try {
      return await store.listCases();
    } finally {
      await store.close();
    }
  }

  it(
    'opens exactly the expected cases; direct reports for exact verified matches, the rest through the review API; every confirmed case reported once to each authority',
    guarded(async () => {
      const matchCases = expectedMatchCases();
      const groomingConversations = new Set(alertsExpected.map((a) => a.conversationId));
      const expectedCount = matchCases.size + groomingConversations.size;
      const direct = [...matchCases.values()].filter((c) => c.policy === 'report').length;
      await waitFor(async () => (await readCases()).length === expectedCount, { timeoutMs: 120_000, intervalMs: 1_000, description: `${expectedCount} cases` });
      let cases = await readCases();
      const matchCaseList = cases.filter((c) => c.kind === 'match');
      expect(matchCaseList.map((c) => c.subjectId).sort()).toEqual([...matchCases.keys()].sort());
      for (const c of matchCaseList) {
        const want = matchCases.get(c.subjectId)!;
        expect({ subject: c.subjectId, contents: c.items.map((i) => (i.type === 'match' ? i.contentId : '')).sort() }).toEqual({ subject: c.subjectId, contents: [...want.contents].sort() });
        expect({ subject: c.subjectId, policy: c.policy?.action }).toEqual({ subject: c.subjectId, policy: want.policy });
      }
      const groomingCaseList = cases.filter((c) => c.kind === 'grooming');
      expect(groomingCaseList.map((c) => c.subjectId).sort()).toEqual([...groomingConversations].map((id) => id).sort());
      for (const c of groomingCaseList) {
        const want = alertsExpected.filter((a) => a.conversationId === c.subjectId).length;
        expect({ conversation: c.subjectId, items: c.items.length }).toEqual({ conversation: c.subjectId, items: want });
      }

      // The test is the reviewer: PDQ cases in subject order, every fourth a false positive
      // (allow-list proposal); the first single-entry review-list case is decided by an admin who
      // disables the entry; grooming cases confirmed when the corpus labels them grooming.
      const reviewer = pipeline.keys.reviewer;
      const admin = pipeline.keys.admin;
      const pending = cases.filter((c) => c.state === 'pending_review').sort((a, b) => (a.subjectId < b.subjectId ? -1 : 1));
      expect(pending.length).toBe(expectedCount - direct);
      const pendingMatch = pending.filter((c) => c.kind === 'match');
      const disableCase = pendingMatch.find((c, i) => i % 4 === 3 && matchCases.get(c.subjectId)!.entries.size === 1 && [...matchCases.get(c.subjectId)!.entries][0]!.startsWith('e2e-review/'));
      expect(disableCase).toBeDefined();
      const decisions = new Map<string, { key: string; body: Record<string, unknown> }>();
      pendingMatch.forEach((c, i) => {
        if (c === disableCase) decisions.set(c.caseId, { key: admin, body: { outcome: 'false_positive', reasonCode: 'benign_collision', action: 'disable_entry' } });
        else if (i % 4 === 3) decisions.set(c.caseId, { key: reviewer, body: { outcome: 'false_positive', reasonCode: 'benign_collision', action: 'propose_allow_list' } });
        else decisions.set(c.caseId, { key: reviewer, body: { outcome: 'confirm', category: 'known_material', industryClassification: 'A1' } });
      });
      for (const c of pending.filter((x) => x.kind === 'grooming')) {
        decisions.set(c.caseId, labels.get(c.subjectId)?.grooming ? { key: reviewer, body: { outcome: 'confirm', category: 'solicitation' } } : { key: reviewer, body: { outcome: 'false_positive', reasonCode: 'benign_conversation' } });
      }
      const api = pipeline.url('reporter');
      await mapLimit([...decisions], 4, async ([caseId, d]) => {
        const claim = await jsonRequest('POST', `${api}/v1/cases/${caseId}/claim`, d.key, {});
        expect([caseId, claim.status]).toEqual([caseId, 200]);
        const decided = await jsonRequest('POST', `${api}/v1/cases/${caseId}/decision`, d.key, d.body);
        expect([caseId, decided.status]).toEqual([caseId, 200]);
      });
      const confirmedByReview = [...decisions.values()].filter((d) => d.body.outcome === 'confirm').length;
      const reported = direct + confirmedByReview;
      log(`reviewed ${decisions.size} cases (${confirmedByReview} confirmed); ${direct} reported directly`);

      // Delivery: one finished NCMEC report and one accepted EU report per confirmed case.
      await waitFor(async () => (await readCases()).filter((c) => c.state === 'reported').length === reported, { timeoutMs: 180_000, intervalMs: 1_000, description: `${reported} cases reported` });
      cases = await readCases();
      const reportedIds = new Set(cases.filter((c) => c.state === 'reported').map((c) => c.caseId));
      const ncmecFinished = [...pipeline.ncmec.reports.values()].filter((r) => r.state === 'finished');
      expect(ncmecFinished.length).toBe(reported);
      expect(pipeline.ncmec.reports.size).toBe(reported);
      expect(pipeline.eu.accepted.size).toBe(reported);
      expect(new Set([...pipeline.eu.accepted.values()].map((a) => a.report.caseId))).toEqual(reportedIds);
      expect(pipeline.ncmec.callsTo('/submit').length).toBe(reported);
      expect(pipeline.ncmec.callsTo('/finish').length).toBe(reported);
      // Media files of match reports were uploaded (file:// under REPORTER_MEDIA_ROOT).
      const uploads = pipeline.ncmec.callsTo('/upload').length;
      expect(uploads).toBeGreaterThan(0);

      const client = pipeline.transport();
      const reportTopic = pipeline.topic(topics.caseReported.topic);
      await waitFor(async () => (await topicSize(client, reportTopic)) >= 2 * reported, { timeoutMs: 60_000, description: `${2 * reported} ReportEmitted events` });
      const emitted = await readTopic<ReportEmitted>(client, topics.caseReported, reportTopic);
      expect(emitted.length).toBe(2 * reported);
      expect(emitted.every((m) => m.value!.status === 'DELIVERED')).toBe(true);
      expect(new Set(emitted.map((m) => `${m.value!.caseId}/${m.value!.destination}`)).size).toBe(2 * reported);
      expect(new Set(emitted.map((m) => m.value!.caseId))).toEqual(reportedIds);
      const ncmecIds = new Set(ncmecFinished.map((r) => r.reportId));
      for (const m of emitted.filter((x) => x.value!.destination === 'NCMEC')) expect(ncmecIds.has(m.value!.externalReportId!)).toBe(true);

      // Feedback to the list suppliers: one vote per entry of every decided match case.
      const votes = pendingMatch.reduce((n, c) => n + matchCases.get(c.subjectId)!.entries.size, 0);
      const feedbackTopic = pipeline.topic(topics.indicatorFeedback.topic);
      await waitFor(async () => (await topicSize(client, feedbackTopic)) >= votes, { timeoutMs: 60_000, description: `${votes} feedback records` });
      const feedback = await readTopic<IndicatorFeedback>(client, topics.indicatorFeedback, feedbackTopic);
      expect(feedback.length).toBe(votes);

      // The admin's false positive disabled the entry on the compacted topic; the matcher applied
      // it, and the entry's own image no longer matches it.
      const entryKey = [...matchCases.get(disableCase!.subjectId)!.entries][0]!;
      const [bankName, entryId] = entryKey.split('/') as [string, string];
      const indicatorTopic = pipeline.topic(topics.indicatorUpdated.topic);
      await waitFor(
        async () => (await readTopic<IndicatorUpdated>(client, topics.indicatorUpdated, indicatorTopic)).some((m) => m.key === `${bankName}/${entryId}` && m.value?.status === 'DISABLED'),
        { timeoutMs: 60_000, description: `${entryKey} disabled on the indicator topic` },
      );
      await waitFor(async () => sumSamples(await pipeline.scrape('matcher'), 'safeguard_matcher_index_inactive_entries', { bank: bankName }) === 1, { timeoutMs: 60_000, description: 'the matcher applied the disable' });
      const bankEntry = banks.find((b) => b.name === bankName)!.entries.find((x) => x.entryId === entryId)!;
      const probeFile = files.find((f) => f.kind === 'original' && f.hashes?.pdq === bankEntry.hash)!;
      const probeOutcome = modelOutcome(probeFile.hashes!, banks, { disabled: new Set([`${bankName}/${entryId}`]) });
      const hashedTopic = pipeline.topic(topics.contentHashed.topic);
      const before = { hashed: await topicSize(client, hashedTopic), matched: await topicSize(client, pipeline.topic(topics.contentMatched.topic)) };
      const probe = await jsonRequest('POST', `${pipeline.url('ingest')}/v1/content`, pipeline.keys.ingest, { contentId: 'c-probe-after-disable', uploaderAccountId: 'u-probe', media: { uri: probeFile.uri } });
      expect(probe.status).toBe(202);
      await waitFor(async () => (await topicSize(client, hashedTopic)) === before.hashed + 1 && (await groupLag(client, pipeline.group('matcher'), hashedTopic)) === 0, {
        timeoutMs: 60_000,
        description: 'the probe hashed and handled by the matcher',
      });
      const after = await topicSize(client, pipeline.topic(topics.contentMatched.topic));
      expect(after - before.matched).toBe(probeOutcome.matches.length > 0 ? 1 : 0);
      expect(probeOutcome.matches.some((m) => `${m.bank}/${m.entryId}` === `${bankName}/${entryId}`)).toBe(false);

      // The audit chain on its topic verifies end to end with the CLI (every record once, in order).
      const auditTopic = pipeline.topic(topics.auditRecorded.topic);
      await waitFor(async () => sumSamples(await pipeline.scrape('reporter'), 'safeguard_reporter_audit_published_length') === sumSamples(await pipeline.scrape('reporter'), 'safeguard_reporter_audit_chain_length'), {
        timeoutMs: 60_000,
        description: 'the audit relay caught up',
      });
      const verify = JSON.parse((await pipeline.cli(['audit', 'verify', '--topic', auditTopic], { topicPrefix: false })).trim().split('\n').pop()!) as { ok: boolean; records?: number };
      expect(verify.ok).toBe(true);
      log(`reports: ${reported} cases × 2 authorities delivered once (NCMEC uploads ${uploads}); feedback ${votes}; disabled ${entryKey}; audit ${JSON.stringify(verify)}`);
    }),
  );

  it(
    'stops every service gracefully',
    guarded(async () => {
      const stops = await pipeline.stop({ keepWorkDir: failed });
      expect(stops.map((s) => [s.service, s.code, s.signal]).sort()).toEqual(
        (['grooming', 'hasher', 'ingest', 'matcher', 'reporter'] as const).map((s) => [s, 0, null]),
      );
      expect(pipeline.exits.filter((e) => e.code !== 0)).toEqual([]);
    }),
  );
});
