import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { SqliteReportingStore, transparencyReport } from '@safeguard/reporting';
import type { CliIo } from '../program';

const DAY_MS = 86_400_000;

/** A date `YYYY-MM-DD` (UTC midnight) or a full ISO 8601 instant, in ms. */
function parseDate(value: string, endOfDay: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const t = Date.parse(`${value}T00:00:00Z`);
    if (!Number.isNaN(t)) return endOfDay ? t + DAY_MS : t;
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) {
    return Date.parse(value);
  }
  throw new InvalidArgumentError('must be YYYY-MM-DD or an ISO 8601 instant');
}

/** Default store path (the reporter service's SQLite file when run on one node). */
export const DEFAULT_STORE_PATH = 'safeguard-reporting.db';

/**
 * `safeguard transparency --from DATE --to DATE [--store PATH]` prints the transparency figures
 * (reports by type, review outcomes, error rates per bank and algorithm, complaints, median time
 * to decision, user notifications due) for the period as JSON, reading the durable store
 * read-only. Dates are UTC days; `--to` is inclusive for a plain date.
 */
export const registerTransparency = (program: Command, io: CliIo, exit: { code: number }): void => {
  program
    .command('transparency')
    .description('Transparency figures for a period from the reporting store (JSON)')
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD, UTC) or ISO instant', (v) => parseDate(v, false))
    .requiredOption('--to <date>', 'last day, inclusive (YYYY-MM-DD, UTC) or ISO instant (exclusive)', (v) => parseDate(v, true))
    .option('--store <path>', 'SQLite reporting store', DEFAULT_STORE_PATH)
    .action(async (opts: { from: number; to: number; store: string }) => {
      if (opts.to <= opts.from) {
        io.stderr.write(`${JSON.stringify({ error: { code: 'invalid_range', message: '--to must be after --from' } })}\n`);
        exit.code = 2;
        return;
      }
      if (!existsSync(opts.store)) {
        io.stderr.write(`${JSON.stringify({ error: { code: 'file_not_found', message: `no store at ${opts.store}` } })}\n`);
        exit.code = 2;
        return;
      }
      const store = new SqliteReportingStore(opts.store, { readonly: true });
      try {
        const report = transparencyReport(
          { cases: await store.listCases(), decisions: await store.listDecisions(), complaints: await store.listComplaints(), outbox: await store.listOutbox() },
          opts.from,
          opts.to,
        );
        io.stdout.write(`${JSON.stringify({ ...report, from: new Date(opts.from).toISOString(), to: new Date(opts.to).toISOString() }, null, 2)}\n`);
      } finally {
        await store.close();
      }
    });
};
