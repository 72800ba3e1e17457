import { describe, expect, it } from 'vitest';
import { createWarmer, UNHEALTHY_AFTER_FAILING_ROUNDS, type WarmerClock } from './warm-scheduler.js';

/** A clock whose time moves only when the test says so; timers fire as it passes them. */
function fakeClock() {
  let t = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: WarmerClock = {
    now: () => t,
    setTimeout: (fn, ms) => {
      timers.set(++seq, { at: t + ms, fn });
      return seq;
    },
    clearTimeout: (h) => timers.delete(h as number),
  };
  /** moves time to `to`, firing due timers in order (and letting their promises settle) */
  async function advance(to: number): Promise<void> {
    for (;;) {
      const due = [...timers.entries()].filter(([, x]) => x.at <= to).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      t = due[1].at;
      due[1].fn();
      await flush();
    }
    t = to;
    await flush();
  }
  return { clock, advance, pending: () => [...timers.values()].map((x) => x.at) };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('warmer', () => {
  it('runs a round at start, then one every everyMs, with fresh jobs each round', async () => {
    const c = fakeClock();
    const seen: number[] = [];
    let round = 0;
    const w = createWarmer({
      jobs: () => {
        const r = ++round;
        return [1, 2, 3].map((j) => () => {
          seen.push(r * 10 + j);
          return Promise.resolve();
        });
      },
      everyMs: 30_000,
      concurrency: 2,
      clock: c.clock,
    });
    w.start();
    w.start(); // a second start changes nothing
    await w.idle();
    expect(seen).toEqual([11, 12, 13]);
    expect(c.pending()).toEqual([30_000]);
    await c.advance(29_999);
    expect(seen.length).toBe(3);
    await c.advance(30_000);
    await w.idle();
    expect(seen).toEqual([11, 12, 13, 21, 22, 23]);
    expect(w.state()).toMatchObject({ running: true, rounds: 2, failingRounds: 0 });
    expect(w.isHealthy()).toBe(true);
    await w.stop();
    await w.stop(); // idempotent
    expect(c.pending()).toEqual([]);
    expect(w.isHealthy()).toBe(false);
    await c.advance(120_000);
    expect(seen.length).toBe(6);
  });

  it('never has more than `concurrency` jobs in flight', async () => {
    const c = fakeClock();
    let inFlight = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const w = createWarmer({
      jobs: () =>
        Array.from({ length: 7 }, () => async () => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise<void>((r) => releases.push(r));
          inFlight--;
        }),
      everyMs: 1_000,
      concurrency: 2,
      clock: c.clock,
    });
    w.start();
    for (let i = 0; i < 7; i++) {
      await flush();
      expect(inFlight).toBeLessThanOrEqual(2);
      releases.shift()?.();
    }
    await w.idle();
    expect(most).toBe(2);
    expect(w.state().last).toMatchObject({ jobs: 7, failed: 0 });
    await w.stop();
  });

  it('a round that overruns everyMs is followed at once; stop waits for it', async () => {
    const c = fakeClock();
    let release: () => void = () => {};
    let calls = 0;
    const w = createWarmer({
      jobs: () => [
        () => {
          calls++;
          return new Promise<void>((r) => (release = r));
        },
      ],
      everyMs: 10_000,
      concurrency: 4,
      clock: c.clock,
    });
    w.start();
    await c.advance(25_000); // the first round is still computing
    expect(c.pending()).toEqual([]);
    release();
    await w.idle();
    expect(c.pending()).toEqual([25_000]); // due now: started at 0, 10 s apart
    await c.advance(25_000);
    expect(calls).toBe(2);
    let stopped = false;
    const stopping = w.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false); // the second round is in flight
    release();
    await stopping;
    expect(c.pending()).toEqual([]); // no round after stop
  });

  it('failures are counted per round; unhealthy after failing rounds in a row, healthy again after a clean one', async () => {
    const c = fakeClock();
    let fail = true;
    const reports: number[] = [];
    const w = createWarmer({
      jobs: () => [
        () => Promise.resolve(),
        () => (fail ? Promise.reject(new Error('ClickHouse down')) : Promise.resolve()),
      ],
      everyMs: 1_000,
      concurrency: 1,
      clock: c.clock,
      onRound: (r) => reports.push(r.failed),
    });
    w.start(); // round 1 at t = 0, then one per second
    await w.idle();
    for (let i = 1; i < UNHEALTHY_AFTER_FAILING_ROUNDS - 1; i++) {
      await c.advance(i * 1_000);
      await w.idle();
    }
    expect(w.state().failingRounds).toBe(UNHEALTHY_AFTER_FAILING_ROUNDS - 1);
    expect(w.isHealthy()).toBe(true);
    await c.advance((UNHEALTHY_AFTER_FAILING_ROUNDS - 1) * 1_000);
    await w.idle();
    expect(w.isHealthy()).toBe(false);
    fail = false;
    await c.advance(UNHEALTHY_AFTER_FAILING_ROUNDS * 1_000);
    await w.idle();
    expect(w.isHealthy()).toBe(true);
    expect(reports).toEqual([...Array<number>(UNHEALTHY_AFTER_FAILING_ROUNDS).fill(1), 0]);
    await w.stop();
  });

  it('jobs() throwing is a failed round, not an unhandled rejection', async () => {
    const c = fakeClock();
    const w = createWarmer({
      jobs: () => {
        throw new Error('no view today');
      },
      everyMs: 1_000,
      concurrency: 1,
      clock: c.clock,
    });
    w.start();
    await w.idle();
    expect(w.state().last).toMatchObject({ jobs: 1, failed: 1 });
    await w.stop();
  });

  it('refuses a period that is not positive', () => {
    expect(() =>
      createWarmer({ jobs: () => [], everyMs: 0, concurrency: 1, clock: fakeClock().clock }),
    ).toThrow('everyMs');
  });
});
