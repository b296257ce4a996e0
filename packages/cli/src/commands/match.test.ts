import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, runCli } from '../testing/run-cli';

async function run(args: string[]): Promise<{ lines: Record<string, unknown>[]; err: string; code: number }> {
  const { out, err, code } = await runCli(args);
  return { lines: jsonLines(out), err, code };
}

// Flip the lowest `bits` bits of the last hex digits: distance exactly `bits` (bits <= 32).
function near(hex: string, bits: number): string {
  let tail = BigInt('0x' + hex.slice(-8));
  tail ^= (1n << BigInt(bits)) - 1n;
  return hex.slice(0, -8) + tail.toString(16).padStart(8, '0');
}

const A = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
const B = '3333333333333333333333333333333333333333333333333333333333333333';
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'safeguard-cli-match-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(bank: string, queries: string): [string, string] {
  const b = join(dir, `bank-${Math.random()}.tsv`);
  const q = join(dir, `q-${Math.random()}.tsv`);
  writeFileSync(b, bank);
  writeFileSync(q, queries);
  return [b, q];
}

describe('safeguard match', () => {
  const bank = `a1\tpdq\t${A}\na2\tpdq\t${near(A, 10)}\na3\tpdq\t${A}\nb1\tpdq\t${B}\nm1\tmd5\t${MD5}\n`;

  it('prints one JSON line per match, exact at the threshold edges', async () => {
    const [b, q] = files(bank, `q31\tpdq\t${near(A, 31)}\nq32\tpdq\t${near(A, 32)}\n# comment\n\nqm\tmd5\t${MD5.toUpperCase()}\nqb\tpdq\t${B}\nqx\tsha1\t${'0'.repeat(40)}\n`);
    const { lines, code, err } = await run(['match', '--index', b, q]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(lines).toEqual([
      { queryId: 'q31', entryId: 'a2', algorithm: 'pdq', distance: 21 },
      { queryId: 'q31', entryId: 'a1', algorithm: 'pdq', distance: 31 },
      { queryId: 'q31', entryId: 'a3', algorithm: 'pdq', distance: 31 },
      { queryId: 'q32', entryId: 'a2', algorithm: 'pdq', distance: 22 },
      { queryId: 'qm', entryId: 'm1', algorithm: 'md5', distance: 0 },
      { queryId: 'qb', entryId: 'b1', algorithm: 'pdq', distance: 0 },
    ]);
    const tight = await run(['match', '--index', b, '--threshold', '21', q]);
    expect(tight.lines.map((l) => `${l.queryId}/${l.entryId}`)).toEqual(['q31/a2', 'qm/m1', 'qb/b1']);
    const wide = await run(['match', '--index', b, '--threshold', '32', q]);
    expect(wide.lines.filter((l) => l.queryId === 'q32').map((l) => l.entryId)).toEqual(['a2', 'a1', 'a3']);
  });

  it('reports every bad line as FILE:LINE on stderr, prints nothing and exits 2', async () => {
    const [b, q] = files(`${bank}a1\tmd5\t${MD5}\nbad\tpdq\tzz\n`, `ok\tpdq\t${A}\nq2\tpdqx\t${A}\nq3\tpdq\n`);
    const { lines, code, err } = await run(['match', '--index', b, q]);
    expect(code).toBe(2);
    expect(lines).toEqual([]);
    expect(err.trim().split('\n')).toEqual([
      `${b}:6: entry_id_duplicate: entry id already used on line 1`,
      `${b}:7: hash_length_invalid: hash must be pdq hex`,
      `${q}:2: algorithm_invalid: algorithm must be one of pdq, md5, sha1, sha256`,
      `${q}:3: field_count_invalid: expected 3 tab-separated fields, got 2`,
    ]);
  });

  it('rejects a bad threshold and an unreadable file with exit 1', async () => {
    const [b, q] = files(bank, '');
    expect((await run(['match', '--index', b, '--threshold', '300', q])).code).toBe(1);
    const missing = await run(['match', '--index', join(dir, 'nope.tsv'), q]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('ENOENT');
  });
});
