// Faults while the pipeline works: the five services as separate processes on a broker and
// registry of this test alone (PrivateInfra: the broker is restarted, which the shared one must
// never be), a stream of content events and chat messages through ingest's HTTP API and its Kafka
// input, and meanwhile each service killed once with `kill -9` and started again, then the broker
// stopped and started again on its data. Afterwards every input is reconciled exactly as in the
// end-to-end test: nothing lost, nothing unexpected dead-lettered, every match, alert, case and
// report present once by its id (repeats counted, identical copies only), each report delivered
// once to the simulators. Chat messages ingest publishes again after its crash must not change
// grooming's alerts: exactly the corpus's are required. Recovery times go to the output and to
// bench/results/faults.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopicBinding } from '@safeguard/kafka';
import { renameTopic, topics, type ChatMessage } from '@safeguard/schemas';
import { repoRoot, waitFor } from '@safeguard/testkit';
import { expectedAlerts, loadCorpus, type CorpusConversation, type ExpectedAlert } from '../e2e/chat-corpus';
import { buildMediaLibrary, type MediaFile } from '../e2e/media-library';
import { bankFileText, type BankSpec } from '../e2e/model';
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
  stageInputs,
  waitForDrain,
  type Answer,
} from '../e2e/reconcile';
import { buildWorkload, workloadBanks, type ContentEvent } from '../e2e/workload';
import { jsonRequest, mapLimit } from '../support/http';
import { Pipeline, PLATFORM_ID, SERVICE_NAMES, type ServiceName } from '../support/pipeline';
import { PrivateInfra } from '../support/private-infra';
import { sumSamples } from '../support/prometheus';
import { readTopic, topicSize } from '../support/topics';
import { chatRepeats, Gate, retrying, round1, slices, type FaultTiming } from './faults';

jest.setTimeout(900_000);

const DAY_MS = 86_400_000;
/** Content events of the stream (refusals, dead letters and resubmissions included). */
const CONTENT_EVENTS = 320;
/** Every n-th conversation of the corpus's test split. */
const CONVERSATION_STRIDE = 5;
/** The faults, in order; a slice of the stream is sent around each, and one after the last. */
const FAULTS: ReadonlyArray<ServiceName | 'broker'> = ['ingest', 'hasher', 'matcher', 'grooming', 'reporter', 'broker'];
/** How long each slice's submissions are spread over, ms; the fault comes FAULT_AT_MS into it. */
const SLICE_MS = 8_000;
const FAULT_AT_MS = 3_000;
/** Deadline for a group to commit again after its fault (a measurement, not an assertion). */
const RESUME_DEADLINE_MS = 60_000;
const DRAIN_MS = 300_000;
/** SAFEGUARD_KEEP_LOGS=1 keeps the services' logs of a passing run too (to read what a recovery did). */
const keepLogs = process.env.SAFEGUARD_KEEP_LOGS === '1';

