import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, runCli } from '../testing/run-cli';

async function run(args: string[]): Promise<{ lines: Record<string, unknown>[]; err: string; code: number }> {
  const { out, err, code } = await runCli(args);
  return { lines: jsonLines(out), err, code };
}

const T0 = Date.UTC(2026, 0, 10, 15);
const grooming = {
  conversationId: 'g1',
  language: 'en',
  participants: [
    { id: 'adult', declaredAge: 35 },
    { id: 'kid', declaredAge: 13 },
  ],
  messages: [
    'hey, saw your drawing online, it is great',
    'thanks!',
    'how old are you?',
    'im 13',
    'you are really mature for your age',
    'are your parents home right now?',
    'this stays between us ok, dont tell your mom',
    'we should meet up this weekend',
  ].map((text, i) => ({ id: `g1-${i}`, senderId: i === 1 || i === 3 ? 'kid' : 'adult', sentAtMs: T0 + i * 60_000, text })),
};
const benign = {
  conversationId: 'b1',
  participants: [{ id: 'p1' }, { id: 'p2' }],
  messages: [
    { id: 'b1-0', senderId: 'p1', sentAtMs: T0, text: 'did you finish the maths homework' },
    { id: 'b1-1', senderId: 'p2', sentAtMs: T0 + 1000, text: 'yes, question 4 was hard' },
  ],
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'safeguard-cli-grooming-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safeguard grooming score', () => {
  it('prints one line per message with score and alert, alert true from the alerting message on', async () => {
    const file = join(dir, 'ok.jsonl');
    writeFileSync(file, [JSON.stringify(grooming), JSON.stringify(benign)].join('\n') + '\n');
    const { lines, code, err } = await run(['grooming', 'score', file]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(lines).toHaveLength(10);
    expect(Object.keys(lines[0]).sort()).toEqual(['alert', 'conversationId', 'messageId', 'score']);
    const g = lines.filter((l) => l.conversationId === 'g1');
    expect(g.map((l) => l.messageId)).toEqual(grooming.messages.map((m) => m.id));
    const firstAlert = g.findIndex((l) => l.alert === true);
    expect(firstAlert).toBeGreaterThan(2);
    expect(g.slice(firstAlert).every((l) => l.alert === true)).toBe(true);
    expect(g.slice(0, firstAlert).every((l) => l.alert === false)).toBe(true);
    expect(lines.filter((l) => l.conversationId === 'b1').every((l) => l.alert === false && (l.score as number) < 0.2)).toBe(true);
  });

  it('reports bad lines on stderr with their line number, processes the rest and exits 1', async () => {
    const file = join(dir, 'bad.jsonl');
    const noText = { ...benign, conversationId: 'b2', messages: [{ id: 'x', senderId: 'p1', sentAtMs: T0 }] };
    writeFileSync(file, ['{not json', JSON.stringify(benign), '', JSON.stringify(noText), '[1]', JSON.stringify({ ...benign, conversationId: 'b3' })].join('\n'));
    const { lines, err, code } = await run(['grooming', 'score', file]);
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual([
      'line 1: json_invalid: line is not valid JSON',
      'line 4: messages_invalid: messages[0].text must be a string',
      'line 5: line_not_object: line must be a JSON object',
    ]);
    expect(lines.map((l) => l.conversationId)).toEqual(['b1', 'b1', 'b3', 'b3']);
  });

  it('explains with --explain and honours --threshold', async () => {
    const file = join(dir, 'one.jsonl');
    writeFileSync(file, JSON.stringify(grooming) + '\n');
    const { lines } = await run(['grooming', 'score', '--explain', '--threshold', '0.99', file]);
    expect(lines[2]).toMatchObject({ signals: ['age_probe'], suspectId: 'adult', stage: 'risk_assessment' });
    const strictFirst = lines.findIndex((l) => l.alert === true);
    const normal = (await run(['grooming', 'score', file])).lines.findIndex((l) => l.alert === true);
    expect(strictFirst === -1 || strictFirst > normal).toBe(true);
  });

  it('fails cleanly for a missing file', async () => {
    const { err, code, lines } = await run(['grooming', 'score', join(dir, 'missing.jsonl')]);
    expect(code).toBe(1);
    expect(lines).toEqual([]);
    expect(err).toContain('file_not_found');
  });
});
