import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createPublicKey } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTransport, type Transport } from '@safeguard/kafka';
import { EuCentreSimulator, NcmecSimulator } from '@safeguard/reporting/sim';
import { integrationEnv, repoRoot, uniqueName, waitFor, type IntegrationEnv } from '@safeguard/testkit';
import { freePorts } from './ports';
import { parsePrometheusText, type Sample } from './prometheus';

const run = promisify(execFile);

/** The five services, in pipeline order (also the order of a graceful stop: intake first). */
export const SERVICE_NAMES = ['ingest', 'hasher', 'matcher', 'grooming', 'reporter'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The platform id the ingest API key maps to. */
export const PLATFORM_ID = 'e2e-platform';

/**
 * Reporter policy of a pipeline run (the reporter README's example): exact MD5/SHA-256 matches on
 * an authority-verified block list are reported directly; PDQ matches go to human review.
 */
export const DEFAULT_POLICY = {
  version: 1,
  defaultDestinations: ['eu_centre', 'ncmec'],
  rules: [
    { id: 'exact-verified', when: { kind: 'match', bankKind: ['block'], bankVerified: true, algorithm: ['sha256', 'md5'], maxDistance: 0 }, action: 'report', industryClassification: 'B2' },
    { id: 'pdq-near', when: { kind: 'match', algorithm: ['pdq'], maxDistance: 31, minQuality: 50 }, action: 'review' },
  ],
};

/** Provider profile of a pipeline run (synthetic). */
export const PROVIDER = {
  name: 'Example Platform B.V. (pipeline test)',
  legalEntityId: 'EUID-TEST-0001',
  country: 'NL',
  contactEmail: 'trust-safety@example.org',
  service: 'Example Photos',
  ncmec: {
    reportingPerson: { firstName: 'Test', lastName: 'Reporter', email: 'reporter@example.org' },
    companyTemplate: 'Synthetic pipeline test report. Legal process: legal@example.org.',
  },
};

/** Options of {@link Pipeline.start}. */
export interface PipelineOptions {
  /** Broker and registry; default `integrationEnv()` (the testkit global setup provides them). */
  env?: IntegrationEnv;
  /** Topic prefix (and consumer-group prefix); default a fresh `uniqueName('e2e')` plus a dot. */
  prefix?: string;
  /** Services to start; default all five. Others can be started later with {@link Pipeline.start}. */
  services?: readonly ServiceName[];
  /** Directories the hasher may read `file://` media from. */
  fileRoots?: readonly string[];
  /** Directory whose `file://` media the reporter uploads to NCMEC; default none (hashes only). */
  mediaRoot?: string;
  /** Reporter policy; default {@link DEFAULT_POLICY}. */
  policy?: unknown;
  /** Bank sources the reporter treats as authority-verified; default `eu_centre`. */
  verifiedSources?: readonly string[];
  /** Extra or overriding environment variables per service. */
  extraEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Deadline for each service's `/readyz`, ms; default 180000 (a loaded 2-core machine). */
  readyTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL at stop, ms; default 30000. */
  stopTimeoutMs?: number;
  /** Service log level; default `info`. */
  logLevel?: string;
}

/** API keys of a run (random, 48 hex characters each). */
export interface PipelineKeys {
  /** Ingest HTTP API key of {@link PLATFORM_ID}. */
  ingest: string;
  /** Matcher check API key of {@link PLATFORM_ID}. */
  matcher: string;
  /** Reporter review API keys by role. */
  reviewer: string;
  admin: string;
  platform: string;
}

/** One run of a service process. */
interface Incarnation {
  proc: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

/** How a service process ended. */
export interface ServiceExit {
  service: ServiceName;
  incarnation: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner that dies must not leave services consuming CPU on a shared machine.
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

/**
 * The whole pipeline as separate processes (`node services/<name>/dist/main.js`) on the real
 * broker and registry, with a unique topic prefix, free ports, its config files in a temporary
 * directory and the NCMEC and EU Centre simulators running in this process on 127.0.0.1.
 * Each service's stdout and stderr go to `<workDir>/logs/<service>.<n>.log` (n = incarnation).
 *
 * Why separate processes: faults (`kill -9`), restarts and CPU per service are only real that
 * way, and it is how the services are deployed.
 */
export class Pipeline {
  /** Every process exit seen (kills and graceful stops), in order. */
  readonly exits: ServiceExit[] = [];
  private readonly incarnations = new Map<ServiceName, Incarnation[]>();
  private admin?: Transport;
  private stopped = false;

  private constructor(
    readonly env: IntegrationEnv,
    readonly prefix: string,
    readonly workDir: string,
    readonly keys: PipelineKeys,
    readonly ports: Record<ServiceName, { metrics: number; http?: number }>,
    readonly ncmec: NcmecSimulator,
    readonly eu: EuCentreSimulator,
    private readonly serviceEnv: Record<ServiceName, Record<string, string>>,
    private readonly options: PipelineOptions,
  ) {}

  /** Builds the run (ports, files, simulators) and starts `options.services`, waiting for each `/readyz`. */
  static async start(options: PipelineOptions = {}): Promise<Pipeline> {
    installExitHook();
    const root = repoRoot();
    for (const name of SERVICE_NAMES) {
      const main = join(root, 'services', name, 'dist', 'main.js');
      if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx turbo run build --filter=@safeguard/system-tests...)`);
    }
    const env = options.env ?? integrationEnv();
    const prefix = options.prefix ?? `${uniqueName('e2e')}.`;
    const workDir = mkdtempSync(join(tmpdir(), 'safeguard-pipeline-'));
    mkdirSync(join(workDir, 'logs'));
    const key = (): string => randomBytes(24).toString('hex');
    const keys: PipelineKeys = { ingest: key(), matcher: key(), reviewer: key(), admin: key(), platform: key() };
    const [mIngest, mHasher, mMatcher, mGrooming, mReporter, hIngest, hMatcher, hReporter] = await freePorts(8);
    const ports: Record<ServiceName, { metrics: number; http?: number }> = {
      ingest: { metrics: mIngest!, http: hIngest! },
      hasher: { metrics: mHasher! },
      matcher: { metrics: mMatcher!, http: hMatcher! },
      grooming: { metrics: mGrooming! },
      reporter: { metrics: mReporter!, http: hReporter! },
    };

    const policyFile = join(workDir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(options.policy ?? DEFAULT_POLICY));
    const providerFile = join(workDir, 'provider.json');
    writeFileSync(providerFile, JSON.stringify(PROVIDER));
    const signingKeyFile = join(root, 'examples', 'keys', 'demo-ed25519.pem');
    const publicKey = createPublicKey(readFileSync(join(root, 'examples', 'keys', 'demo-ed25519.pub.pem')));
    const ncmec = await NcmecSimulator.start();
    const eu = await EuCentreSimulator.start({ publicKeys: [publicKey] });

    const common = {
      KAFKA_BROKERS: env.brokersCsv,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SAFEGUARD_TOPIC_PREFIX: prefix,
      LOG_LEVEL: options.logLevel ?? 'info',
      SHUTDOWN_TIMEOUT_MS: '20000',
      // A service killed with kill -9 holds its partitions until the broker expires its session;
      // 10 s instead of 30 s keeps restarts quick (the broker here allows down to 1 s).
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const serviceEnv: Record<ServiceName, Record<string, string>> = {
      ingest: { ...common, METRICS_PORT: String(ports.ingest.metrics), INGEST_HTTP_PORT: String(ports.ingest.http), INGEST_API_KEYS: `${PLATFORM_ID}:${keys.ingest}` },
      hasher: { ...common, METRICS_PORT: String(ports.hasher.metrics), HASHER_FILE_ROOTS: (options.fileRoots ?? []).join(',') },
      matcher: {
        ...common,
        METRICS_PORT: String(ports.matcher.metrics),
        MATCHER_HTTP_PORT: String(ports.matcher.http),
        MATCHER_API_KEYS: `${PLATFORM_ID}:${keys.matcher}`,
        // One check thread: the check API is not exercised by the stream, and threads cost memory.
        MATCHER_CHECK_THREADS: '1',
      },
      grooming: { ...common, METRICS_PORT: String(ports.grooming.metrics) },
      reporter: {
        ...common,
        METRICS_PORT: String(ports.reporter.metrics),
        REPORTER_HTTP_PORT: String(ports.reporter.http),
        REPORTER_API_KEYS: [`rev-1:reviewer:${keys.reviewer}`, `adm-1:admin:${keys.admin}`, `plat-1:platform:${keys.platform}`].join(','),
        REPORTER_STORE_PATH: join(workDir, 'reporting.db'),
        REPORTER_POLICY_FILE: policyFile,
        REPORTER_PROVIDER_FILE: providerFile,
        REPORTER_SIGNING_KEY_FILE: signingKeyFile,
        REPORTER_NCMEC_URL: ncmec.url,
        REPORTER_NCMEC_USERNAME: ncmec.credentials.username,
        REPORTER_NCMEC_PASSWORD: ncmec.credentials.password,
        REPORTER_EU_CENTRE_URL: eu.url,
        REPORTER_VERIFIED_SOURCES: (options.verifiedSources ?? ['eu_centre']).join(','),
        ...(options.mediaRoot ? { REPORTER_MEDIA_ROOT: options.mediaRoot } : {}),
        REPORTER_DELIVERY_INTERVAL_MS: '500',
        REPORTER_RELAY_INTERVAL_MS: '500',
        REPORTER_DELIVERY_BACKOFF_BASE_MS: '500',
      },
    };
    for (const name of SERVICE_NAMES) Object.assign(serviceEnv[name], options.extraEnv?.[name] ?? {});

    const pipeline = new Pipeline(env, prefix, workDir, keys, ports, ncmec, eu, serviceEnv, options);
    try {
      await Promise.all((options.services ?? SERVICE_NAMES).map((name) => pipeline.start(name)));
    } catch (err) {
      pipeline.printLogs();
      await pipeline.stop();
      throw err;
    }
    return pipeline;
  }

  /** The reporter's SQLite store (open it read-only for assertions). */
  get storePath(): string {
    return this.serviceEnv.reporter.REPORTER_STORE_PATH!;
  }

  /** The prefixed name of a topic, e.g. `topic('media.content.hashed.v1')`. */
  topic(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** The consumer group of a service. */
  group(service: ServiceName): string {
    return `${this.prefix}${service}`;
  }

  /** `http://127.0.0.1:<port>` of a service's API (ingest, matcher, reporter). */
  url(service: 'ingest' | 'matcher' | 'reporter'): string {
    return `http://127.0.0.1:${this.ports[service].http}`;
  }

  /** `http://127.0.0.1:<metrics port>` of a service (`/metrics`, `/healthz`, `/readyz`). */
  managementUrl(service: ServiceName): string {
    return `http://127.0.0.1:${this.ports[service].metrics}`;
  }

  /** A Kafka transport for the test's own reads and writes (closed by {@link Pipeline.stop}). */
  transport(): Transport {
    this.admin ??= createTransport({ kind: 'kafka', brokers: this.env.brokers, clientId: 'pipeline-test', schemaRegistryUrl: this.env.registryUrl });
    return this.admin;
  }

  /** Whether the service's current process is running. */
  isRunning(service: ServiceName): boolean {
    const inc = this.current(service);
    return inc !== undefined && inc.exit === undefined;
  }

  /** Process id of the service's current process. */
  pid(service: ServiceName): number | undefined {
    return this.isRunning(service) ? this.current(service)!.proc.pid : undefined;
  }

  /** How many times the service was started. */
  incarnationCount(service: ServiceName): number {
    return this.incarnations.get(service)?.length ?? 0;
  }

  /**
   * Starts a process of the service and waits for its `/readyz` (200).
   * @throws when the process exits first or the deadline passes (with the log's tail).
   */
  async start(service: ServiceName): Promise<void> {
    if (this.isRunning(service)) throw new Error(`${service} is already running`);
    const list = this.incarnations.get(service) ?? [];
    this.incarnations.set(service, list);
    const logFile = join(this.workDir, 'logs', `${service}.${list.length + 1}.log`);
    const fd = openSync(logFile, 'a');
    const main = join(repoRoot(), 'services', service, 'dist', 'main.js');
    const proc = spawn(process.execPath, [main], { env: { PATH: process.env.PATH ?? '', ...this.serviceEnv[service] }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(proc);
    const inc: Incarnation = {
      proc,
      logFile,
      exited: new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          live.delete(proc);
          inc.exit = { code, signal };
          this.exits.push({ service, incarnation: list.indexOf(inc) + 1, code, signal });
          resolve({ code, signal });
        });
      }),
    };
    list.push(inc);
    await this.waitReady(service);
  }

  /** Waits until the service's current process answers `/readyz` with 200. */
  async waitReady(service: ServiceName, timeoutMs = this.options.readyTimeoutMs ?? 180_000): Promise<void> {
    const inc = this.current(service);
    if (!inc) throw new Error(`${service} was never started`);
    try {
      await waitFor(
        async () => {
          if (inc.exit) throw new Error(`exited with ${JSON.stringify(inc.exit)}`);
          const res = await fetch(`${this.managementUrl(service)}/readyz`, { signal: AbortSignal.timeout(5_000) });
          return res.status === 200;
        },
        { timeoutMs, intervalMs: 200, description: `${service} /readyz` },
      );
    } catch (err) {
      throw new Error(`${service} did not become ready: ${(err as Error).message}\n--- ${inc.logFile} (tail)\n${this.logTail(service, 40)}`, { cause: err });
    }
    if (inc.exit) throw new Error(`${service} exited: ${JSON.stringify(inc.exit)}\n${this.logTail(service, 40)}`);
  }

  /**
   * Sends `signal` (default SIGKILL, i.e. `kill -9`) to the service's current process and waits
   * for it to end (SIGKILL after `stopTimeoutMs` if a SIGTERM is not enough).
   */
  async kill(service: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const inc = this.current(service);
    if (!inc || inc.exit) throw new Error(`${service} is not running`);
    inc.proc.kill(signal);
    if (signal === 'SIGKILL') return inc.exited;
    const bound = this.options.stopTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        inc.proc.kill('SIGKILL');
        resolve();
      }, bound);
    });
    await Promise.race([inc.exited, forced]);
    clearTimeout(timer);
    return inc.exited;
  }

  /** Kills the service (default `kill -9`), starts a new process of it and waits until it is ready. */
  async restart(service: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.isRunning(service)) await this.kill(service, signal);
    await this.start(service);
  }

  /** Scrapes the service's `/metrics`. */
  async scrape(service: ServiceName): Promise<Sample[]> {
    const res = await fetch(`${this.managementUrl(service)}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${service} /metrics answered ${res.status}`);
    return parsePrometheusText(await res.text());
  }

  /**
   * Runs the `safeguard` CLI (built `packages/cli/bin/safeguard.js`) against this run's broker,
   * registry and (unless `topicPrefix: false`, for commands that take a full topic name) topic
   * prefix; resolves with its stdout, rejects on a non-zero exit.
   */
  async cli(args: readonly string[], options: { topicPrefix?: boolean; timeoutMs?: number } = {}): Promise<string> {
    const bin = join(repoRoot(), 'packages', 'cli', 'bin', 'safeguard.js');
    const connection = ['--brokers', this.env.brokersCsv, '--registry', this.env.registryUrl, ...(options.topicPrefix === false ? [] : ['--topic-prefix', this.prefix])];
    const { stdout } = await run(process.execPath, [bin, ...args, ...connection], {
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /** The last `lines` lines of the service's current log (all incarnations when `all`). */
  logTail(service: ServiceName, lines = 40, all = false): string {
    const list = this.incarnations.get(service) ?? [];
    const files = all ? list.map((i) => i.logFile) : list.slice(-1).map((i) => i.logFile);
    return files
      .map((f) => {
        const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
        return `[${f}]\n${text.split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  /** Every line of every incarnation's log of the service. */
  logLines(service: ServiceName): string[] {
    return (this.incarnations.get(service) ?? []).flatMap((i) => (existsSync(i.logFile) ? readFileSync(i.logFile, 'utf8').split('\n').filter(Boolean) : []));
  }

  /** Prints the tail of every service's logs to stderr (call it when a test fails). */
  printLogs(lines = 60): void {
    for (const name of SERVICE_NAMES) {
      if (!this.incarnations.has(name)) continue;
      process.stderr.write(`\n===== ${name} =====\n${this.logTail(name, lines, true)}\n`);
    }
  }

  /**
   * Stops every running service (SIGTERM in pipeline order, all at once, SIGKILL after
   * `stopTimeoutMs`), deletes the run's topics, closes the simulators and the test transport,
   * and removes the work directory unless `keepWorkDir` (keep it to read the logs after a failure).
   * @returns how each process stopped at this call.
   */
  async stop(options: { keepWorkDir?: boolean } = {}): Promise<ServiceExit[]> {
    if (this.stopped) return [];
    this.stopped = true;
    const before = this.exits.length;
    await Promise.all(SERVICE_NAMES.filter((n) => this.isRunning(n)).map((n) => this.kill(n, 'SIGTERM')));
    const stops = this.exits.slice(before);
    try {
      const admin = this.transport().admin();
      const names = (await admin.listTopics()).filter((t) => t.startsWith(this.prefix));
      await admin.deleteTopics(names);
    } finally {
      await this.admin?.close().catch(() => undefined);
      await this.ncmec.close();
      await this.eu.close();
      if (!options.keepWorkDir) rmSync(this.workDir, { recursive: true, force: true });
    }
    return stops;
  }

  private current(service: ServiceName): Incarnation | undefined {
    return this.incarnations.get(service)?.at(-1);
  }
}
