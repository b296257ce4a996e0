/**
 * Grooming scoring throughput (single thread) and serialised state sizes.
 *
 *   npx tsx bench/grooming/throughput.ts
 *
 * Streams every message of the synthetic corpus (both splits, repeated) through
 * ConversationAnalyzer.update, one state per conversation, and reports messages per second on
 * this core: `update` alone, and `update` + `serialize` (what the service does before writing
 * its changelog). Also reports the serialised state size per conversation (after its last
 * message and its maximum over the conversation). Runs several trials (the machine may be
 * shared) and reports the median trial and the best one, with the load average and for long synthetic conversations with
 * UUID ids. Rates are given per wall-clock second and per CPU second of the process (the
 * per-core rate on a dedicated core; wall-clock rates drop when other work shares the core).
 * Writes bench/results/grooming-throughput.json. There is no reference
 * implementation to run side by side; the naive keyword matcher of evaluate.ts is timed as a
 * floor for comparison.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ConversationAnalyzer, serializeState, type ConversationState } from '@safeguard/grooming';
import { generateSplit } from './corpus/generate';
import { median, percentile } from './metrics';

const ROUNDS = Number(process.env.GROOMING_BENCH_ROUNDS ?? 4);
const items = [...generateSplit('tune'), ...generateSplit('test')];
const analyzer = new ConversationAnalyzer();

/** Messages of all conversations, interleaved round-robin as a partitioned stream would deliver them. */
function interleaved(): Array<{ conv: number; msg: number }> {
  const out: Array<{ conv: number; msg: number }> = [];
  const maxLen = Math.max(...items.map((x) => x.conversation.messages.length));
  for (let m = 0; m < maxLen; m++) for (let c = 0; c < items.length; c++) if (m < items[c].conversation.messages.length) out.push({ conv: c, msg: m });
  return out;
}

function run(order: Array<{ conv: number; msg: number }>, serialize: boolean, rounds: number): { messages: number; seconds: number; cpuSeconds: number; bytes: number } {
  let bytes = 0;
  let messages = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    const states: ConversationState[] = items.map((x) =>
      analyzer.createState({ conversationId: `${x.conversation.conversationId}#${r}`, language: x.conversation.language, participants: x.conversation.participants }),
    );
    for (const { conv, msg } of order) {
      const res = analyzer.update(states[conv], items[conv].conversation.messages[msg]);
      states[conv] = res.state;
      if (serialize) bytes += serializeState(res.state).length;
      messages++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { messages, seconds, cpuSeconds: (c.user + c.system) / 1e6, bytes };
}

function keywordFloor(order: Array<{ conv: number; msg: number }>, rounds: number): number {
  const re = /how old|secret|don'?t tell|delete|alone|parents home|pic of you|snap|meet|webcam|mature|robux|vbucks|wearing|kiss/;
  let n = 0;
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (const { conv, msg } of order) {
      if (re.test(items[conv].conversation.messages[msg].text.toLowerCase())) hits++;
      n++;
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return hits >= 0 ? n / s : 0;
}

function sizes(): { finalBytes: number[]; maxBytes: number[] } {
  const finalBytes: number[] = [];
  const maxBytes: number[] = [];
  for (const x of items) {
    let s = analyzer.createState({ conversationId: x.conversation.conversationId, language: x.conversation.language, participants: x.conversation.participants });
    let max = serializeState(s).length;
    for (const m of x.conversation.messages) {
      s = analyzer.update(s, m).state;
      max = Math.max(max, serializeState(s).length);
    }
    finalBytes.push(serializeState(s).length);
    maxBytes.push(max);
  }
  return { finalBytes, maxBytes };
}

/** A long conversation with UUID ids where the adult raises every signal again and again. */
function worstCase(messages: number, participants: number): number {
  const ids = Array.from({ length: participants }, () => randomUUID());
  let s = analyzer.createState({ conversationId: randomUUID(), participants: ids.map((id, i) => ({ id, declaredAge: i === 0 ? 40 : 13 })) });
  const texts = items.filter((x) => x.label.grooming).flatMap((x) => x.conversation.messages.map((m) => m.text));
  for (let i = 0; i < messages; i++) {
    s = analyzer.update(s, { id: randomUUID(), senderId: ids[i % participants], sentAtMs: 1.75e12 + i * 30_000, text: texts[i % texts.length] }).state;
  }
  return serializeState(s).length;
}

const TRIALS = Number(process.env.GROOMING_BENCH_TRIALS ?? 5);
const order = interleaved();
run(order, false, 2); // warm-up (JIT, lexicon compilation)
// Several short trials: the machine is shared, so report the median and the best trial.
const rate = (x: { messages: number; seconds: number }): number => x.messages / x.seconds;
/** Messages per second of CPU time used by this process: the rate on a dedicated core. */
const cpuRate = (x: { messages: number; cpuSeconds: number }): number => x.messages / x.cpuSeconds;
const plainTrials = Array.from({ length: TRIALS }, () => run(order, false, ROUNDS));
const serializeTrials = Array.from({ length: TRIALS }, () => run(order, true, ROUNDS));
const plain = plainTrials.sort((a, b) => rate(a) - rate(b))[TRIALS >> 1];
const withSerialize = serializeTrials.sort((a, b) => rate(a) - rate(b))[TRIALS >> 1];
const floor = keywordFloor(order, ROUNDS);
const { finalBytes, maxBytes } = sizes();
const summary = (xs: number[]) => ({ p50: median(xs), p90: percentile(xs, 0.9), p99: percentile(xs, 0.99), max: Math.max(...xs) });
const result = {
  benchmark: 'grooming-throughput',
  generatedBy: 'npx tsx bench/grooming/throughput.ts',
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  node: process.version,
  threads: 1,
  corpus: { conversations: items.length, messagesPerRound: order.length, rounds: ROUNDS },
  loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
  trials: TRIALS,
  messagesPerCpuSecond: {
    update: Math.round(cpuRate(plain)),
    updateAndSerialize: Math.round(cpuRate(withSerialize)),
    note: 'messages / (user + system CPU seconds of the process, GC threads included): the single-core rate when the core is not shared',
  },
  messagesPerSecond: {
    update: Math.round(rate(plain)),
    updateBestTrial: Math.round(rate(plainTrials[TRIALS - 1])),
    updateAndSerialize: Math.round(rate(withSerialize)),
    updateAndSerializeBestTrial: Math.round(rate(serializeTrials[TRIALS - 1])),
    naiveKeywordRegexFloor: Math.round(floor),
  },
  ratioUpdateToKeywordFloor: Math.round((plain.messages / plain.seconds / floor) * 1000) / 1000,
  meanSerializedBytesPerUpdate: Math.round(withSerialize.bytes / withSerialize.messages),
  stateBytes: {
    corpusFinal: summary(finalBytes),
    corpusMaxOverConversation: summary(maxBytes),
    worstCaseTwoParticipants1000MessagesUuidIds: worstCase(1000, 2),
    worstCaseEightParticipants1000MessagesUuidIds: worstCase(1000, 8),
  },
  targets: { messagesPerSecondPerCore: 20000, stateBytes: 2048 },
};
mkdirSync(join(__dirname, '..', 'results'), { recursive: true });
writeFileSync(join(__dirname, '..', 'results', 'grooming-throughput.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
