import { runCli } from './testing/run-cli';

describe('safeguard program', () => {
  it('prints help listing the command name', async () => {
    const { out, code } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: safeguard');
  });
});
