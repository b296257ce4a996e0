import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConversationAnalyzer, InMemoryFanOutTracker, type ChatMessage, type ConversationMeta } from '@safeguard/grooming';
import type { CliIo } from '../program';

/** One input line of `safeguard grooming score`. */
interface InputConversation {
  conversationId: string;
  language?: string;
  participants: Array<{ id: string; declaredAge?: number }>;
  messages: ChatMessage[];
}

class LineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function threshold(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('must be a number in (0, 1]');
  return n;
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;

/** Parses and validates one JSONL line; throws {@link LineError} with a reason code. */
function parseLine(text: string): InputConversation {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new LineError('json_invalid', 'line is not valid JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LineError('line_not_object', 'line must be a JSON object');
  const o = v as Record<string, unknown>;
  if (!isId(o.conversationId)) throw new LineError('conversation_id_invalid', 'conversationId must be a 1-256 character string');
  if (o.language !== undefined && typeof o.language !== 'string') throw new LineError('language_invalid', 'language must be a string');
  if (!Array.isArray(o.participants)) throw new LineError('participants_invalid', 'participants must be an array');
  o.participants.forEach((p: unknown, i) => {
    const q = p as Record<string, unknown> | null;
    if (q === null || typeof q !== 'object' || !isId(q.id)) throw new LineError('participants_invalid', `participants[${i}].id must be a 1-256 character string`);
    if (q.declaredAge !== undefined && !(typeof q.declaredAge === 'number' && q.declaredAge >= 0 && q.declaredAge <= 130)) {
      throw new LineError('participants_invalid', `participants[${i}].declaredAge must be a number 0-130`);
    }
  });
  if (!Array.isArray(o.messages)) throw new LineError('messages_invalid', 'messages must be an array');
  o.messages.forEach((m: unknown, i) => {
    const q = m as Record<string, unknown> | null;
    if (q === null || typeof q !== 'object') throw new LineError('messages_invalid', `messages[${i}] must be an object`);
    if (!isId(q.id)) throw new LineError('messages_invalid', `messages[${i}].id must be a 1-256 character string`);
    if (!isId(q.senderId)) throw new LineError('messages_invalid', `messages[${i}].senderId must be a 1-256 character string`);
    if (typeof q.sentAtMs !== 'number' || !Number.isFinite(q.sentAtMs)) throw new LineError('messages_invalid', `messages[${i}].sentAtMs must be a finite number`);
    if (typeof q.text !== 'string') throw new LineError('messages_invalid', `messages[${i}].text must be a string`);
  });
  return o as unknown as InputConversation;
}

/**
 * `safeguard grooming score FILE.jsonl`: scores conversations message by message, as a stream
 * would (messages in file order). Input: one conversation per line,
 * `{"conversationId","language"?,"participants":[{"id","declaredAge"?}],"messages":[{"id","senderId","sentAtMs","text"}]}`.
 * Output: one JSON line per message, `{"conversationId","messageId","score","alert"}`, where
 * `alert` is true from the message at which the first alert fires (with `--explain` also
 * `stage`, `suspectId`, `signals` and `alertFired`). A bad line is reported on stderr as
 * `line N: <code>: <reason>` and skipped; the rest is still processed; the exit status is then 1.
 * `FILE` may be `-` for standard input.
 */
export const registerGrooming = (program: Command, io: CliIo, exit: { code: number }): void => {
  const grooming = program.command('grooming').description('Grooming-risk analysis of chat conversations (alerts need human review)');
  grooming
    .command('score')
    .description('Score JSONL conversations message by message; one JSON line per message')
    .argument('<file>', 'JSONL file, one conversation per line ("-" for stdin)')
    .option('--threshold <score>', 'alert threshold in (0, 1] (default 0.6)', threshold)
    .addOption(new Option('--policy <policy>', 'which conversations are analysed').choices(['possible-minor', 'declared-minor', 'all']))
    .option('--fan-out', 'track adults writing to several minors across the conversations of the file')
    .option('--explain', 'add stage, suspectId, raised signals and alertFired to each line')
    .action(async (file: string, opts: { threshold?: number; policy?: 'possible-minor' | 'declared-minor' | 'all'; fanOut?: boolean; explain?: boolean }) => {
      const analyzer = new ConversationAnalyzer({
        config: {
          ...(opts.threshold === undefined ? {} : { alertThreshold: opts.threshold, rearmBelow: Math.min(0.3, opts.threshold / 2) }),
          ...(opts.policy === undefined ? {} : { policy: opts.policy }),
        },
        ...(opts.fanOut ? { fanOutTracker: new InMemoryFanOutTracker() } : {}),
      });
      const input = file === '-' ? process.stdin : createReadStream(file);
      const opened = new Promise<void>((resolve, reject) => {
        if (file === '-') resolve();
        else {
          input.once('open', () => resolve());
          input.once('error', reject);
        }
      });
      try {
        await opened;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file_not_found' : 'file_unreadable';
        await write(io.stderr, `safeguard grooming score: ${code}: cannot read ${file}\n`);
        exit.code = 1;
        return;
      }
      const lines = createInterface({ input, crlfDelay: Infinity });
      let lineNo = 0;
      for await (const raw of lines) {
        lineNo++;
        if (raw.trim() === '') continue;
        let conv: InputConversation;
        try {
          conv = parseLine(raw);
        } catch (err) {
          const e = err instanceof LineError ? err : new LineError('line_invalid', String(err));
          await write(io.stderr, `line ${lineNo}: ${e.code}: ${e.message}\n`);
          exit.code = 1;
          continue;
        }
        const meta: ConversationMeta = {
          conversationId: conv.conversationId,
          ...(conv.language === undefined ? {} : { language: conv.language }),
          participants: conv.participants,
        };
        let state = analyzer.createState(meta);
        let out = '';
        for (const m of conv.messages) {
          const r = analyzer.update(state, m);
          state = r.state;
          const line: Record<string, unknown> = {
            conversationId: conv.conversationId,
            messageId: m.id,
            score: Math.round(r.score * 10_000) / 10_000,
            alert: r.alerted,
          };
          if (opts.explain) {
            line.stage = r.stage;
            line.suspectId = r.suspectId;
            line.signals = r.signals.map((s) => s.signal);
            line.alertFired = r.alert?.reason ?? null;
          }
          out += JSON.stringify(line) + '\n';
        }
        await write(io.stdout, out);
      }
    });
};

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (text.length === 0 || stream.write(text)) resolve();
    else stream.once('drain', () => resolve());
  });
}
