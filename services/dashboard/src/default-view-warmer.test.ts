import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { dayOf } from './dates.js';
import { defaultViewRequests } from './default-view-requests.js';
import { defaultViewWarmer, warmerHealth } from './default-view-warmer.js';
import type { PanelRequest } from './panel-answer-cache.js';
import { parsePanelParams } from './params.js';
import type { WarmerClock } from './warm-scheduler.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');

/** A clock that never fires: it only records the delays the warmer asks for. */
function recordingClock(): { clock: WarmerClock; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    clock: {
      now: () => NOW,
      setTimeout: (_fn, ms) => delays.push(ms),
      clearTimeout: () => {},
    },
  };
}

function warmerWith(o: { warm: boolean | undefined; cacheTtlMs: number; fail?: boolean }) {
  const c = recordingClock();
  const metrics = new Metrics();
  const refreshed: string[] = [];
  const warmer = defaultViewWarmer({
    ...(o.warm === undefined ? {} : { warm: o.warm }),
    cacheTtlMs: o.cacheTtlMs,
    refresh: (req: PanelRequest) => {
      refreshed.push(req.key);
      return o.fail ? Promise.reject(new Error('ClickHouse away')) : Promise.resolve();
    },
    clock: c.clock,
    now: () => NOW,
    metrics,
    logger: pino({ level: 'silent' }),
  });
  return { warmer, delays: c.delays, metrics, refreshed };
}

describe('defaultViewWarmer', () => {
  it.each([
    { warm: undefined, cacheTtlMs: 60_000, everyMs: null },
    { warm: false, cacheTtlMs: 60_000, everyMs: null },
    { warm: true, cacheTtlMs: 0, everyMs: null },
    { warm: true, cacheTtlMs: 60_000, everyMs: 30_000 },
    { warm: true, cacheTtlMs: 5_001, everyMs: 2_500 },
    // never more often than once a second, however short the TTL
    { warm: true, cacheTtlMs: 1_000, everyMs: 1_000 },
  ])('warm $warm, TTL $cacheTtlMs ms: a round every $everyMs ms', async ({ warm, cacheTtlMs, everyMs }) => {
    const { warmer, delays } = warmerWith({ warm, cacheTtlMs });
    if (everyMs === null) return expect(warmer).toBeNull();
    warmer?.start();
    await warmer?.idle();
    expect(delays).toEqual([everyMs]);
    await warmer?.stop();
  });

  it("renews exactly the page's default view, and counts the round", async () => {
    const { warmer, metrics, refreshed } = warmerWith({ warm: true, cacheTtlMs: 60_000 });
    warmer?.start();
    await warmer?.idle();
    const today = dayOf(NOW);
    const expected = defaultViewRequests(today).map(({ panel, search }) => {
      const parsed = parsePanelParams(panel, search, today);
      return parsed.ok ? parsed.key : `refused: ${parsed.message}`;
    });
    expect(refreshed).toEqual(expected);
    expect(refreshed).toHaveLength(14);
    expect(metrics.get('dashboard_warmer_rounds_total', { result: 'ok' })).toBe(1);
    expect(warmer && warmerHealth(warmer)).toEqual({
      healthy: true,
      rounds: 1,
      lastRoundMs: 0,
      lastFailed: 0,
    });
    await warmer?.stop();
  });

  it('a round whose refreshes fail is counted as failed', async () => {
    const { warmer, metrics } = warmerWith({ warm: true, cacheTtlMs: 60_000, fail: true });
    warmer?.start();
    await warmer?.idle();
    expect(metrics.get('dashboard_warmer_rounds_total', { result: 'failed' })).toBe(1);
    expect(metrics.get('dashboard_warmer_rounds_total', { result: 'ok' })).toBe(0);
    expect(warmer && warmerHealth(warmer)).toMatchObject({ rounds: 1, lastFailed: 14 });
    await warmer?.stop();
  });
});
