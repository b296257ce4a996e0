import type { TransportLogger } from '../types';

/** A logger that drops everything (the default). */
export const silentLogger: TransportLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Error fields safe to log: class, code and message; never the record it failed on. With
 * `stack`, the stack too (for programmer errors: the stack is how a bug is found).
 */
export function errorFields(err: unknown, options: { stack?: boolean } = {}): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      err: {
        type: err.name,
        message: err.message,
        ...(typeof code === 'string' ? { code } : {}),
        ...(options.stack && err.stack ? { stack: err.stack } : {}),
      },
    };
  }
  return { err: { type: typeof err } };
}
