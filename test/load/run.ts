// Load harness entry point (a script, not part of the test suite):
//
//   npx tsx test/load/run.ts [--smoke] [--rates 4,8,12] [--start-rate 4] [--factor 1.5] [--max-rate 80]
//                            [--refine 2] [--step-seconds 45] [--burst 300] [--settle-ms 15000] [--images mixed|photos|vectors] [--out load]
//
// The broker and registry come from the testkit selection: KAFKA_BROKERS and SCHEMA_REGISTRY_URL
// when set, else Testcontainers when a Docker engine answers, else `infra/infra.sh up`
// (SAFEGUARD_TEST_INFRA=env|testcontainers|infra forces one). Build first: npx turbo run build.
// Writes bench/results/<out>.json and <out>.png.
import globalSetup from '@safeguard/testkit/global-setup';
import globalTeardown from '@safeguard/testkit/global-teardown';
import { runLoad, type LoadOptions } from './harness';
import type { ImageSet } from './images';

function parseArgs(argv: readonly string[]): LoadOptions {
  const out: LoadOptions = {};
  const num = (v: string | undefined, flag: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    switch (flag) {
      case '--smoke':
        out.smoke = true;
        continue;
      case '--rates':
        out.rates = (value ?? '').split(',').map((v) => num(v, flag));
        break;
      case '--start-rate':
        out.startRate = num(value, flag);
        break;
      case '--factor':
        out.factor = num(value, flag);
        break;
      case '--max-rate':
        out.maxRate = num(value, flag);
        break;
      case '--step-seconds':
        out.stepSeconds = num(value, flag);
        break;
      case '--refine':
        out.refine = Math.round(Number(value));
        if (!Number.isInteger(out.refine) || out.refine < 0) throw new Error('--refine needs a whole number');
        break;
      case '--burst':
        out.burst = Math.round(num(value, flag));
        break;
      case '--settle-ms':
        out.settleMs = Number(value);
        if (!Number.isFinite(out.settleMs) || out.settleMs < 0) throw new Error('--settle-ms needs a number ≥ 0');
        break;
      case '--images':
        if (!['mixed', 'photos', 'vectors'].includes(value ?? '')) throw new Error('--images takes mixed, photos or vectors');
        out.images = value as ImageSet;
        break;
      case '--out':
        if (!value || !/^[A-Za-z0-9._-]+$/.test(value)) throw new Error('--out takes a file name stem');
        out.name = value;
        break;
      default:
        throw new Error(`unknown argument ${flag}`);
    }
    i++;
  }
  return out;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  await globalSetup();
  try {
    const result = await runLoad(options);
    process.stdout.write(
      `${JSON.stringify({ maxSustainableRate: result.maxSustainableRate, endToEndOverStandalone: result.endToEndOverStandalone, pipelineBurst: result.pipelineBurst.imagesPerSecond, hasherStandalone: result.hasherStandalone.map((b) => b.imagesPerSecond), bottleneck: result.bottleneck })}\n`,
    );
  } finally {
    await globalTeardown();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
