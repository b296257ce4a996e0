import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  buildEuReport,
  buildNcmecReportXml,
  loadPublicKey,
  loadSigningKey,
  parseCaseFile,
  serializeEuReport,
  signEuReport,
  verifyEuReportBytes,
} from '@safeguard/reporting';
import type { CliIo } from '../program';

function isoInstant(value: string): number {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) throw new InvalidArgumentError('must be an ISO 8601 instant, e.g. 2026-01-15T10:00:00Z');
  return t;
}

function errorOf(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOENT') return { code: 'file_not_found', message: (err as Error).message };
  if (typeof code === 'string' && code.startsWith('E')) return { code: 'file_unreadable', message: (err as Error).message };
  if (err instanceof SyntaxError) return { code: 'invalid_json', message: err.message };
  return { code: typeof code === 'string' ? code : 'internal_error', message: err instanceof Error ? err.message : String(err) };
}

/**
 * `safeguard report render --format eu|ncmec [--key FILE] [--now ISO] CASE.json` prints the EU
 * Centre report (signed RFC 8785 JSON; needs `--key`) or the NCMEC CyberTipline `<report>` XML
 * of a case file (see `examples/case.json`). `safeguard report verify REPORT.json --public-key KEY`
 * exits 0 for an intact signed EU report and 1 for any altered byte. Bad input: exit 2 with
 * `{"error":{"code","message"}}` on stderr.
 */
export const registerReport = (program: Command, io: CliIo, exit: { code: number }): void => {
  const report = program.command('report').description('Render and verify authority reports (EU Centre JSON, NCMEC CyberTipline XML)');

  report
    .command('render')
    .description('Print the report of a case file (EU: signed canonical JSON; NCMEC: <report> XML)')
    .argument('<case>', 'case file, e.g. examples/case.json')
    .addOption(new Option('--format <format>', 'report format').choices(['eu', 'ncmec']).makeOptionMandatory())
    .option('--key <file>', 'Ed25519 private key (PKCS#8 PEM) that signs EU reports, e.g. examples/keys/demo-ed25519.pem')
    .option('--now <iso>', 'report creation time (default: now)', isoInstant)
    .action(async (casePath: string, opts: { format: 'eu' | 'ncmec'; key?: string; now?: number }) => {
      try {
        const file = parseCaseFile(JSON.parse(await readFile(casePath, 'utf8')));
        if (opts.format === 'ncmec') {
          io.stdout.write(`${buildNcmecReportXml(file.case, { provider: file.provider, ...(file.enrichment ? { enrichment: file.enrichment } : {}) })}\n`);
          return;
        }
        if (!opts.key) {
          io.stderr.write(`${JSON.stringify({ error: { code: 'key_required', message: '--format eu needs --key FILE (an Ed25519 private key)' } })}\n`);
          exit.code = 2;
          return;
        }
        const key = loadSigningKey(await readFile(opts.key));
        const ncmec = file.destinations?.includes('ncmec') ?? Boolean(file.provider.ncmec);
        const unsigned = buildEuReport(file.case, {
          provider: file.provider,
          ...(file.enrichment ? { enrichment: file.enrichment } : {}),
          ...(ncmec ? { ncmec: { status: 'queued' as const } } : {}),
          nowMs: opts.now ?? Date.now(),
        });
        io.stdout.write(serializeEuReport(signEuReport(unsigned, key)));
      } catch (err) {
        io.stderr.write(`${JSON.stringify({ error: errorOf(err) })}\n`);
        exit.code = 2;
      }
    });

  report
    .command('verify')
    .description('Verify a signed EU Centre report: exit 0 when intact, 1 when any byte was altered')
    .argument('<report>', 'signed report file (as written by `report render --format eu`)')
    .requiredOption('--public-key <file>', 'Ed25519 public key (SPKI PEM), e.g. examples/keys/demo-ed25519.pub.pem')
    .action(async (reportPath: string, opts: { publicKey: string }) => {
      try {
        const publicKey = loadPublicKey(await readFile(opts.publicKey));
        const v = verifyEuReportBytes(await readFile(reportPath), publicKey);
        if (v.ok) {
          io.stdout.write(`${JSON.stringify({ ok: true, reportId: v.report.reportId, keyId: v.keyId })}\n`);
        } else {
          io.stdout.write(`${JSON.stringify({ ok: false, reason: v.reason, ...(v.detail ? { detail: v.detail } : {}) })}\n`);
          exit.code = 1;
        }
      } catch (err) {
        io.stderr.write(`${JSON.stringify({ error: errorOf(err) })}\n`);
        exit.code = 2;
      }
    });
};
