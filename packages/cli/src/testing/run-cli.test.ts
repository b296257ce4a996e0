import { Command } from 'commander';
import type { CliIo } from '../program';
import { jsonLines, runCli } from './run-cli';

function programWith(action: (io: CliIo, exit: { code: number }) => void | Promise<void>) {
  return (io: CliIo, exit: { code: number }): Command => {
    const program = new Command('safeguard').exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    program.command('probe').action(() => action(io, exit));
    return program;
  };
}

describe('runCli', () => {
  it('captures both streams and the exit code the command sets', async () => {
    const r = await runCli(['probe'], {
      program: programWith((io, exit) => {
        io.stdout.write('{"a":1}\n{"b":2}\n');
        io.stderr.write('warned\n');
        exit.code = 3;
      }),
    });
    expect(r).toEqual({ out: '{"a":1}\n{"b":2}\n', err: 'warned\n', code: 3, commanderError: undefined });
    expect(jsonLines(r.out)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("turns commander's usage errors into their exit code", async () => {
    const r = await runCli(['nope'], { program: programWith(() => undefined) });
    expect(r).toMatchObject({ code: 1, commanderError: { code: 'commander.unknownCommand', exitCode: 1 } });
    expect(r.err).toContain("unknown command 'nope'");
  });

  it('rejects with any other error', async () => {
    await expect(runCli(['probe'], { program: programWith(() => Promise.reject(new Error('boom'))) })).rejects.toThrow('boom');
  });

  it('sets and removes variables for the run only', async () => {
    process.env.RUN_CLI_TEST_SET = 'before';
    delete process.env.RUN_CLI_TEST_NEW;
    let seen: unknown[] = [];
    await runCli(['probe'], { env: { RUN_CLI_TEST_SET: undefined, RUN_CLI_TEST_NEW: 'x' }, program: programWith(() => void (seen = [process.env.RUN_CLI_TEST_SET, process.env.RUN_CLI_TEST_NEW])) });
    expect(seen).toEqual([undefined, 'x']);
    expect([process.env.RUN_CLI_TEST_SET, process.env.RUN_CLI_TEST_NEW]).toEqual(['before', undefined]);
    delete process.env.RUN_CLI_TEST_SET;
  });
});

describe('jsonLines', () => {
  it('is empty for empty output and throws on a line that is not JSON', () => {
    expect(jsonLines('  \n')).toEqual([]);
    expect(() => jsonLines('{"a":1}\nnot json\n')).toThrow();
  });
});
