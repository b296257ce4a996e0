import { backoffDelayMs, DEFAULT_RETRY, resolveRetryOptions } from './backoff';

describe('backoff', () => {
  const options = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 });

  it('doubles from the base delay and caps at the maximum (no jitter at random() = 0)', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, options, () => 0));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('takes at most the jitter share off each delay', () => {
    expect(backoffDelayMs(3, options, () => 0.999999)).toBe(200);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(4, options);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('spreads delays when random varies', () => {
    const seen = new Set([0, 0.25, 0.5, 0.75].map((r) => backoffDelayMs(2, options, () => r)));
    expect(seen.size).toBe(4);
  });

  it('never overflows for huge attempt numbers', () => {
    expect(backoffDelayMs(5_000, options, () => 0)).toBe(1_000);
  });

  it('fills defaults and rejects invalid settings with invalid_config', () => {
    expect(resolveRetryOptions()).toEqual(DEFAULT_RETRY);
    expect(resolveRetryOptions({ attempts: 2, baseDelayMs: undefined })).toEqual({ ...DEFAULT_RETRY, attempts: 2 });
    expect(() => resolveRetryOptions({ attempts: 0 })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => resolveRetryOptions({ jitter: 1.5 })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => resolveRetryOptions({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});
