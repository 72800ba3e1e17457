import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it.each([
    // [name, rate/s, burst, arrival times (ms), expected outcomes]
    ['burst passes, then blocks', 1, 3, [0, 0, 0, 0], [true, true, true, false]],
    ['refills at the rate', 10, 1, [0, 50, 100, 150, 200], [true, false, true, false, true]],
    ['refill is capped at burst', 1000, 2, [0, 0, 10_000, 10_000, 10_000], [true, true, true, true, false]],
    ['a clock step back mints nothing', 1, 1, [5_000, 0, 1_000], [true, false, false]],
  ])('%s', (_name, ratePerSec, burst, times, expected) => {
    const rl = new RateLimiter({ ratePerSec, burst, maxSources: 10 });
    expect(times.map((t) => rl.tryTake('10.0.0.1', t))).toEqual(expected);
  });

  it.each([
    ['sources do not share a bucket', ['a', 'a', 'b', 'b'], [true, false, true, false]],
    // c evicts a (least recently seen), so a comes back with a full bucket.
    ['evicts the least recently seen source', ['a', 'b', 'c', 'a', 'c'], [true, true, true, true, false]],
    // a is touched again before c arrives, so b is evicted and a stays limited.
    ['touching a source keeps it', ['a', 'b', 'a', 'c', 'a'], [true, true, false, true, false]],
  ])('%s', (_name, sources, expected) => {
    const rl = new RateLimiter({ ratePerSec: 0.001, burst: 1, maxSources: 2 });
    expect(sources.map((s) => rl.tryTake(s, 0))).toEqual(expected);
    expect(rl.size).toBeLessThanOrEqual(2);
  });

  it('memory stays bounded under many sources', () => {
    const rl = new RateLimiter({ ratePerSec: 50, burst: 200, maxSources: 1000 });
    for (let i = 0; i < 50_000; i++) rl.tryTake(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i);
    expect(rl.size).toBe(1000);
  });
});
