import { SafeguardError } from '@safeguard/domain';

/**
 * Why: test helpers fail for reasons a developer must act on (no broker, kcat missing, a wait
 * that ran out); a stable `code` lets a test assert on the reason and keeps the message free to
 * say what to do.
 *
 * Codes: `invalid_argument`, `integration_env_missing`, `integration_env_unreachable`,
 * `wait_timeout`, `kcat_missing`, `kcat_failed`, `kcat_timeout`, `python_avro_missing`,
 * `python_avro_failed`, `registry_http_error`, `invalid_wire_frame`, `infra_script_failed`,
 * `testcontainers_failed`.
 */
export class TestkitError extends SafeguardError {
  constructor(code: string, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(code, message, options);
  }
}

/** Thrown by {@link waitFor} when its deadline passes; `cause` is the predicate's last error, if any. */
export class WaitTimeoutError extends TestkitError {
  /** How many times the predicate was evaluated. */
  readonly attempts: number;
  /** The last falsy value the predicate returned (undefined if it last threw). */
  readonly lastValue: unknown;

  constructor(description: string, timeoutMs: number, attempts: number, lastValue: unknown, lastError: unknown) {
    const why = lastError !== undefined ? `; last error: ${errorMessage(lastError)}` : `; last value: ${preview(lastValue)}`;
    super('wait_timeout', `timed out after ${timeoutMs} ms waiting for ${description} (${attempts} attempts${why})`, {
      cause: lastError,
    });
    this.attempts = attempts;
    this.lastValue = lastValue;
  }
}

/** Message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
