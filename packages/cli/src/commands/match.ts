import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import {
  BankFileIssue,
  CryptoAlgorithm,
  ExactHashIndex,
  HashAlgorithm,
  MihPdqIndex,
  checkAlgorithm,
  checkEntryId,
  checkHashHex,
  parseBankFile,
} from '@safeguard/domain/matching';
import type { CliIo } from '../program';

/** Exit status when an input file has bad lines (nothing is matched or printed). */
export const MATCH_EXIT_INVALID_INPUT = 2;

interface Query {
  id: string;
  algorithm: HashAlgorithm;
  hex: string;
}

function threshold(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError('must be an integer from 0 to 256');
  return n;
}

function readInput(file: string): Buffer {
  return file === '-' ? readFileSync(0) : readFileSync(file);
}

/** Parses `<queryId>\t<algorithm>\t<hex>` lines; blank and `#` lines are skipped. */
function parseQueries(text: string): { queries: Query[]; errors: BankFileIssue[] } {
  const queries: Query[] = [];
  const errors: BankFileIssue[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = i + 1;
    const src = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (src.trim() === '' || src.startsWith('#')) return;
    const f = src.split('\t');
    if (f.length !== 3) {
      errors.push({ line, code: 'field_count_invalid', message: `expected 3 tab-separated fields, got ${f.length}` });
      return;
    }
    const [id, algorithm, hex] = f;
    const bad = [
      checkEntryId(id) && { code: 'query_id_invalid', message: 'query id must be 1..256 printable characters without whitespace' },
      checkAlgorithm(algorithm) && { code: 'algorithm_invalid', message: 'algorithm must be one of pdq, md5, sha1, sha256' },
      !checkAlgorithm(algorithm) && checkHashHex(algorithm as HashAlgorithm, hex) && { code: checkHashHex(algorithm as HashAlgorithm, hex) as string, message: `hash must be ${algorithm} hex` },
    ].filter((x): x is { code: string; message: string } => Boolean(x));
    for (const b of bad) errors.push({ line, ...b });
    if (bad.length === 0) queries.push({ id, algorithm: algorithm as HashAlgorithm, hex: hex.toLowerCase() });
  });
  return { queries, errors };
}

/**
 * `safeguard match --index BANKFILE [--threshold 31] QUERYFILE`: matches query hashes against a
 * bank file, exactly (PDQ within the Hamming threshold via multi-index hashing; MD5, SHA-1 and
 * SHA-256 by equality).
 *
 * Both files are TSV: bank lines `<entryId>\t<algorithm>\t<hex>` (an optional 4th column of
 * labels and a header line are accepted, as for `bank import`), query lines
 * `<queryId>\t<algorithm>\t<hex>`; blank lines and lines starting with `#` are skipped;
 * QUERYFILE may be `-` for standard input. Output: one JSON line per match,
 * `{"queryId","entryId","algorithm","distance"}`, in query order, then by distance, then by
 * bank-file order.
 *
 * Exit status: 0 when both files are valid (with or without matches); 2 when any line of either
 * file is bad: every bad line is reported on stderr as `FILE:LINE: <code>: <reason>` and nothing
 * is matched (all-or-nothing, like `bank import`); 1 for usage errors and unreadable files.
 */
export const registerMatch = (program: Command, io: CliIo, exit: { code: number }): void => {
  program
    .command('match')
    .description('Match query hashes against a bank file (one JSON line per match)')
    .requiredOption('--index <bankfile>', 'bank TSV: <entryId>\\t<algorithm>\\t<hex>')
    .option('--threshold <bits>', 'PDQ Hamming distance threshold, inclusive (0..256)', threshold, 31)
    .argument('<queryfile>', 'query TSV: <queryId>\\t<algorithm>\\t<hex> ("-" for stdin)')
    .action((queryFile: string, opts: { index: string; threshold: number }) => {
      let bankBytes: Buffer;
      let queryBytes: Buffer;
      try {
        bankBytes = readInput(opts.index);
        queryBytes = readInput(queryFile);
      } catch (err) {
        io.stderr.write(`safeguard match: cannot read input: ${(err as NodeJS.ErrnoException).code ?? 'read_failed'}\n`);
        exit.code = 1;
        return;
      }
      const bank = parseBankFile(bankBytes, 'tsv', { allowEmpty: true });
      const { queries, errors: queryErrors } = parseQueries(queryBytes.toString('utf8'));
      const report = (file: string, issues: readonly BankFileIssue[]): void => {
        for (const e of issues) io.stderr.write(`${file}:${e.line}: ${e.code}: ${e.message}\n`);
      };
      if (!bank.ok) report(opts.index, bank.errors);
      report(queryFile, queryErrors);
      if (!bank.ok || queryErrors.length > 0) {
        exit.code = MATCH_EXIT_INVALID_INPUT;
        return;
      }

      const entries = bank.entries;
      // Index ids -> position in the bank file (for stable output order).
      const pdq = new MihPdqIndex();
      const pdqOwner: number[] = [];
      const exact = new Map<CryptoAlgorithm, { index: ExactHashIndex; owner: number[] }>();
      entries.forEach((e, pos) => {
        if (e.algorithm === 'pdq') {
          pdqOwner[pdq.add(e.hashHex)] = pos;
          return;
        }
        let ex = exact.get(e.algorithm);
        if (!ex) exact.set(e.algorithm, (ex = { index: new ExactHashIndex(e.algorithm), owner: [] }));
        ex.owner[ex.index.add(e.hashHex)] = pos;
      });
      pdq.compact();

      let out = '';
      for (const q of queries) {
        let hits: { pos: number; distance: number }[];
        if (q.algorithm === 'pdq') {
          hits = pdq.search(q.hex, opts.threshold).map((h) => ({ pos: pdqOwner[h.id], distance: h.distance }));
        } else {
          const ex = exact.get(q.algorithm);
          hits = ex ? ex.index.lookup(q.hex).map((id) => ({ pos: ex.owner[id], distance: 0 })) : [];
        }
        hits.sort((a, b) => a.distance - b.distance || a.pos - b.pos);
        for (const h of hits) {
          out += JSON.stringify({ queryId: q.id, entryId: entries[h.pos].entryId, algorithm: q.algorithm, distance: h.distance }) + '\n';
          if (out.length > 1 << 16) {
            io.stdout.write(out);
            out = '';
          }
        }
      }
      if (out) io.stdout.write(out);
    });
};
