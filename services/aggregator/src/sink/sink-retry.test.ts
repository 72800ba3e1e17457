import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { TransientError } from '../errors.js';
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
    sink: { unconfirmedParts: () => Promise.resolve({ at: '2026-12-07 00:00:00', parts: 0 }) },
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

describe('untilDone after an insert of unknown status (319)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** An insert that fails once with `first`, then succeeds; the unconfirmed parts fall as listed. */
  async function run(first: string, partsSeen: number[]) {
    const calls: string[] = [];
    const looks = [...partsSeen];
    const deps = {
      metrics: new Metrics(),
      logger: { warn: () => undefined },
      sink: {
        unconfirmedParts: (at?: string) => {
          const parts = looks.shift() ?? 0;
          calls.push(`look at=${at ?? 'now'} parts=${parts}`);
          return Promise.resolve({ at: at ?? '2026-12-07 10:00:00', parts });
        },
      },
    };
    let attempt = 0;
    const done = untilDone(deps, ctx, 'insert events', () => {
      calls.push(`attempt ${++attempt}`);
      return attempt === 1 ? Promise.reject(new TransientError(first)) : Promise.resolve('ok');
    });
    await vi.advanceTimersByTimeAsync(60_000);
    return { calls, result: await done, metrics: await deps.metrics.render() };
  }

  it.each([
    [
      'waits until the parts written before the answer are confirmed or removed, then retries',
      'Code: 319, e.displayText() = DB::Exception: Unknown status, client must retry. Reason: Connection loss',
      [2, 1, 0],
      [
        'attempt 1',
        'look at=now parts=2',
        'look at=2026-12-07 10:00:00 parts=1',
        'look at=2026-12-07 10:00:00 parts=0',
        'attempt 2',
      ],
    ],
    [
      'retries at once when nothing is unconfirmed',
      'Code: 319, e.displayText() = DB::Exception: Unknown status, client must retry.',
      [0],
      ['attempt 1', 'look at=now parts=0', 'attempt 2'],
    ],
    [
      'does not look after any other failure',
      'Code: 242, e.displayText() = DB::Exception: Table is in readonly mode',
      [5],
      ['attempt 1', 'attempt 2'],
    ],
  ])('%s', async (_name, first, parts, expected) => {
    vi.useFakeTimers();
    const { calls, result, metrics } = await run(first, parts);
    expect(calls).toEqual(expected);
    expect(result).toBe('ok');
    const counted = first.startsWith('Code: 319') ? 1 : 0;
    expect(metrics).toContain(
      counted === 1
        ? 'aggregator_unknown_status_inserts_total{op="insert events"} 1'
        : 'aggregator_sink_retries_total{op="insert events"} 1',
    );
  });

  it('goes ahead after the bounded wait, and counts it', async () => {
    vi.useFakeTimers();
    const deps = {
      metrics: new Metrics(),
      logger: { warn: () => undefined },
      sink: { unconfirmedParts: (at?: string) => Promise.resolve({ at: at ?? 't', parts: 1 }) },
    };
    let attempt = 0;
    const done = untilDone(deps, ctx, 'insert changes', () =>
      ++attempt === 1
        ? Promise.reject(new TransientError('Code: 319, Unknown status'))
        : Promise.resolve(attempt),
    );
    await vi.advanceTimersByTimeAsync(400_000);
    expect(await done).toBe(2);
    expect(await deps.metrics.render()).toContain(
      'aggregator_unconfirmed_parts_total{op="insert changes"} 1',
    );
  });
});
