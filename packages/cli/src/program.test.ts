import { PassThrough } from 'node:stream';
import { buildProgram } from './program';

function run(args: string[]): { out: string; code: number } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += String(d)));
  const exit = { code: 0 };
  const program = buildProgram({ stdout, stderr }, exit);
  try {
    program.parse(['node', 'safeguard', ...args]);
  } catch (err) {
    exit.code = (err as { exitCode?: number }).exitCode ?? 1;
  }
  return { out, code: exit.code };
}

describe('safeguard program', () => {
  it('prints help listing the command name', () => {
    const { out, code } = run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: safeguard');
  });
});
