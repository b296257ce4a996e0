import { chartSvg, niceScale, svgToPng } from './chart';
import { burstRate, quantile, slope, summarize } from './stats';

describe('load statistics', () => {
  it('takes nearest-rank quantiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(v, 0.5), quantile(v, 0.95), quantile(v, 0.99), quantile(v, 1)]).toEqual([50, 95, 99, 100]);
    expect(quantile([], 0.5)).toBeNull();
    expect(summarize([30, 10, 20])).toEqual({ count: 3, p50: 20, p90: 30, p95: 30, p99: 30, max: 30 });
  });

  it('measures a burst between its first and last completion', () => {
    expect(burstRate([1_000, 1_500, 2_000, 3_000])).toBe(1.5);
    expect(burstRate([5_000])).toBeNull();
    expect(burstRate([5_000, 5_000])).toBeNull();
  });

  it('fits the growth of a series', () => {
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
    expect(slope([{ x: 0, y: 4 }, { x: 10, y: 4 }])).toBe(0);
    expect(slope([{ x: 1, y: 1 }])).toBeNull();
  });
});

describe('load chart', () => {
  it('picks round axis bounds', () => {
    expect(niceScale(7)).toEqual({ top: 8, step: 2 });
    expect(niceScale(0)).toEqual({ top: 1, step: 0.2 });
    expect(niceScale(230)).toEqual({ top: 250, step: 50 });
  });

  it('renders panels as SVG and rasterises them to PNG', async () => {
    const svg = chartSvg(
      [{ title: 'Throughput <per s>', yLabel: 'per s', series: [{ name: 'hashed', color: '#d62728', points: [{ x: 0, y: 1 }, { x: 10, y: 4 }] }] }],
      { title: 'test', markers: [{ x: 5, label: '4/s' }] },
    );
    expect(svg).toContain('Throughput &lt;per s&gt;');
    expect(svg).toMatch(/<path d="M70\.0,[0-9.]+ L[0-9.]+,[0-9.]+"/);
    const png = await svgToPng(svg);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});
