import sharp from 'sharp';
import { pdqDistanceHex } from '@safeguard/domain/pdq';
import { fastShrinkFactor, hashImage } from '../src';
import { benignJpeg } from './fixtures';

describe('fast mode', () => {
  it('picks the largest JPEG shrink that keeps both sides at least 512 after the reduction', () => {
    expect(fastShrinkFactor(5000, 5000)).toBe(8);
    expect(fastShrinkFactor(4000, 3000)).toBe(4);
    expect(fastShrinkFactor(2560, 1600)).toBe(2);
    expect(fastShrinkFactor(1920, 1080)).toBe(1);
    expect(fastShrinkFactor(512, 512)).toBe(1);
  });

  it('hashes a large JPEG close to exact mode and says which mode it used', async () => {
    const large = await sharp(benignJpeg()).resize(3200, 2400, { kernel: 'lanczos3' }).jpeg({ quality: 90 }).toBuffer();
    const exact = await hashImage(large);
    const fast = await hashImage(large, { mode: 'fast' });
    expect(fast).toMatchObject({ mode: 'fast', width: 3200, height: 2400, sha256: exact.sha256 });
    expect(exact.mode).toBe('exact');
    expect(pdqDistanceHex(fast.pdq, exact.pdq)).toBeLessThanOrEqual(16);
  });

  it('is identical to exact mode for images that need no reduction', async () => {
    const small = benignJpeg();
    expect((await hashImage(small, { mode: 'fast' })).pdq).toBe((await hashImage(small)).pdq);
  });
});
