/**
 * Memory stays bounded under a stream of hostile inputs: bombs are refused from the header, so
 * resident memory must not grow with the number of refusals. No timing assertions.
 */
import { pngBomb, svgBytes, textBytes, truncatedJpeg } from '@safeguard/testkit';
import { hashMediaOutcome } from '../src';

describe('a stream of bombs', () => {
  it('refuses 400 hostile inputs without resident memory growing', async () => {
    const inputs = [pngBomb(30000), pngBomb(60000), truncatedJpeg(), textBytes(), svgBytes()];
    const codes = new Set<string>();
    const run = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const out = await hashMediaOutcome(inputs[i % inputs.length]);
        if (out.ok) throw new Error('a hostile input was accepted');
        codes.add(out.error.code);
      }
    };
    await run(100);
    const before = process.memoryUsage().rss;
    await run(400);
    const growth = process.memoryUsage().rss - before;
    expect([...codes].sort()).toEqual(['media_dimensions_exceeded', 'media_truncated', 'media_unsupported_type']);
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  });
});