function log(message: string): void {
  process.stdout.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

describe('the pipeline under faults (kill -9 of each service, broker restart; private broker and registry)', () => {
  let dir: string;
  let mediaDir: string;
  let infra: PrivateInfra | undefined;
  let pipeline: Pipeline | undefined;
  let files: MediaFile[];
  let banks: BankSpec[];
  let conversations: CorpusConversation[];
  let labels: Map<string, { grooming: boolean }>;
  let alertsExpected: ExpectedAlert[];
  let failed = false;
  const started = Date.now();
  const timings: FaultTiming[] = [];
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'safeguard-faults-'));
    mediaDir = join(dir, 'media');
    mkdirSync(mediaDir);
    const [library, privateInfra] = await Promise.all([buildMediaLibrary(mediaDir), PrivateInfra.start()]);
    files = library;
    infra = privateInfra;
    figures.infraStartSeconds = round1((Date.now() - started) / 1000);
    pipeline = await Pipeline.start({ env: infra.env, fileRoots: [mediaDir], mediaRoot: mediaDir, extraEnv: { reporter: { REPORTER_CASE_WINDOW_MS: String(30 * DAY_MS) } } });
    figures.pipelineStartSeconds = round1((Date.now() - started) / 1000 - (figures.infraStartSeconds as number));
    banks = workloadBanks(files);
    const corpus = loadCorpus('test');
    conversations = corpus.conversations.filter((_, i) => i % CONVERSATION_STRIDE === 0);
    labels = corpus.labels;
    alertsExpected = expectedAlerts(conversations, PLATFORM_ID);
    log(`private broker ${infra.env.brokersCsv}, pipeline ready (prefix ${pipeline.prefix}) after ${Math.round((Date.now() - started) / 1000)} s`);
  });

  afterAll(async () => {
    try {
      if (pipeline) {
        await pipeline.stop({ keepWorkDir: failed });
        if (failed) process.stderr.write(`service logs kept in ${pipeline.workDir}/logs\n`);
      }
    } finally {
      await infra?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
      log(`stopped; total ${Math.round((Date.now() - started) / 1000)} s`);
    }
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

  let events: ContentEvent[] = [];

  it(
    'loses nothing and duplicates nothing while each service is killed and restarted and the broker restarts mid-stream',
    guarded(async () => {
      const p = pipeline!;
      const client = p.transport();
      for (const bank of banks) {
        const file = join(dir, `${bank.name}.tsv`);
        writeFileSync(file, bankFileText(bank));
        await p.cli(['bank', 'import', '--bank', bank.name, '--kind', bank.kind, '--source', bank.source, '--threshold', String(bank.threshold), file]);
      }
      const entries = banks.reduce((n, b) => n + b.entries.length, 0);
      await waitFor(async () => sumSamples(await p.scrape('matcher'), 'safeguard_matcher_index_entries') === entries, { timeoutMs: 60_000, description: `${entries} entries in the matcher's index` });

      // The stream: originals in slices (one per fault and one after), resubmissions at the end
      // (only of originals sent after ingest's restart: its de-duplication memory is per process).
      const workload = buildWorkload(files, banks, { mediaRoot: mediaDir, events: CONTENT_EVENTS }).events;
      const originals = workload.filter((e) => e.expect.kind !== 'duplicate');
      const contentSlices = slices(originals, FAULTS.length + 1);
      const inFirstSlice = new Set(contentSlices[0]!.map((e) => e.contentId));
      const duplicates = workload.filter((e) => e.expect.kind === 'duplicate' && !inFirstSlice.has(e.contentId));
      events = [...originals, ...duplicates];
      const chatSlices = slices(conversations, FAULTS.length + 1);

      const gate = new Gate();
      const answers = new Map<string, Answer>();
      const duplicateAnswers: Answer[] = [];
      const chatAnswers: Answer[] = [];
      const retries = { http503: 0, httpNetwork: 0, kafkaSend: 0 };
      const contentBinding = renameTopic(topics.platformContentUploaded, p.topic(topics.platformContentUploaded.topic));
      const messageBinding = renameTopic(topics.platformMessageSent, p.topic(topics.platformMessageSent.topic));
      const producer = client.producer();

      /** One ingest request, retried (same body) on 503 and on network errors until answered. */
      async function post(path: string, body: unknown): Promise<Answer> {
        await gate.enter();
        try {
          const { value } = await retrying(
            async () => {
              let a: Answer;
              try {
                a = await jsonRequest<Answer['body']>('POST', `${p.url('ingest')}${path}`, p.keys.ingest, body);
              } catch (err) {
                retries.httpNetwork++;
                throw err;
              }
              if (a.status === 503) {
                retries.http503++;
                return undefined;
              }
              return a;
            },
            { timeoutMs: 180_000, intervalMs: 500, description: `POST ${path}` },
          );
          return value;
        } finally {
          gate.leave();
        }
      }

      /** One Kafka send of the test (the same records again when it fails, e.g. while the broker restarts). */
      async function produce<V>(binding: TopicBinding<V>, values: V[]): Promise<void> {
        const { failures } = await retrying(() => producer.send(binding, values.map((value) => ({ value }))).then(() => true), { timeoutMs: 180_000, intervalMs: 500, description: 'produce' });
        retries.kafkaSend += failures;
      }

      async function sendContent(e: ContentEvent): Promise<void> {
        if (e.channel === 'kafka') return produce(contentBinding, [contentKafkaValue(e, PLATFORM_ID)]);
        const a = await post('/v1/content', e.rawBody ?? contentHttpBody(e, Date.now()));
        if (e.expect.kind === 'duplicate') duplicateAnswers.push(a);
        else answers.set(e.contentId, a);
      }

      /** Sends a slice spread over SLICE_MS: contents at even intervals, conversations message by message. */
      async function sendSlice(k: number): Promise<void> {
        const t0 = Date.now();
        const content = contentSlices[k]!;
        const convs = chatSlices[k]!;
        await Promise.all([
          ...content.map(async (e, i) => {
            await sleep(t0 + (i * SLICE_MS) / content.length - Date.now());
            await sendContent(e);
          }),
          mapLimit(convs, 6, async (c, i) => {
            if (i % 10 < 3) {
              await sleep(t0 + (i * SLICE_MS) / convs.length - Date.now());
              await produce(messageBinding, c.messages.map((m) => chatKafkaValue(c, m, PLATFORM_ID)));
              return;
            }
            const gap = SLICE_MS / 2 / Math.max(1, c.messages.length);
            for (const m of c.messages) {
              chatAnswers.push(await post('/v1/messages', chatHttpBody(c, m)));
              await sleep(gap);
            }
          }),
        ]);
      }

      /** Sum of the group's committed offsets on its input topics (a partition without a commit counts 0). */
      async function committed(service: ServiceName): Promise<number> {
        const admin = client.admin();
        let n = 0;
        for (const [s, topic] of stageInputs(p)) {
          if (s !== service) continue;
          for (const c of await admin.committedOffsets(p.group(service), topic)) n += Math.max(0, Number(c.offset));
        }
        return n;
      }

      /** Seconds from `t0` until the group commits past `from` (null: no progress before the deadline). */
      async function resumed(service: ServiceName, from: number, t0: number): Promise<number | null> {
        const deadline = Date.now() + RESUME_DEADLINE_MS;
        while (Date.now() < deadline) {
          try {
            if ((await committed(service)) > from) return (Date.now() - t0) / 1000;
          } catch {
            // The broker may still be settling after a restart: poll again.
          }
          await sleep(250);
        }
        return null;
      }

      /**
       * Grooming's messages by outcome (`duplicate/<reason>` for duplicates), summed over its
       * incarnations: scraped before its kill and at the end (a record handled again after its own
       * restart counts again).
       */
      const groomingOutcomes: Record<string, number> = {};
      const addGroomingOutcomes = async (): Promise<void> => {
        for (const s of await p.scrape('grooming')) {
          if (s.name !== 'safeguard_grooming_messages_total') continue;
          const k = s.labels.reason === undefined ? s.labels.outcome! : `${s.labels.outcome}/${s.labels.reason}`;
          groomingOutcomes[k] = (groomingOutcomes[k] ?? 0) + s.value;
        }
      };

      const streamStart = Date.now();
      async function inject(fault: ServiceName | 'broker'): Promise<void> {
        const t0 = Date.now();
        const atSeconds = round1((t0 - streamStart) / 1000);
        if (fault === 'broker') {
          const { seconds } = await infra!.restartKafka();
          const after = await retrying(async () => Promise.all(SERVICE_NAMES.map((s) => committed(s))), { timeoutMs: 60_000, intervalMs: 250, description: 'committed offsets after the broker restart' });
          const back = await Promise.all(SERVICE_NAMES.map(async (s, i) => [s, await resumed(s, after.value[i]!, t0)] as const));
          timings.push({ fault: 'broker restart', atSeconds, readySeconds: round1(seconds), resumedSeconds: Object.fromEntries(back.map(([s, v]) => [s, v === null ? null : round1(v)])) });
        } else {
          if (fault === 'ingest') await gate.close();
          if (fault === 'grooming') await addGroomingOutcomes();
          await p.kill(fault);
          const from = await committed(fault);
          const restarted = p.start(fault);
          const resume = resumed(fault, from, t0);
          await restarted;
          const readySeconds = (Date.now() - t0) / 1000;
          if (fault === 'ingest') gate.open();
          const r = await resume;
          timings.push({ fault: `kill -9 ${fault}`, atSeconds, readySeconds: round1(readySeconds), resumedSeconds: { [fault]: r === null ? null : round1(r) } });
        }
        const t = timings.at(-1)!;
        log(`${t.fault} at ${t.atSeconds} s: ready after ${t.readySeconds} s, processing again after ${JSON.stringify(t.resumedSeconds)} s`);
      }

      for (let k = 0; k <= FAULTS.length; k++) {
        const fault = FAULTS[k];
        await Promise.all([sendSlice(k), fault === undefined ? Promise.resolve() : sleep(FAULT_AT_MS).then(() => inject(fault))]);
      }
      for (const e of duplicates) await sendContent(e);
      const streamSeconds = (Date.now() - streamStart) / 1000;
      log(`stream sent in ${streamSeconds.toFixed(1)} s: ${events.length} content events, ${conversations.reduce((n, c) => n + c.messages.length, 0)} messages; retries ${JSON.stringify(retries)}`);

      // Ingest's answers: refusals with their codes, acceptances, duplicates.
      for (const e of originals) {
        if (e.channel !== 'http') continue;
        const a = answers.get(e.contentId);
        if (e.expect.kind === 'http_refused') expect({ id: e.contentId, status: a?.status, code: a?.body?.error?.code }).toEqual({ id: e.contentId, status: e.expect.status, code: e.expect.code });
        else expect({ id: e.contentId, status: a?.status }).toEqual({ id: e.contentId, status: 202 });
      }
      expect(duplicateAnswers.map((a) => [a.status, a.body?.status])).toEqual(Array(duplicates.filter((e) => e.channel === 'http').length).fill([200, 'duplicate']));
      expect(chatAnswers.filter((a) => a.status !== 202)).toEqual([]);

      const accepted = events.filter((e) => e.expect.kind === 'hashed' || e.expect.kind === 'hasher_dlq');
      const drained = await waitForDrain(p, accepted.length, DRAIN_MS);
      log(`all stages caught up ${drained.allSeconds.toFixed(1)} s after the last submission`);

      // Everything accounted for, exactly as in the end-to-end test.
      const content = await reconcileContent(p, events);
      // Grooming's input as it is: chat records ingest published again after its crash (same
      // message, a later offset; ingest's Kafka input is at-least-once) are repeats grooming must
      // skip by the platform message id, so the alerts must be exactly the corpus's. The order of
      // first appearances must be the corpus's too: nothing lost or reordered.
      const chatRecords = await readTopic<ChatMessage>(client, topics.chatMessageSent, p.topic(topics.chatMessageSent.topic));
      const { firstIds, repeatedAtMs, repeatsByConversation } = chatRepeats(chatRecords.map((r) => ({ conversationId: r.value!.conversationId, messageId: r.value!.messageId, timestampMs: r.timestampMs })));
      for (const c of conversations) expect({ conversation: c.conversationId, ids: firstIds.get(c.conversationId) }).toEqual({ conversation: c.conversationId, ids: c.messages.map((m) => m.id) });
      await addGroomingOutcomes();
      log(`chat repeats in grooming's input ${JSON.stringify(Object.fromEntries(repeatsByConversation))}; grooming's outcomes ${JSON.stringify(groomingOutcomes)}`);
      const chat = await reconcileChat(p, conversations, alertsExpected, []);
      // No dead letters but the expected ones (ingest's and the hasher's, checked above).
      const expectedDlqs = new Set([`${p.topic(topics.contentSubmitted.topic)}.dlq`, `${p.topic(topics.platformContentUploaded.topic)}.dlq`]);
      const dlqs = (await client.admin().listTopics()).filter((t) => t.startsWith(p.prefix) && t.endsWith('.dlq') && !expectedDlqs.has(t));
      const unexpected = await Promise.all(dlqs.map(async (t) => [t, await topicSize(client, t)] as const));
      expect(unexpected.filter(([, n]) => n > 0)).toEqual([]);

      figures.stream = {
        contentEvents: events.length,
        published: content.published,
        hashed: content.hashed,
        hasherDeadLettered: content.hasherDeadLettered,
        ingestDeadLettered: content.ingestDeadLettered,
        matched: content.matched,
        chatMessages: chat.chatMessages,
        alerts: chat.alerts,
        redelivered: { ...content.redelivered, ...chat.redelivered },
        chatRecordsRepeated: repeatedAtMs.length,
        chatRepeatsAtSeconds: repeatedAtMs.map((t) => round1((t - streamStart) / 1000)),
        chatRepeatsByConversation: Object.fromEntries(repeatsByConversation),
        chatRepeatsSkippedByGrooming: groomingOutcomes['duplicate/message_id'] ?? 0,
        groomingOutcomes,
        retries,
        streamSeconds: round1(streamSeconds),
        drainSeconds: round1(drained.allSeconds),
      };
      log(`ledger ${JSON.stringify(figures.stream)}`);
    }),
  );

  it(
    'opens exactly the expected cases and delivers every confirmed case once to each authority',
    guarded(async () => {
      const p = pipeline!;
      const matchCases = expectedMatchCases(events);
      const direct = [...matchCases.values()].filter((c) => c.policy === 'report').length;
      const cases = await reconcileCases(p, matchCases, alertsExpected);
      // The test is the reviewer: match cases confirmed, grooming cases by the corpus labels.
      const pending = cases.filter((c) => c.state === 'pending_review');
      expect(pending.length).toBe(cases.length - direct);
      let confirmed = 0;
      await mapLimit(pending, 4, async (c) => {
        const body =
          c.kind === 'match'
            ? { outcome: 'confirm', category: 'known_material', industryClassification: 'A1' }
            : labels.get(c.subjectId)?.grooming
              ? { outcome: 'confirm', category: 'solicitation' }
              : { outcome: 'false_positive', reasonCode: 'benign_conversation' };
        if (body.outcome === 'confirm') confirmed++;
        const claim = await jsonRequest('POST', `${p.url('reporter')}/v1/cases/${c.caseId}/claim`, p.keys.reviewer, {});
        expect([c.caseId, claim.status]).toEqual([c.caseId, 200]);
        const decided = await jsonRequest('POST', `${p.url('reporter')}/v1/cases/${c.caseId}/decision`, p.keys.reviewer, body);
        expect([c.caseId, decided.status]).toEqual([c.caseId, 200]);
      });
      const delivered = await reconcileReports(p, direct + confirmed);
      figures.reports = { cases: cases.length, direct, confirmedByReview: confirmed, ...delivered };
      log(`reports ${JSON.stringify(figures.reports)}`);
    }),
  );

  it(
    'ends with every service stopping gracefully; the only abnormal exits are the kills',
    guarded(async () => {
      const p = pipeline!;
      const stops = await p.stop({ keepWorkDir: failed || keepLogs });
      if (keepLogs) log(`service logs kept in ${p.workDir}/logs`);
      expect(stops.map((s) => [s.service, s.code, s.signal]).sort()).toEqual(SERVICE_NAMES.map((s) => [s, 0, null]).sort());
      expect(p.exits.filter((e) => e.code !== 0).map((e) => [e.service, e.incarnation, e.signal])).toEqual(FAULTS.filter((f) => f !== 'broker').map((s) => [s, 1, 'SIGKILL']));

      const totalSeconds = round1((Date.now() - started) / 1000);
      const out = {
        description: 'Fault test (test/faults/pipeline-faults.int.test.ts): kill -9 of each service and a broker restart mid-stream; recovery times in seconds',
        date: new Date().toISOString(),
        cpus: cpus().length,
        loadAverage1m: round1(loadavg()[0]!),
        sessionTimeoutMs: 10_000,
        faults: timings,
        ...figures,
        testSeconds: totalSeconds,
      };
      const resultsDir = join(repoRoot(), 'bench', 'results');
      mkdirSync(resultsDir, { recursive: true });
      writeFileSync(join(resultsDir, 'faults.json'), `${JSON.stringify(out, null, 2)}\n`);
      log(`recovery ${JSON.stringify(timings)}; written to bench/results/faults.json`);
    }),
  );
});
