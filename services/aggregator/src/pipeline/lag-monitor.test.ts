import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { LagMonitor, partitionLag } from './lag-monitor.js';

describe('partitionLag', () => {
  const ends = new Map([
    [0, { high: 100n, low: 0n }],
    [1, { high: 50n, low: 20n }],
    [2, { high: 7n, low: 7n }],
  ]);
  it.each([
    ['caught up', new Map([[0, 100n]]), 0, 0n],
    ['behind', new Map([[0, 60n]]), 0, 40n],
    ['never committed: the whole retained partition', new Map<number, bigint>(), 1, 30n],
    ['committed -1 (kafkajs for none)', new Map([[1, -1n]]), 1, 30n],
    ['empty partition', new Map<number, bigint>(), 2, 0n],
    ['committed beyond the end (a truncated topic) is not negative', new Map([[0, 120n]]), 0, 0n],
  ])('%s', (_name, committed, partition, lag) => {
    expect(partitionLag(ends, committed).get(partition)).toBe(lag);
  });
});

describe('LagMonitor', () => {
  it('publishes the lag per partition, and counts a failed poll without throwing', async () => {
    const metrics = new Metrics();
    let fail = false;
    const warnings: unknown[] = [];
    const monitor = new LagMonitor({
      source: {
        ends: () =>
          fail
            ? Promise.reject(new Error('broker down'))
            : Promise.resolve(new Map([[0, { high: 9n, low: 0n }]])),
        committed: () => Promise.resolve(new Map([[0, 4n]])),
      },
      metrics,
      logger: { warn: (o: unknown) => void warnings.push(o) },
      intervalMs: 60_000,
      now: () => 1_000,
    });
    await monitor.poll();
    expect(metrics.get('aggregator_partition_lag', { partition: '0' })).toBe(5);
    expect(monitor.isHealthy()).toBe(true);
    fail = true;
    await monitor.poll();
    expect(metrics.get('aggregator_lag_poll_errors_total')).toBe(1);
    expect(warnings).toHaveLength(1);
  });
});
