import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { createLogger } from '@safeguard/observability';
import { topics, type GroomingAlert, type MatchFound } from '@safeguard/schemas';
import pino from 'pino';
import { DemoPipeline } from '../demo/pipeline';
import {
  deadLetters,
  describeAlert,
  describeMatch,
  DEMO_UPLOADS,
  importBanks,
  prepareMedia,
  readConversations,
  readTopic,
  reviewCases,
  submitConversations,
  submitUploads,
  writeBankFiles,
  writeReports,
} from '../demo/scenario';
import type { CliIo } from '../program';

/** The repository root (this file is packages/cli/dist/commands/demo.js once built). */
const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

interface DemoCommandOptions {
  out: string;
  metricsPort: string;
  keepRunning?: boolean;
  progress: boolean;
  timeout: string;
}

function bar(io: CliIo, enabled: boolean, label: string, total: number): { tick: (n?: number) => void; set: (v: number) => void; stop: () => void } {
  if (!enabled) return { tick: () => undefined, set: () => undefined, stop: () => undefined };
  const b = new SingleBar(
    {
      format: `  ${label.padEnd(28)} [{bar}] {value}/{total}`,
      stream: io.stdout as NodeJS.WriteStream,
      hideCursor: false,
      noTTYOutput: true,
      notTTYSchedule: 500,
      barCompleteChar: '#',
      barIncompleteChar: '.',
    },
  );
  b.start(total, 0);
  return { tick: (n = 1) => b.increment(n), set: (v) => b.update(v), stop: () => b.stop() };
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>, onPoll?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stableSince: number | undefined;
  for (;;) {
    await onPoll?.();
    if (await check()) {
      stableSince ??= Date.now();
      if (Date.now() - stableSince >= 300) return;
    } else stableSince = undefined;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `safeguard demo`: the whole pipeline in one process on the in-process transport, with benign
 * sample images, indicator lists built from some of them, and synthetic conversations. Prints
 * what it found and writes the bank files, the delivered reports and a summary to `--out`.
 */
export function registerDemo(program: Command, io: CliIo, exit: { code: number }): void {
  program
    .command('demo')
    .description('run the embedded demo: all five services in one process, no Kafka needed; writes results to --out')
    .option('--out <dir>', 'output folder (bank files, reports, log, summary)', 'safeguard-demo')
    .option('--metrics-port <port>', 'port of the /metrics /healthz /readyz server while the demo runs (0 = any)', '9464')
    .option('--keep-running', 'keep serving /metrics after the demo until Ctrl-C')
    .option('--no-progress', 'no progress bars')
    .option('--timeout <ms>', 'give up if the pipeline has not settled by then', '120000')
    .action(async (options: DemoCommandOptions) => {
      const outDir = resolve(options.out);
      const timeoutMs = Number(options.timeout);
      rmSync(join(outDir, 'reports'), { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
      const mediaRoot = join(outDir, 'media');
      const logFile = join(outDir, 'demo.log');
      const logger = createLogger({ service: 'demo', level: 'info', destination: pino.destination({ dest: logFile, sync: true }) });
      const say = (line = ''): void => void io.stdout.write(`${line}\n`);

      say('Safeguard embedded demo: ingest, hasher, matcher, grooming and reporter in one process');
      say('on the in-process transport (same partitions, consumer groups and Avro wire format as Kafka).');
      say(`Output: ${outDir}   Service logs: ${logFile}`);
      say('Benign sample images and synthetic conversations only; reports go to local simulators.');
      say();

      say('[1/6] Preparing sample media and indicator lists');
      const files = await prepareMedia(
        { vectorImages: join(REPO_ROOT, 'test', 'fixtures', 'pdq-vectors', 'images'), conversationsFile: '' },
        mediaRoot,
      );
      const bankFiles = await writeBankFiles(mediaRoot, outDir);
      say(`      ${files.length} files in ${mediaRoot}; bank files ${[...bankFiles.values()].map((f) => f.slice(outDir.length + 1)).join(', ')}`);

      const pipeline = await DemoPipeline.start({
        logger,
        metricsPort: Number(options.metricsPort),
        paths: {
          mediaRoot,
          policyFile: join(REPO_ROOT, 'examples', 'demo', 'policy.json'),
          providerFile: join(REPO_ROOT, 'examples', 'demo', 'provider.json'),
          signingKeyFile: join(REPO_ROOT, 'examples', 'keys', 'demo-ed25519.pem'),
        },
      });
      try {
        if (pipeline.health) say(`      metrics: http://127.0.0.1:${pipeline.health.port}/metrics`);
        say('[2/6] Importing indicator lists (as `safeguard bank import` does) into the compacted topic');
        for (const b of await importBanks(pipeline, bankFiles)) say(`      ${b.bank}: ${b.entries} entries`);
        await until('the matcher index', timeoutMs, async () => pipeline.matcher.isReady() && (await pipeline.idle()));

        say('[3/6] Submitting uploads and chat messages through the ingest HTTP API');
        const conversations = readConversations(join(REPO_ROOT, 'examples', 'demo', 'conversations.jsonl'));
        const totalMessages = conversations.reduce((n, c) => n + c.messages.length, 0);
        const b1 = bar(io, options.progress, 'uploads', DEMO_UPLOADS.length);
        const uploads = await submitUploads(pipeline, mediaRoot, () => b1.tick());
        b1.stop();
        const b2 = bar(io, options.progress, 'chat messages', totalMessages);
        await submitConversations(pipeline, conversations, () => b2.tick());
        b2.stop();

        say('[4/6] Waiting for the pipeline to settle (hash, match, score, open cases)');
        const accepted = uploads.filter((u) => u.result === 'accepted').length;
        const b3 = bar(io, options.progress, 'uploads hashed or refused', accepted);
        await until(
          'the pipeline',
          timeoutMs,
          () => pipeline.idle(),
          async () => {
            const hashed = await pipeline.transport.admin().listOffsets(topics.contentHashed.topic);
            const done = hashed.reduce((n, p) => n + Number(p.high), 0) + deadLetters(pipeline, topics.contentSubmitted.topic).length;
            b3.set(Math.min(done, accepted));
          },
        );
        b3.stop();

        say('[5/6] Human review (the demo plays the reviewer through the review API)');
        const decisions = await reviewCases(pipeline);
        for (const d of decisions) say(`      ${d.caseId} (${d.kind}): ${d.outcome}: ${d.why}`);
        say('[6/6] Delivering reports to the local NCMEC and EU Centre simulators');
        await until('report delivery', timeoutMs, async () => {
          await pipeline.reporter.deliverNow();
          const stats = await pipeline.reporter.store.outboxStats();
          return stats.byDestinationState.every((s) => s.state === 'delivered' || s.state === 'failed') && (await pipeline.idle());
        });
        const reports = writeReports(pipeline, join(outDir, 'reports'));

        const uploadsById = new Map(DEMO_UPLOADS.map((u) => [u.contentId, u]));
        const matches = await readTopic<MatchFound>(pipeline, topics.contentMatched);
        const alerts = await readTopic<GroomingAlert>(pipeline, topics.conversationFlagged);
        const dead = deadLetters(pipeline, topics.contentSubmitted.topic);
        const cases = await pipeline.reporter.store.listCases();
        const stats = await pipeline.reporter.store.caseStats();

        say();
        say('Uploads');
        for (const u of uploads) say(`  ${u.upload.contentId} ${(u.upload.file ?? u.upload.uri ?? '').padEnd(26)} ingest: ${u.result.padEnd(22)} (${u.upload.note})`);
        for (const d of dead) say(`  dead-lettered by the hasher: ${d.key} reason ${d.reason}`);
        say();
        say(`Matches (${matches.length} match events; allow-listed and unrelated uploads produce none)`);
        for (const m of matches) say(`  ${describeMatch(m, uploadsById)}`);
        say();
        say(`Grooming alerts (${alerts.length} alerts in ${new Set(alerts.map((a) => a.conversationId)).size} of ${conversations.length} conversations; a later alert means a later stage; message text never leaves the grooming service)`);
        for (const a of alerts) say(`  ${describeAlert(a)}`);
        say();
        say(`Cases: ${cases.length} (${Object.entries(stats.byState).map(([s, n]) => `${s} ${n}`).join(', ')})`);
        for (const c of cases) say(`  ${c.caseId} ${c.kind} subject ${c.subjectId}: ${c.items.length} item(s), state ${c.state}${c.policy ? `, policy rule ${c.policy.ruleId}` : ''}`);
        say();
        say(`Reports: NCMEC ${reports.ncmecFinished} finished; EU Centre ${reports.euTotal} accepted, ${reports.euVerified} with a valid signature`);
        say(`  written to ${join(outDir, 'reports')}: ${reports.files.join(', ') || '(none)'}`);

        const summary = {
          uploads: uploads.map((u) => ({ contentId: u.upload.contentId, file: u.upload.file ?? null, ingest: u.result })),
          deadLetters: dead,
          matches: matches.map((m) => ({ contentId: m.contentId, decision: m.decision, matches: m.matches.map((d) => ({ bank: d.bank.name, entryId: d.entryId, algorithm: d.algorithm, distance: d.distance, variant: d.queryVariant })) })),
          alerts: alerts.map((a) => ({ conversationId: a.conversationId, score: a.score, stage: a.stage, signals: a.signals.map((s) => s.kind), evidenceMessageIds: a.evidenceMessageIds })),
          decisions,
          cases: cases.map((c) => ({ caseId: c.caseId, kind: c.kind, state: c.state, items: c.items.length })),
          reports,
        };
        writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
        say(`Summary: ${join(outDir, 'summary.json')}`);

        if (options.keepRunning && pipeline.health) {
          say(`Serving http://127.0.0.1:${pipeline.health.port}/metrics until Ctrl-C`);
          await new Promise<void>((r) => process.once('SIGINT', () => r()));
        }
      } catch (err) {
        exit.code = 1;
        io.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)} (service logs: ${logFile})\n`);
      } finally {
        await pipeline.stop();
        logger.flush();
      }
    });
}
