import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TestkitError, errorMessage } from './errors';

/**
 * The repository root (the directory holding `infra/infra.sh`): `SAFEGUARD_REPO_ROOT` if set,
 * else the nearest ancestor of this package that has the script.
 *
 * @throws TestkitError `infra_script_failed` if neither is found.
 */
export function repoRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SAFEGUARD_REPO_ROOT) return env.SAFEGUARD_REPO_ROOT;
  let dir = __dirname;
  for (let i = 0; i < 8; i += 1) {
    if (existsSync(join(dir, 'infra', 'infra.sh'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new TestkitError('infra_script_failed', `cannot find infra/infra.sh above ${__dirname}; set SAFEGUARD_REPO_ROOT`);
}

/**
 * Runs `bash infra/infra.sh <command>`; its progress lines go to this process's stderr.
 * `up` is idempotent and safe to call from several jest processes at once.
 *
 * @returns the script's stdout.
 * @throws TestkitError `infra_script_failed` on a non-zero exit (the script names the log to read).
 */
export function runInfraScript(command: 'up' | 'down' | 'status' | 'env', env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const script = join(repoRoot(env), 'infra', 'infra.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, command], { stdio: ['ignore', 'pipe', 'inherit'], env });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', (e) => reject(new TestkitError('infra_script_failed', `cannot run ${script}: ${errorMessage(e)}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new TestkitError('infra_script_failed', `${script} ${command} exited ${code}; see its messages above`));
    });
  });
}

/** Parses `export NAME=value` lines (the output of `infra/infra.sh env`). */
export function parseExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

/** Options of {@link createTopicWithKafkaCli}. */
export interface CliTopicOptions {
  /** Default 1. */
  partitions?: number;
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact', 'segment.ms': '100' }`. */
  config?: Record<string, string>;
  /** Bootstrap servers; default `KAFKA_BROKERS`, else the local broker. */
  brokers?: string;
}

/**
 * Creates a topic with Kafka's own `kafka-topics` tool (`infra/infra.sh kafka topics --create`),
 * i.e. without any JavaScript Kafka client. Starts a JVM, so it takes a few seconds: meant for
 * interop tests that must stay independent of `@safeguard/kafka`; other tests should use that
 * package's admin API.
 *
 * @throws TestkitError `infra_script_failed` if the tool fails (e.g. the topic exists).
 */
export function createTopicWithKafkaCli(topic: string, options: CliTopicOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const script = join(repoRoot(env), 'infra', 'infra.sh');
  const args = [script, 'kafka', 'topics', '--create', '--topic', topic, '--partitions', String(options.partitions ?? 1), '--replication-factor', '1'];
  if (options.brokers ?? env.KAFKA_BROKERS) args.push('--bootstrap-server', (options.brokers ?? env.KAFKA_BROKERS) as string);
  for (const [k, v] of Object.entries(options.config ?? {})) args.push('--config', `${k}=${v}`);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.on('error', (e) => reject(new TestkitError('infra_script_failed', `cannot run ${script}: ${errorMessage(e)}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TestkitError('infra_script_failed', `kafka-topics --create ${topic} exited ${code}: ${Buffer.concat(out).toString('utf8').trim()}`));
    });
  });
}
