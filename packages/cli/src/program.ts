import { Command } from 'commander';
import { registerCommands } from './commands';

/** Where a command writes; injected so tests can capture output. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Builds the `safeguard` command tree. Each subcommand lives in `src/commands/<name>.ts` and
 * exports a `register(program, io)` function listed in `src/commands/index.ts`. Commands set
 * `process.exitCode` through the returned exit code holder, never call `process.exit`.
 */
export function buildProgram(io: CliIo, exit: { code: number }): Command {
  const program = new Command('safeguard')
    .description('Safeguard: detect, review and report known abuse material and grooming.')
    .version('0.1.0')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  registerCommands(program, io, exit);
  return program;
}
