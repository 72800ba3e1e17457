import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import type { Cell } from './panel-computation.js';
import type { PanelRequest } from './panel-answer-cache.js';
import { closureMetrics } from './closure-metrics.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const COLUMNS = ['period', 'workflows', 'launched', 'running', 'unfinished', 'completed', 'closure_only'];

describe('closureMetrics', () => {
  it('asks for the 30 days before the join window and sums completed and unfinished over the periods', async () => {
    const metrics = new Metrics();
    const asked: PanelRequest[] = [];
    const rows: Cell[][] = [
      ['2026-10-01', 100, 60, 0, 10, 30, 1],
      ['2026-11-01', 50, 20, 0, 6, 24, 0],
    ];
    const update = closureMetrics({
      answer: (req) => {
        asked.push(req);
        return Promise.resolve({ value: { answer: { columns: COLUMNS, rows } } });
      },
      metrics,
      logger: pino({ level: 'silent' }),
      now: () => NOW,
      unfinishedAfterDays: 7,
    });
    await update();
    // today 2026-12-03, window 7 days: the last day judged is 2026-11-25, 30 days in all.
    expect(asked.map((r) => r.key)).toEqual(['workflows?from=2026-10-27&to=2026-11-25&granularity=month']);
    expect(metrics.get('dashboard_level3_runs', { outcome: 'completed' })).toBe(54);
    expect(metrics.get('dashboard_level3_runs', { outcome: 'unfinished' })).toBe(16);
  });

  it('keeps the last values when ClickHouse fails, and does not throw', async () => {
    const metrics = new Metrics();
    let fail = false;
    const update = closureMetrics({
      answer: () =>
        fail
          ? Promise.reject(new Error('ClickHouse down'))
          : Promise.resolve({
              value: { answer: { columns: COLUMNS, rows: [['2026-11-01', 9, 0, 0, 1, 8, 0]] } },
            }),
      metrics,
      logger: pino({ level: 'silent' }),
      now: () => NOW,
      unfinishedAfterDays: 7,
    });
    await update();
    fail = true;
    await expect(update()).resolves.toBeUndefined();
    expect(metrics.get('dashboard_level3_runs', { outcome: 'completed' })).toBe(8);
  });
});
