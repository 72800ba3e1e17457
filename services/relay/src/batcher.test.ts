import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher, type Batch } from './batcher.js';
import type { RelayRecord } from './records.js';

const rec = (i: number): RelayRecord => ({
  topic: 't',
  key: Buffer.from(`k${i}`),
  value: Buffer.from(`v${i}`),
  headers: {},
});

function harness(opts: { maxMessages: number; maxMs: number; maxPendingMessages?: number }) {
  const delivered: number[][] = [];
  const overflowed: number[][] = [];
  const gates: (() => void)[] = [];
  let hold = false;
  const ids = (b: Batch) => b.records.map((r) => Number(r.value.toString().slice(1)));
  const batcher = new Batcher({
    ...opts,
    maxPendingMessages: opts.maxPendingMessages ?? 100,
    deliver: async (b) => {
      if (hold) await new Promise<void>((r) => gates.push(r));
      delivered.push(ids(b));
    },
    onOverflow: (b) => overflowed.push(ids(b)),
    onDeliverError: () => undefined,
    now: () => Date.now(),
  });
  return {
    batcher,
    delivered,
    overflowed,
    hold: () => (hold = true),
    release: () => {
      hold = false;
      gates.splice(0).forEach((g) => g());
    },
  };
}

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it.each([
    // [name, maxMessages, records added, ms advanced, expected batches]
    [
      'size bound seals at once',
      3,
      7,
      0,
      [
        [0, 1, 2],
        [3, 4, 5],
      ],
    ],
    ['time bound seals the rest', 3, 7, 5, [[0, 1, 2], [3, 4, 5], [6]]],
    ['nothing before the time bound', 10, 4, 4, []],
    ['a partial batch at the time bound', 10, 4, 5, [[0, 1, 2, 3]]],
  ])('%s', async (_name, maxMessages, n, ms, expected) => {
    const h = harness({ maxMessages, maxMs: 5 });
    for (let i = 0; i < n; i++) h.batcher.add(rec(i));
    await vi.advanceTimersByTimeAsync(ms);
    expect(h.delivered).toEqual(expected);
  });

  it('flush seals the open batch and waits for delivery', async () => {
    const h = harness({ maxMessages: 100, maxMs: 1_000 });
    [0, 1, 2].forEach((i) => h.batcher.add(rec(i)));
    await h.batcher.flush();
    expect(h.delivered).toEqual([[0, 1, 2]]);
  });

  it('delivers one batch at a time, in order', async () => {
    const h = harness({ maxMessages: 2, maxMs: 5 });
    h.hold();
    for (let i = 0; i < 6; i++) h.batcher.add(rec(i));
    expect(h.batcher.pendingBatches).toBe(3);
    expect(h.delivered).toEqual([]);
    h.release();
    await h.batcher.flush();
    expect(h.delivered).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it.each([
    // [name, maxMessages, sizes of the time-sealed batches queued behind a slow delivery, expected]
    [
      'merges queued batches up to the size bound',
      10,
      [2, 2, 3],
      [
        [0, 1, 2],
        [3, 4, 5, 6, 7, 8, 9],
      ],
    ],
    [
      'does not merge past the size bound',
      4,
      [2, 2, 3],
      [
        [0, 1, 2],
        [3, 4, 5, 6],
        [7, 8, 9],
      ],
    ],
  ])('%s', async (_name, maxMessages, sizes, expected) => {
    const h = harness({ maxMessages, maxMs: 5 });
    h.hold();
    let i = 0;
    for (const size of [3, ...sizes]) {
      for (let k = 0; k < size; k++) h.batcher.add(rec(i++));
      await vi.advanceTimersByTimeAsync(5);
    }
    h.release();
    await vi.advanceTimersByTimeAsync(0);
    h.release();
    await h.batcher.flush();
    expect(h.delivered).toEqual(expected);
  });

  it('past the pending bound hands the whole queue and the new batch to onOverflow, in order', async () => {
    const h = harness({ maxMessages: 1, maxMs: 5, maxPendingMessages: 2 });
    h.hold();
    // 0 is being delivered, 1 and 2 wait, 3 overflows and takes 1 and 2 with it; 4 queues anew.
    for (let i = 0; i < 5; i++) h.batcher.add(rec(i));
    expect(h.overflowed).toEqual([[1, 2, 3]]);
    expect(h.batcher.bufferedMessages).toBe(1);
    h.release();
    await vi.advanceTimersByTimeAsync(0);
    h.release();
    await h.batcher.flush();
    expect(h.delivered).toEqual([[0], [4]]);
    expect(h.batcher.bufferedMessages).toBe(0);
  });

  it('a throwing deliver does not stop later batches', async () => {
    const errors: number[] = [];
    let calls = 0;
    const b = new Batcher({
      maxMessages: 1,
      maxMs: 5,
      maxPendingMessages: 10,
      deliver: () => (++calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve()),
      onOverflow: () => undefined,
      onDeliverError: (batch) => errors.push(batch.records.length),
      now: () => 0,
    });
    b.add(rec(0));
    b.add(rec(1));
    await b.flush();
    expect(calls).toBe(2);
    expect(errors).toEqual([1]);
  });
});
