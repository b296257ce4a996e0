import { generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { groomingConfigSchema, startGrooming, type GroomingService } from '@safeguard/grooming-service';
import { hasherConfigSchema, startHasher, type HasherService } from '@safeguard/hasher';
import { ingestConfigSchema, startIngest, type IngestService } from '@safeguard/ingest';
import { createTransport, InProcessBroker, type InProcessTransport } from '@safeguard/kafka';
import { matcherConfigSchema, startMatcher, type MatcherService } from '@safeguard/matcher';
import { createMetricsRegistry, startHealthServer, type HealthServer, type Logger, type Registry } from '@safeguard/observability';
import { reporterConfigSchema, startReporter, type ReporterService } from '@safeguard/reporter';
import { EuCentreSimulator, NcmecSimulator } from '@safeguard/reporting/sim';
import { ServiceRuntime, type CommonConfig } from '@safeguard/service-runtime';

/** API keys of the demo (synthetic; only valid inside this process). */
export const DEMO_KEYS = {
  platform: 'demo-platform-key-'.padEnd(32, 'p'),
  reviewer: 'demo-reviewer-key-'.padEnd(32, 'r'),
  admin: 'demo-admin-key-'.padEnd(32, 'a'),
};

/** Where the demo's inputs are. */
export interface DemoPaths {
  /** Folder the hasher may read media from (file:// roots). */
  mediaRoot: string;
  policyFile: string;
  providerFile: string;
  /** The demo-only Ed25519 private key (PKCS#8 PEM). */
  signingKeyFile: string;
}

/** Options of {@link DemoPipeline.start}. */
export interface DemoPipelineOptions {
  paths: DemoPaths;
  logger: Logger;
  /** Port of the shared /metrics /healthz /readyz server; 0 picks a free one; undefined: none. */
  metricsPort?: number;
  /** Hash the 8 dihedral variants too (rotated and mirrored copies then match). Default true. */
  dihedral?: boolean;
}

const COMMON_ENV = { SAFEGUARD_TRANSPORT: 'in-process', METRICS_PORT: '0', SHUTDOWN_TIMEOUT_MS: '10000' } as const;

/**
 * All five Safeguard services in one process, joined by one in-process broker (same partitions,
 * consumer groups and Avro wire format as Kafka), plus the local NCMEC and EU Centre simulators.
 * Each service is started through its own config schema and start function, exactly as its
 * `main.ts` does, so the demo runs the production code paths.
 */
export class DemoPipeline {
  private constructor(
    readonly broker: InProcessBroker,
    /** A transport for the demo itself (reading topics, publishing bank entries). */
    readonly transport: InProcessTransport,
    readonly registry: Registry,
    readonly ingest: IngestService,
    readonly hasher: HasherService,
    readonly matcher: MatcherService,
    readonly grooming: GroomingService,
    readonly reporter: ReporterService,
    readonly ncmec: NcmecSimulator,
    readonly euCentre: EuCentreSimulator,
    /** The public key EU reports verify with. */
    readonly publicKey: KeyObject,
    private readonly runtimes: ServiceRuntime[],
    readonly health: HealthServer | undefined,
  ) {}

  /** Starts the simulators and the five services; resolves when every service is ready. */
  static async start(options: DemoPipelineOptions): Promise<DemoPipeline> {
    const { paths, logger } = options;
    const broker = new InProcessBroker();
    const registry = createMetricsRegistry({ service: 'demo' });
    const runtimes: ServiceRuntime[] = [];
    const runtime = async (service: string, common: CommonConfig): Promise<ServiceRuntime> => {
      const r = await ServiceRuntime.start({ service, common, logger: logger.child({ component: service }), registry, inProcessBroker: broker, healthServer: false });
      runtimes.push(r);
      return r;
    };

    const privateKey = createPrivateKey(readFileSync(paths.signingKeyFile));
    const publicKey = createPublicKey(privateKey);
    const ncmec = await NcmecSimulator.start();
    const euCentre = await EuCentreSimulator.start({ publicKeys: [publicKey] });

    try {
      const ingestConfig = ingestConfigSchema.parse({ ...COMMON_ENV, INGEST_HTTP_PORT: '0', INGEST_API_KEYS: `demo-platform:${DEMO_KEYS.platform}`, INGEST_KAFKA_INPUT: 'false' });
      const ingest = await startIngest(ingestConfig, await runtime('ingest', ingestConfig.common));

      const hasherConfig = hasherConfigSchema.parse({
        ...COMMON_ENV,
        HASHER_FILE_ROOTS: paths.mediaRoot,
        HASHER_URI_SCHEMES: 'file',
        HASHER_POOL_SIZE: '2',
        HASHER_DIHEDRAL: String(options.dihedral ?? true),
      });
      const hasher = await startHasher(hasherConfig, await runtime('hasher', hasherConfig.common));

      const matcherConfig = matcherConfigSchema.parse({ ...COMMON_ENV, MATCHER_CHECK_API: 'false' });
      const matcher = await startMatcher(matcherConfig, await runtime('matcher', matcherConfig.common));

      const groomingConfig = groomingConfigSchema.parse({ ...COMMON_ENV, GROOMING_FAN_OUT: 'local' });
      const grooming = await startGrooming(groomingConfig, await runtime('grooming', groomingConfig.common));

      const reporterConfig = reporterConfigSchema.parse({
        ...COMMON_ENV,
        REPORTER_HTTP_PORT: '0',
        REPORTER_API_KEYS: `demo-reviewer:reviewer:${DEMO_KEYS.reviewer},demo-admin:admin:${DEMO_KEYS.admin},demo-platform:platform:${DEMO_KEYS.platform}`,
        REPORTER_STORE_PATH: ':memory:',
        REPORTER_POLICY_FILE: paths.policyFile,
        REPORTER_PROVIDER_FILE: paths.providerFile,
        REPORTER_SIGNING_KEY_FILE: paths.signingKeyFile,
        REPORTER_NCMEC_URL: ncmec.url,
        REPORTER_NCMEC_USERNAME: ncmec.credentials.username,
        REPORTER_NCMEC_PASSWORD: ncmec.credentials.password,
        REPORTER_EU_CENTRE_URL: euCentre.url,
        REPORTER_VERIFIED_SOURCES: 'eu_centre',
        REPORTER_MEDIA_ROOT: paths.mediaRoot,
        REPORTER_DELIVERY_INTERVAL_MS: '250',
        REPORTER_RELAY_INTERVAL_MS: '250',
      });
      const reporter = await startReporter(reporterConfig, await runtime('reporter', reporterConfig.common));

      const transport = createTransport({ kind: 'in-process', broker, clientId: 'demo' });
      const health = options.metricsPort === undefined ? undefined : await startHealthServer({ port: options.metricsPort, host: '127.0.0.1', registry });
      health?.addReadinessCheck({ name: 'matcher_ready', check: () => matcher.isReady() });
      return new DemoPipeline(broker, transport, registry, ingest, hasher, matcher, grooming, reporter, ncmec, euCentre, publicKey, runtimes, health);
    } catch (err) {
      for (const r of runtimes.reverse()) await r.stop();
      await ncmec.close();
      await euCentre.close();
      throw err;
    }
  }

  /** Base URL of the ingest HTTP gateway. */
  get ingestUrl(): string {
    return `http://127.0.0.1:${this.ingest.httpPort}`;
  }

  /** Base URL of the reporter's review API. */
  get reviewUrl(): string {
    return `http://127.0.0.1:${this.reporter.httpPort}`;
  }

  /**
   * True when every service's consumer group has committed every record of its input topics
   * (nothing in flight anywhere in the pipeline).
   */
  async idle(): Promise<boolean> {
    const admin = this.transport.admin();
    const groups: Array<[string, string]> = [
      ['hasher', 'media.content.submitted.v1'],
      ['matcher', 'media.content.hashed.v1'],
      ['grooming', 'chat.message.sent.v1'],
      ['reporter', 'matching.content.matched.v1'],
      ['reporter', 'grooming.conversation.flagged.v1'],
    ];
    for (const [group, topic] of groups) {
      const ends = await admin.listOffsets(topic);
      const committed = new Map((await admin.committedOffsets(group, topic)).map((c) => [c.partition, c.offset]));
      for (const p of ends) {
        if (p.high !== p.low && committed.get(p.partition) !== p.high) return false;
      }
    }
    return true;
  }

  /** Stops the services in pipeline order, then the simulators. */
  async stop(): Promise<void> {
    for (const r of [...this.runtimes].reverse()) await r.stop();
    await this.transport.close();
    await this.health?.close();
    await this.ncmec.close();
    await this.euCentre.close();
  }
}

/** A throw-away Ed25519 key pair (tests). */
export function ephemeralSigningKey(): { privatePem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}
