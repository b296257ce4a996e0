import type { z } from 'zod';
import { parseConfig, type CommonConfig } from './config';
import { ServiceRuntime } from './runtime';

/** What a service's start function returns. */
export interface StartedService {
  /** Resolves if the service fails for good (e.g. its consumer crashed); the process then exits 1. */
  readonly crashed?: Promise<Error>;
}

/** Options of {@link runServiceMain}. */
export interface RunMainOptions<C extends { common: CommonConfig }> {
  service: string;
  /** The service's config schema (env → typed config). */
  configSchema: z.ZodType<C>;
  /** The process environment (only `main.ts` reads `process.env`). */
  env: Record<string, string | undefined>;
  /** Builds and starts the service on the runtime; registers its shutdown steps on `runtime.shutdown`. */
  start: (config: C, runtime: ServiceRuntime) => Promise<StartedService>;
  /** Where config violations are printed. */
  stderr: NodeJS.WritableStream;
  /** Subscribes the handler to SIGTERM and SIGINT. */
  onSignal: (handler: (signal: string) => void) => void;
}

/**
 * The body of every service's `main.ts`: parse config (print every violation and return 1),
 * build the runtime, start the service, wait for a signal or a crash, shut down in order.
 * Resolves with the exit code; `main.ts` calls `process.exit` with it.
 */
export async function runServiceMain<C extends { common: CommonConfig }>(options: RunMainOptions<C>): Promise<number> {
  const parsed = parseConfig(options.configSchema, options.env);
  if (!parsed.ok) {
    options.stderr.write(`${options.service}: invalid configuration\n${parsed.errors.map((e) => `  ${e}\n`).join('')}`);
    return 1;
  }
  // Subscribe before starting: a SIGTERM that arrives while the service starts (or right after
  // /readyz first answers 200) must still run the orderly shutdown, not the default action (exit
  // without draining or flushing the logger).
  const signal = new Promise<{ signal: string }>((resolve) => options.onSignal((s) => resolve({ signal: s })));
  const runtime = await ServiceRuntime.start({ service: options.service, common: parsed.config.common });
  const { logger } = runtime;
  // /readyz answers 503 until start() has resolved: the service's own checks are registered one by
  // one while it starts, and an empty or partial list must not read as ready.
  let startCompleted = false;
  runtime.addReadinessCheck('service_started', () => startCompleted);
  let started: StartedService;
  try {
    started = await options.start(parsed.config, runtime);
  } catch (err) {
    logger.fatal({ err }, 'service failed to start');
    await runtime.stop();
    return 1;
  }
  startCompleted = true;
  logger.info({}, 'service started');
  const outcome = await Promise.race([signal, started.crashed?.then((error) => ({ error })) ?? new Promise<never>(() => undefined)]);
  if ('error' in outcome) logger.fatal({ err: outcome.error }, 'service crashed, shutting down');
  else logger.info({ signal: outcome.signal }, 'signal received, shutting down');
  const results = await runtime.stop();
  const failed = results.filter((r) => !r.ok).length;
  logger.info({ failedSteps: failed }, 'shutdown complete');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 'error' in outcome || failed > 0 ? 1 : 0;
}
