import { TestkitError, WaitTimeoutError } from './errors';
import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('returns the first truthy value and stops polling', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { ready: calls } : undefined), { intervalMs: 1, timeoutMs: 5_000 });
    expect(value).toEqual({ ready: 3 });
    expect(calls).toBe(3);
  });

  it('awaits async predicates and treats rejections as "not yet"', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error(`not yet ${calls}`);
        return 'done';
      },
      { intervalMs: 1, timeoutMs: 5_000 },
    );
    expect(value).toBe('done');
  });

  it('times out with the description, attempts and the last falsy value', async () => {
    const err = await waitFor(() => 0, { timeoutMs: 30, intervalMs: 5, description: 'the counter to move' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const timeout = err as WaitTimeoutError;
    expect(timeout.code).toBe('wait_timeout');
    expect(timeout.message).toContain('the counter to move');
    expect(timeout.message).toContain('last value: 0');
    expect(timeout.attempts).toBeGreaterThanOrEqual(2);
    expect(timeout.lastValue).toBe(0);
  });

  it('keeps the last error as the cause', async () => {
    const boom = new Error('broker said no');
    const err = (await waitFor(
      () => {
        throw boom;
      },
      { timeoutMs: 20, intervalMs: 5 },
    ).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(err.cause).toBe(boom);
    expect(err.message).toContain('broker said no');
  });

  it('abandons a predicate that hangs past the deadline', async () => {
    const started = Date.now();
    const err = (await waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 50, intervalMs: 10, description: 'a hung call' }).catch(
      (e: unknown) => e,
    )) as WaitTimeoutError;
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.attempts).toBe(1);
    expect(err.message).toContain('still pending at the deadline');
    // The deadline bounds the call; generous upper bound so a loaded machine cannot fail it.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('evaluates once even with a zero timeout', async () => {
    await expect(waitFor(() => 'now', { timeoutMs: 0 })).resolves.toBe('now');
  });

  it.each([
    [{ timeoutMs: -1 }],
    [{ timeoutMs: Number.NaN }],
    [{ intervalMs: 0 }],
  ])('rejects invalid options %p', async (options) => {
    const err = await waitFor(() => true, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TestkitError);
    expect((err as TestkitError).code).toBe('invalid_argument');
  });
});
