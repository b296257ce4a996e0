// The load harness's smoke mode (the full run is a script: npx tsx test/load/run.ts): the five
// services on the real broker, a hasher standalone burst before and after, an end-to-end burst and
// one short rate step, with JSON and PNG written to a temporary directory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad, tempOutDir } from './harness';

jest.setTimeout(300_000);

describe('load harness (smoke mode, real broker)', () => {
  it('measures throughput, latency, lag and CPU, and writes the JSON and the chart', async () => {
    const out = tempOutDir();
    try {
      const result = await runLoad({ smoke: true, outDir: out.dir, name: 'load-smoke', log: (m) => process.stdout.write(`[load smoke] ${m}\n`) });
      expect(result.cpus).toBeGreaterThan(0);
      expect(result.hasherStandalone).toHaveLength(2);
      for (const b of [...result.hasherStandalone, result.pipelineBurst]) expect(b.imagesPerSecond).toBeGreaterThan(0);
      expect(result.endToEndOverStandalone).toBeGreaterThan(0);
      expect(result.steps).toHaveLength(1);
      const [step] = result.steps;
      expect(step!.submitted).toBeGreaterThan(0);
      // Every submission of the step was accepted and hashed (the step drained).
      expect(step!.drainSeconds).not.toBeNull();
      expect(step!.latencyMs.submittedToHashed.count).toBe(step!.submitted);
      expect(step!.latencyMs.submittedToHashed.p50).toBeGreaterThanOrEqual(0);
      expect(result.samples.length).toBeGreaterThan(0);
      expect(result.samples.some((s) => Object.keys(s.cpuCores).includes('hasher'))).toBe(true);
      const json = JSON.parse(readFileSync(join(out.dir, 'load-smoke.json'), 'utf8')) as { benchmark: string; steps: unknown[] };
      expect(json.benchmark).toBe('load');
      expect(json.steps).toHaveLength(1);
      expect(existsSync(join(out.dir, 'load-smoke.png'))).toBe(true);
      expect(readFileSync(join(out.dir, 'load-smoke.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
    } finally {
      out.remove();
    }
  });
});
