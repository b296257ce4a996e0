import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExports, repoRoot, type IntegrationEnv } from '@safeguard/testkit';
import { freePorts } from './ports';

/**
 * A Kafka broker and schema registry of this test alone (`infra/infra.sh` with its own state
 * directory and free ports), for tests that stop or restart the broker: the shared one on
 * 127.0.0.1:9092 serves other people's tests, and `infra.sh up` would start it with empty data.
 * A watchdog started by the script (`SAFEGUARD_INFRA_OWNER_PID` = this process) stops the
 * instance once this process has exited, however it ended; {@link PrivateInfra.stop} does it
 * at once.
 */
export class PrivateInfra {
  private stopped = false;

  private constructor(
    /** Broker and registry of this instance, in the form the launcher takes. */
    readonly env: IntegrationEnv,
    /** The instance's state directory (data, logs, pids). */
    readonly dir: string,
    private readonly scriptEnv: NodeJS.ProcessEnv,
  ) {}

  /**
   * Starts the instance (about 20-40 s on two loaded cores; the downloads are shared with the
   * shared instance, so nothing is fetched again).
   * @throws when the script fails (its messages are on stderr); nothing is left running then.
   */
  static async start(): Promise<PrivateInfra> {
    const dir = mkdtempSync(join(tmpdir(), 'safeguard-infra-'));
    const [kafka, controller, registry, management] = await freePorts(4);
    const scriptEnv: NodeJS.ProcessEnv = {
      ...process.env,
      SAFEGUARD_INFRA_DIR: dir,
      SAFEGUARD_KAFKA_PORT: String(kafka),
      SAFEGUARD_CONTROLLER_PORT: String(controller),
      SAFEGUARD_REGISTRY_PORT: String(registry),
      SAFEGUARD_REGISTRY_MGMT_PORT: String(management),
      SAFEGUARD_INFRA_OWNER_PID: String(process.pid),
    };
    // The test's own broker selection must not leak into the script (it only prints them).
    delete scriptEnv.KAFKA_BROKERS;
    delete scriptEnv.SCHEMA_REGISTRY_URL;
    const pending = new PrivateInfra({ brokers: [], brokersCsv: '', registryUrl: '', source: 'infra' }, dir, scriptEnv);
    try {
      await pending.script('up');
      const vars = parseExports(await pending.script('env'));
      const brokersCsv = vars.KAFKA_BROKERS ?? '';
      return new PrivateInfra({ brokers: brokersCsv.split(','), brokersCsv, registryUrl: vars.SCHEMA_REGISTRY_URL ?? '', source: 'infra' }, dir, scriptEnv);
    } catch (err) {
      await pending.stop();
      throw err;
    }
  }

  /**
   * Stops the Kafka JVM (SIGTERM, a controlled shutdown) and starts it again on the same data
   * (`infra.sh restart-kafka`); the registry keeps running. Resolves once the broker answers
   * again, with the time it took.
   */
  async restartKafka(): Promise<{ seconds: number }> {
    const t0 = Date.now();
    await this.script('restart-kafka');
    return { seconds: (Date.now() - t0) / 1000 };
  }

  /** Stops the broker and the registry and deletes the state directory (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.script('down');
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private script(command: 'up' | 'down' | 'env' | 'restart-kafka'): Promise<string> {
    const script = join(repoRoot(), 'infra', 'infra.sh');
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [script, command], { stdio: ['ignore', 'pipe', 'pipe'], env: this.scriptEnv });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else reject(new Error(`infra.sh ${command} (private instance in ${this.dir}) exited ${code}:\n${Buffer.concat(err).toString('utf8').slice(-4000)}`));
      });
    });
  }
}
