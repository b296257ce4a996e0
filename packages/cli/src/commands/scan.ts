import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BankSet, bankFileFormatOf, parseBankFile, type BankFileFormat, type BankKind } from '@safeguard/domain/matching';
import { hashMediaOutcome } from '@safeguard/hashing';
import type { CliIo } from '../program';

/** Exit status when the bank file has bad lines (nothing is scanned). */
export const SCAN_EXIT_INVALID_BANK = 2;

const MEDIA_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

function listMedia(dir: string, all: boolean): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && (all || MEDIA_EXTENSIONS.has(extname(name).toLowerCase()))) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function threshold(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError('must be an integer from 0 to 256');
  return n;
}

interface ScanOptions {
  bank: string;
  format?: BankFileFormat;
  kind: BankKind;
  threshold: number;
  all?: boolean;
  dihedral?: boolean;
  progress: boolean;
}

/**
 * `safeguard scan DIR --bank FILE`: hashes every image under DIR (PDQ, MD5, SHA-1, SHA-256) and
 * matches it against a bank file (csv/tsv/jsonl, the `bank import` formats), offline. One JSON
 * line per matching file on stdout, refused files as `{"file","error"}`, a progress bar and a
 * summary on stderr. Exit 0 when the scan ran (matches or not), 2 for a bad bank file.
 */
export function registerScan(program: Command, io: CliIo, exit: { code: number }): void {
  program
    .command('scan')
    .description('hash every image in a folder and match it against a bank file, offline')
    .argument('<dir>', 'folder to scan (recursively)')
    .requiredOption('--bank <file>', 'bank file: entry_id,algorithm,hash[,labels] lines (csv, tsv or jsonl)')
    .addOption(new Option('--format <format>', 'bank file format (default: from the extension)').choices(['csv', 'tsv', 'jsonl']))
    .addOption(new Option('--kind <kind>', 'what a match means').choices(['block', 'review', 'allow']).default('review'))
    .option('--threshold <bits>', 'PDQ Hamming distance threshold', threshold, 31)
    .option('--all', 'try every file, not only image extensions')
    .option('--dihedral', 'also match rotated and mirrored copies (8 PDQ variants per image)')
    .option('--no-progress', 'no progress bar')
    .action(async (dir: string, o: ScanOptions) => {
      const format = o.format ?? bankFileFormatOf(o.bank);
      if (!format) {
        io.stderr.write(`${o.bank}: cannot tell the format from the extension; pass --format csv|tsv|jsonl\n`);
        exit.code = SCAN_EXIT_INVALID_BANK;
        return;
      }
      const parsed = parseBankFile(readFileSync(o.bank), format);
      if (!parsed.ok) {
        for (const e of parsed.errors) io.stderr.write(`${o.bank}:${e.line}: ${e.code}: ${e.message}\n`);
        exit.code = SCAN_EXIT_INVALID_BANK;
        return;
      }
      const bankName = basename(o.bank).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'bank';
      const banks = new BankSet({ flood: false });
      const now = Date.now();
      for (const e of parsed.entries) {
        banks.apply({ deleted: false, bank: bankName, kind: o.kind, source: 'file', pdqThreshold: o.threshold, entryId: e.entryId, algorithm: e.algorithm, hashHex: e.hashHex, labels: e.labels, listVersion: parsed.contentSha256.slice(0, 16), disabled: false, updatedAtMs: now });
      }
      banks.compactAll();

      const files = listMedia(dir, o.all ?? false);
      const bar = o.progress
        ? new SingleBar({ format: '  scanning [{bar}] {value}/{total} files, {matched} matched', stream: io.stderr as NodeJS.WriteStream, noTTYOutput: true, notTTYSchedule: 1000 })
        : undefined;
      bar?.start(files.length, 0, { matched: 0 });
      let matchedFiles = 0;
      let refused = 0;
      for (const file of files) {
        const name = relative(dir, file);
        const outcome = await hashMediaOutcome(readFileSync(file), { dihedral: o.dihedral ?? false });
        if (!outcome.ok) {
          refused++;
          io.stdout.write(`${JSON.stringify({ file: name, error: { code: outcome.error.code, message: outcome.error.message } })}\n`);
        } else if (outcome.result.kind === 'image') {
          const r = outcome.result;
          const queries = [
            { algorithm: 'pdq' as const, value: r.pdq, quality: r.quality },
            ...(r.dihedral ?? []).slice(1).map((value) => ({ algorithm: 'pdq' as const, value, quality: r.quality })),
            { algorithm: 'md5' as const, value: r.md5 },
            { algorithm: 'sha1' as const, value: r.sha1 },
            { algorithm: 'sha256' as const, value: r.sha256 },
          ];
          const result = banks.match(queries);
          if (result.matches.length > 0) {
            matchedFiles++;
            io.stdout.write(
              `${JSON.stringify({
                file: name,
                pdq: r.pdq,
                quality: r.quality,
                matches: result.matches.map((m) => ({ entryId: m.entryId, algorithm: m.algorithm, distance: m.distance, labels: m.labels })),
              })}\n`,
            );
          }
        }
        bar?.increment(1, { matched: matchedFiles });
      }
      bar?.stop();
      io.stderr.write(`scanned ${files.length} files: ${matchedFiles} matched ${parsed.entries.length} bank entries, ${refused} refused\n`);
    });
}
