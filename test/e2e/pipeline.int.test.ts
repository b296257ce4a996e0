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
import { renameTopic, topics, type ChatMessage, type IndicatorFeedback, type IndicatorUpdated } from '@safeguard/schemas';
import { waitFor } from '@safeguard/testkit';
import { jsonRequest, mapLimit } from '../support/http';
import { Pipeline, PLATFORM_ID } from '../support/pipeline';
import { sumSamples } from '../support/prometheus';
import { groupLag, readTopic, topicSize } from '../support/topics';
import { expectedAlerts, loadCorpus, type CorpusConversation, type ExpectedAlert } from './chat-corpus';
import { buildMediaLibrary, type MediaFile } from './media-library';
import { bankFileText, modelOutcome, type BankSpec } from './model';
import {
  chatHttpBody,
  chatKafkaValue,
  contentHttpBody,
  contentKafkaValue,
  expectedMatchCases,
  reconcileCases,
  reconcileChat,
  reconcileContent,
  reconcileReports,
  waitForDrain,
  type Answer,
} from './reconcile';
import { buildWorkload, workloadBanks, type ContentEvent } from './workload';

jest.setTimeout(900_000);

const DAY_MS = 86_400_000;
/** Deadline for the pipeline to drain the workload (a loaded 2-core machine). */
const DRAIN_MS = 420_000;

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

  async function postContent(e: ContentEvent): Promise<Answer> {
    return jsonRequest('POST', `${pipeline.url('ingest')}/v1/content`, pipeline.keys.ingest, e.rawBody ?? contentHttpBody(e, Date.now()));
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
        for (let i = 0; i < byUri.length; i += 100) await producer.send(contentBinding(), byUri.slice(i, i + 100).map((e) => ({ value: contentKafkaValue(e, PLATFORM_ID) })));
        for (const e of inline) await producer.send(contentBinding(), [{ value: contentKafkaValue(e, PLATFORM_ID) }]);
      })(),
    ]);
  }

  const chatValue = (c: Pick<CorpusConversation, 'conversationId' | 'participants' | 'language'>, m: CorpusConversation['messages'][number]): ChatMessage => chatKafkaValue(c, m, PLATFORM_ID);

  /** Conversations go whole through one channel (each keeps its order): 70 % HTTP, 30 % Kafka. */
  async function submitChats(): Promise<void> {
    const viaKafka = conversations.filter((_, i) => i % 10 < 3);
    const viaHttp = conversations.filter((_, i) => i % 10 >= 3);
    const producer = pipeline.transport().producer();
    await Promise.all([
      mapLimit(viaHttp, 12, async (c) => {
        for (const m of c.messages) {
          const a = await jsonRequest<Answer['body']>('POST', `${pipeline.url('ingest')}/v1/messages`, pipeline.keys.ingest, chatHttpBody(c, m));
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
        badChats.kafka.map((b) => ({ value: { ...chatValue({ conversationId: b.conversationId, participants: [{ id: 'a' }] }, { id: 'm1', senderId: 'a', sentAtMs: 1_700_000_000_000, text: b.text }) } })),
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
      const drained = await waitForDrain(pipeline, accepted.length, DRAIN_MS);
      log(`hasher drained in ${drained.hasherSeconds.toFixed(1)} s after the last submission`);
      log(`all stages caught up ${((Date.now() - t0) / 1000).toFixed(1)} s after the first submission`);

      const content = await reconcileContent(pipeline, events);
      const ingestMetrics = await pipeline.scrape('ingest');
      expect(sumSamples(ingestMetrics, 'safeguard_ingest_events_total', { kind: 'content', channel: 'kafka', outcome: 'duplicate' })).toBeGreaterThanOrEqual(kafkaDuplicates);
      const hashedTopic = pipeline.topic(topics.contentHashed.topic);
      const matcherMetrics = await pipeline.scrape('matcher');
      const suppressedExpected = hashedExpected.reduce((n, e) => n + (e.expect.kind === 'hashed' && e.expect.outcome.matches.length === 0 ? e.expect.outcome.suppressed : 0), 0);
      expect(sumSamples(matcherMetrics, 'safeguard_matcher_suppressed_total', { reason: 'allow_list' })).toBeGreaterThanOrEqual(suppressedExpected);
      expect(sumSamples(matcherMetrics, 'safeguard_messages_consumed_total', { topic: hashedTopic, outcome: 'ok' })).toBeGreaterThanOrEqual(hashedExpected.length);

      // Chat: every message published once and analysed; malformed ones refused or dead-lettered;
      // exactly the library's alerts, once each.
      const chat = await reconcileChat(pipeline, conversations, alertsExpected, badChats.kafka.map((b) => `${b.conversationId} ${b.code}`));
      const groomingMetrics = await pipeline.scrape('grooming');
      expect(sumSamples(groomingMetrics, 'safeguard_grooming_messages_total', { outcome: 'analysed' }) + sumSamples(groomingMetrics, 'safeguard_grooming_messages_total', { outcome: 'policy_excluded' })).toBe(chat.chatMessages);

      const ledger = {
        contentEvents: events.length,
        httpRefused: events.filter((e) => e.expect.kind === 'http_refused').length,
        ingestDeadLettered: content.ingestDeadLettered,
        duplicates: events.filter((e) => e.expect.kind === 'duplicate').length,
        published: content.published,
        hashed: content.hashed,
        hasherDeadLettered: content.hasherDeadLettered,
        matched: content.matched,
        unmatched: content.unmatched,
        chatMessages: chat.chatMessages,
        chatRefused: badChats.http.length + badChats.kafka.length,
        alerts: chat.alerts,
        alertedConversations: chat.alertedConversations,
        redelivered: { ...content.redelivered, ...chat.redelivered },
      };
      expect(ledger.httpRefused + ledger.ingestDeadLettered + ledger.duplicates + ledger.hashed + ledger.hasherDeadLettered).toBe(ledger.contentEvents);
      log(`ledger ${JSON.stringify(ledger)}`);
    }),
  );

  it(
    'opens exactly the expected cases; direct reports for exact verified matches, the rest through the review API; every confirmed case reported once to each authority',
    guarded(async () => {
      const matchCases = expectedMatchCases(events);
      const expectedCount = matchCases.size + new Set(alertsExpected.map((a) => a.conversationId)).size;
      const direct = [...matchCases.values()].filter((c) => c.policy === 'report').length;
      const cases = await reconcileCases(pipeline, matchCases, alertsExpected);

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

      // Delivery: one finished NCMEC report and one accepted EU report per confirmed case, two
      // ReportEmitted per case; without faults, no call and no record is repeated.
      const delivered = await reconcileReports(pipeline, reported);
      expect(delivered.redelivered).toBe(0);
      expect(delivered.unfinishedAtNcmec).toBe(0);
      expect(pipeline.ncmec.callsTo('/finish').length).toBe(reported);
      // Media files of match reports were uploaded (file:// under REPORTER_MEDIA_ROOT).
      const uploads = delivered.ncmecUploads;
      expect(uploads).toBeGreaterThan(0);

      const client = pipeline.transport();

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
