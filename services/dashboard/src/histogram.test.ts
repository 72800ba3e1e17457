import { describe, expect, it } from 'vitest';
import { bucketBounds, histogramQuantiles } from './histogram.js';

describe('execution-time histogram', () => {
  it.each([
    [0, 0, 1],
    [1, 1, 2 ** 0.25],
    [4, 2 ** 0.75, 2],
    [41, 1024, 2 ** 10.25],
  ])('bucket %i covers [%d, %d) s', (k, lower, upper) => {
    expect(bucketBounds(k).lower).toBeCloseTo(lower, 9);
    expect(bucketBounds(k).upper).toBeCloseTo(upper, 9);
  });

  it('reads quantiles at the geometric middle of their bucket', () => {
    // 50 runs under 1 s, 40 in bucket 4 ([1.68, 2) s), 10 in bucket 41 ([1024, 1218) s)
    const hist = [
      { bucket: 41, runs: 10 },
      { bucket: 0, runs: 50 },
      { bucket: 4, runs: 40 },
    ];
    const [p50, p90, p99] = histogramQuantiles(hist, [0.5, 0.9, 0.99]);
    expect(p50).toBe(0.5);
    expect(p90).toBeCloseTo(2 ** (3.5 / 4), 9);
    expect(p99).toBeCloseTo(2 ** (40.5 / 4), 9);
  });

  it('has no quantiles without runs', () => {
    expect(histogramQuantiles([], [0.5])).toEqual([null]);
  });
});
