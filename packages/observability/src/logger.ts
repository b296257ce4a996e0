import pino from 'pino';

/** A structured JSON logger (pino). Constant messages; variables go in fields. */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Service or tool name, added to every line as `service`. */
  service: string;
  /** Minimum level: `trace` | `debug` | `info` | `warn` | `error` | `fatal` | `silent`. Default `info`. */
  level?: string;
  /** Where lines go. Default: stdout. Tests pass a stream to capture output. */
  destination?: pino.DestinationStream;
}

/**
 * Field paths that must never reach a log line even if a caller passes them by mistake:
 * content, message text, credentials and raw payloads. Values are replaced by `[redacted]`.
 */
export const REDACTED_PATHS: readonly string[] = [
  'text',
  '*.text',
  'body',
  '*.body',
  'bytes',
  '*.bytes',
  'inlineBytes',
  '*.inlineBytes',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
];

/**
 * Creates the process logger: JSON lines to stdout with `service`, `level` as a string, epoch-ms
 * `time`, and {@link REDACTED_PATHS} removed.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
