import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadPublicKey, parseAuditJsonLines, verifyAuditChain, verifySignedAuditHead, type AuditHead, type SignedAuditHead } from '@safeguard/reporting';
import type { CliIo } from '../program';

/**
 * `safeguard audit verify FILE.jsonl [--head HEAD.json --public-key KEY]` checks a hash-chained
 * audit log (one JSON record per line). Prints `{"ok":true,"count","head"}` and exits 0, or
 * `{"ok":false,"line","seq","reason","message"}` and exits 1 naming the first broken line.
 * With a signed head (as written by `signAuditHead`) dropped or re-hashed trailing records are
 * caught too. Unreadable input: exit 2. (Reading the Kafka topic comes with the reporter service.)
 */
export const registerAudit = (program: Command, io: CliIo, exit: { code: number }): void => {
  const audit = program.command('audit').description('Audit log tools');
  audit
    .command('verify')
    .description('Verify a hash-chained audit log (JSON lines): exit 0 when intact, 1 with the first broken line')
    .argument('<file>', 'audit records, one JSON object per line')
    .option('--head <file>', 'signed chain head (JSON) the log must end at; needs --public-key')
    .option('--public-key <file>', 'Ed25519 public key (SPKI PEM) that signed the head')
    .action(async (file: string, opts: { head?: string; publicKey?: string }) => {
      try {
        let expectedHead: AuditHead | undefined;
        if (opts.head) {
          if (!opts.publicKey) {
            io.stderr.write(`${JSON.stringify({ error: { code: 'key_required', message: '--head needs --public-key' } })}\n`);
            exit.code = 2;
            return;
          }
          const signed = JSON.parse(await readFile(opts.head, 'utf8')) as SignedAuditHead;
          expectedHead = verifySignedAuditHead(signed, loadPublicKey(await readFile(opts.publicKey)));
        }
        const { records, lineNumbers } = parseAuditJsonLines(await readFile(file, 'utf8'));
        const v = verifyAuditChain(records, expectedHead ? { expectedHead } : {});
        if (v.ok) {
          io.stdout.write(`${JSON.stringify({ ok: true, count: v.count, ...(v.head ? { head: v.head } : {}) })}\n`);
          return;
        }
        const line = v.index < lineNumbers.length ? lineNumbers[v.index] : undefined;
        io.stdout.write(`${JSON.stringify({ ok: false, ...(line !== undefined ? { line } : { line: 'end' }), ...(v.seq !== undefined ? { seq: v.seq } : {}), reason: v.reason, message: v.message })}\n`);
        exit.code = 1;
      } catch (err) {
        const e = err as { code?: unknown; message?: string };
        const code = typeof e.code === 'string' ? (e.code === 'ENOENT' ? 'file_not_found' : e.code) : err instanceof SyntaxError ? 'invalid_json' : 'internal_error';
        io.stderr.write(`${JSON.stringify({ error: { code, message: e.message ?? String(err) } })}\n`);
        exit.code = code === 'signature_invalid' || code === 'audit_chain_broken' ? 1 : 2;
      }
    });
};
