import { mapLimit } from './http';
import { parsePrometheusText, sumSamples } from './prometheus';
import { seededRandom } from './random';

describe('pipeline test support', () => {
  it('parses the Prometheus text format and sums samples by labels', () => {
    const samples = parsePrometheusText(
      [
        '# HELP safeguard_consumer_lag lag',
        '# TYPE safeguard_consumer_lag gauge',
        'safeguard_consumer_lag{topic="a",partition="0",service="hasher"} 3',
        'safeguard_consumer_lag{topic="a",partition="1",service="hasher"} 4',
        'safeguard_consumer_lag{topic="b",partition="0",service="hasher"} 10',
        'process_cpu_seconds_total 1.5 1700000000000',
        'odd{label="with \\"quote\\""} +Inf',
      ].join('\n'),
    );
    expect(sumSamples(samples, 'safeguard_consumer_lag')).toBe(17);
    expect(sumSamples(samples, 'safeguard_consumer_lag', { topic: 'a' })).toBe(7);
    expect(sumSamples(samples, 'process_cpu_seconds_total')).toBe(1.5);
    expect(samples.find((s) => s.name === 'odd')).toEqual({ name: 'odd', labels: { label: 'with "quote"' }, value: Infinity });
  });

  it('runs work with bounded concurrency, results in input order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40]);
    expect(peak).toBe(2);
  });

  it('draws the same numbers from the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(43)()).not.toBe(xs[0]);
  });
});
