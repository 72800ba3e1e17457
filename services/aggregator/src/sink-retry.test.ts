import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { TransientError } from './errors.js';
import { untilDone } from './sink-retry.js';

const ctx = {
  partition: 0,
  heartbeat: () => Promise.resolve(),
  isActive: () => true,
  commit: () => Promise.resolve(),
};

/** Attempts made within `ms` of virtual time by an operation that always fails with `message`. */
async function attemptsWithin(ms: number, message: string): Promise<number> {
  let attempts = 0;
  const deps = {
    metrics: new Metrics(),
    logger: { warn: () => undefined },
    coordination: {
      failed: (_op: string, err: unknown) => (err as Error).message === 'coordination',
      succeeded: () => undefined,
    },
  };
  void untilDone(deps, ctx, 'insert changes', () => {
    attempts++;
    return Promise.reject(new TransientError(message));
  }).catch(() => undefined);
  await vi.advanceTimersByTimeAsync(ms);
  return attempts;
}

describe('untilDone', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Over 60 s the back-off reaches its 30 s cap after about 8 attempts; without coordination
  // ClickHouse refuses at once, and a retry at most every second ends the pause with the outage.
  it.each([
    ['coordination lost (242, 999, ...)', 'coordination', 50, 70],
    ['any other transient failure', 'connection refused', 7, 12],
  ])('retries %s at the expected pace', async (_n, message, min, max) => {
    vi.useFakeTimers();
    const n = await attemptsWithin(60_000, message);
    expect(n).toBeGreaterThanOrEqual(min);
    expect(n).toBeLessThanOrEqual(max);
  });
});
