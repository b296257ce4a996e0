// Chat conversations of the end-to-end workload: the held-out test split of the synthetic,
// non-explicit grooming corpus (bench/grooming/corpus/test.jsonl: behavioural patterns such as
// age probing, secrecy, moving apps, meeting requests; never sexual content) with its labels.
// Expected alerts come from @safeguard/grooming run over each conversation with the grooming
// service's default settings: the service must publish exactly those, once each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConversationAnalyzer, InMemoryFanOutTracker } from '@safeguard/grooming';
import { repoRoot } from '@safeguard/testkit';

/** One conversation of the corpus. */
export interface CorpusConversation {
  conversationId: string;
  language?: string;
  participants: Array<{ id: string; declaredAge?: number }>;
  messages: Array<{ id: string; senderId: string; sentAtMs: number; text: string }>;
}

/** The label of a conversation (ground truth of the synthetic corpus). */
export interface CorpusLabel {
  conversationId: string;
  grooming: boolean;
  scenario: string;
}

/** An alert the grooming service must raise. */
export interface ExpectedAlert {
  conversationId: string;
  alertNumber: number;
  messageId: string;
  /** The message's `sentAtMs` (the alert's `raisedAtMs`). */
  raisedAtMs: number;
  /** Schema symbol, e.g. `EXCLUSIVITY`. */
  stage: string;
  suspectId: string;
}

/** Loads a split of the corpus (`test` by default) and its labels. */
export function loadCorpus(split: 'test' | 'tune' = 'test'): { conversations: CorpusConversation[]; labels: Map<string, CorpusLabel> } {
  const dir = join(repoRoot(), 'bench', 'grooming', 'corpus');
  const lines = (f: string) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
  const conversations = lines(`${split}.jsonl`).map((l) => JSON.parse(l) as CorpusConversation);
  const labels = new Map(lines(`${split}.labels.jsonl`).map((l) => {
    const v = JSON.parse(l) as CorpusLabel;
    return [v.conversationId, v] as const;
  }));
  return { conversations, labels };
}

/**
 * The alerts the grooming service must publish for `conversations` on `platformId`, computed with
 * the library and the service's defaults (threshold 0.6, re-alert on stage advance, at most 3,
 * `possible-minor`); the conversation key is `<platformId>/<conversationId>`, as in the service.
 * Fan-out is counted per process here and across replicas there; the corpus never reuses a
 * sender in two conversations, so it cannot differ.
 */
export function expectedAlerts(conversations: readonly CorpusConversation[], platformId: string): ExpectedAlert[] {
  const analyzer = new ConversationAnalyzer({
    config: { alertThreshold: 0.6, rearmBelow: 0.3, maxAlerts: 3, reAlert: 'on-stage-advance', policy: 'possible-minor', halfLifeMs: 14 * 86_400_000 },
    fanOutTracker: new InMemoryFanOutTracker({ windowMs: 7 * 86_400_000, maxSenders: 100_000 }),
  });
  const out: ExpectedAlert[] = [];
  for (const c of conversations) {
    let state = analyzer.createState({
      conversationId: `${platformId}/${c.conversationId}`,
      ...(c.language ? { language: c.language } : {}),
      participants: c.participants.map((p) => ({ id: p.id, ...(p.declaredAge === undefined ? {} : { declaredAge: p.declaredAge }) })),
    });
    if (!state.analysed) continue;
    for (const m of c.messages) {
      // The service keeps state serialised between messages; do the same.
      state = analyzer.deserialize(analyzer.serialize(state));
      const r = analyzer.update(state, { id: m.id, senderId: m.senderId, sentAtMs: m.sentAtMs, text: m.text });
      state = r.state;
      if (r.alert) {
        out.push({
          conversationId: c.conversationId,
          alertNumber: r.alert.alertNumber,
          messageId: r.alert.messageId,
          raisedAtMs: m.sentAtMs,
          stage: r.alert.stage.toUpperCase(),
          suspectId: r.alert.suspectId,
        });
      }
    }
  }
  return out;
}
