import { CommanderError } from 'commander';
import { buildProgram } from './program';

/**
 * Entry point of the `safeguard` command. Returns the exit status instead of exiting, so the
 * process ends naturally once output is flushed.
 */
export async function main(argv: string[]): Promise<number> {
  const exit = { code: 0 };
  const program = buildProgram({ stdout: process.stdout, stderr: process.stderr }, exit);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return exit.code;
}
