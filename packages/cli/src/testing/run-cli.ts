import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram, type CliIo } from '../program';

/**
 * What one {@link runCli} call printed and how it ended. For tests only: `@safeguard/cli/testing`
 * is not part of the command's API.
 */
export interface CliRun {
  /** Everything written to stdout. */
  out: string;
  /** Everything written to stderr. */
  err: string;
  /** The exit code: the command's own, or commander's when it ended the run. */
  code: number;
  /**
   * Set when commander ended the run instead of a command: a usage error (e.g.
   * `commander.invalidArgument`, exit code 1) or `--help`/`--version` (exit code 0).
   */
  commanderError: { code: string; exitCode: number } | undefined;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /**
   * Environment variables set for the run and restored afterwards; `undefined` removes one.
   * Default none.
   */
  env?: Record<string, string | undefined>;
  /**
   * Builds the program; default `buildProgram` (the whole command tree). Tests of one command
   * group with injected dependencies pass their own, which like `buildProgram` must call
   * `exitOverride()` and send its output to `io` before adding subcommands (they inherit both).
   */
  program?: (io: CliIo, exit: { code: number }) => Command;
}

/**
 * Runs `safeguard <args>` in process with captured stdout and stderr. Errors other than
 * commander's (usage, help, version) are not caught: they reject, as they would crash the bin.
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const exit = { code: 0 };
  const saved = Object.fromEntries(Object.keys(options.env ?? {}).map((k) => [k, process.env[k]]));
  setEnv(options.env ?? {});
  let commanderError: CliRun['commanderError'];
  try {
    const program = (options.program ?? buildProgram)({ stdout, stderr }, exit);
    await program.parseAsync(['node', 'safeguard', ...args]);
  } catch (e) {
    const { code, exitCode } = e as { code?: unknown; exitCode?: unknown };
    if (typeof code !== 'string' || !code.startsWith('commander.') || typeof exitCode !== 'number') throw e;
    commanderError = { code, exitCode };
    exit.code = exitCode;
  } finally {
    setEnv(saved);
  }
  return { out, err, code: exit.code, commanderError };
}

/** Parses output of one JSON value per line; none for empty output. Throws on a line that is not JSON. */
export function jsonLines(out: string): Record<string, unknown>[] {
  const text = out.trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

function setEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
