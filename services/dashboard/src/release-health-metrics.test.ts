import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import type { Cell } from './panel-computation.js';
import type { PanelRequest } from './panel-answer-cache.js';
import { flaggedReleases, releaseHealthMetrics } from './release-health-metrics.js';

const COLUMNS = ['release', 'status', 'runs'];
const logger = pino({ level: 'silent' });
const NOW = Date.parse('2026-12-03T12:00:00Z');

describe('flaggedReleases', () => {
  it.each<{ name: string; columns: string[]; rows: Cell[][]; flagged: Array<[string, string]> }>([
    { name: 'no releases', columns: COLUMNS, rows: [], flagged: [] },
    {
      name: 'healthy releases only',
      columns: COLUMNS,
      rows: [
        ['2026.11.03', 'ok', 120],
        ['2026.11.10', 'new', 4],
      ],
      flagged: [],
    },
    {
      name: 'missing and collapsed, in the answer order',
      columns: COLUMNS,
      rows: [
        ['2026.11.03', 'collapsed', 3],
        ['2026.11.10', 'ok', 50],
        ['2026.11.17', 'missing', 0],
      ],
      flagged: [
        ['2026.11.03', 'collapsed'],
        ['2026.11.17', 'missing'],
      ],
    },
    {
      name: 'columns found by name, not position',
      columns: ['runs', 'status', 'release'],
      rows: [[0, 'missing', '2026.11.17']],
      flagged: [['2026.11.17', 'missing']],
    },
  ])('$name', ({ columns, rows, flagged }) => {
    expect(flaggedReleases({ columns, rows })).toEqual(
      flagged.map(([release, status]) => ({ release, status })),
    );
  });
});

describe('releaseHealthMetrics', () => {
  it('asks for the last 30 days, sets the gauges, and replaces the flagged labels of the scrape before', async () => {
    const metrics = new Metrics();
    const asked: PanelRequest[] = [];
    let rows: Cell[][] = [
      ['2026.11.03', 'collapsed', 3],
      ['2026.11.17', 'missing', 0],
    ];
    const update = releaseHealthMetrics({
      answer: (req) => {
        asked.push(req);
        return Promise.resolve({ value: { answer: { columns: COLUMNS, rows } } });
      },
      metrics,
      logger,
      now: () => NOW,
    });
    await update();
    expect(asked.map((r) => r.key)).toEqual(['release-health?from=2026-11-04&to=2026-12-03']);
    expect(metrics.get('dashboard_release_health_up')).toBe(1);
    expect(metrics.get('dashboard_release_health_flagged')).toBe(2);
    const flagged = (release: string, status: string) =>
      metrics.get('dashboard_release_health_flagged_release', { release, status });
    expect(flagged('2026.11.03', 'collapsed')).toBe(1);
    expect(flagged('2026.11.17', 'missing')).toBe(1);

    rows = [['2026.11.17', 'missing', 0]];
    await update();
    expect(metrics.get('dashboard_release_health_flagged')).toBe(1);
    expect(flagged('2026.11.03', 'collapsed')).toBe(0);
    expect(await metrics.render()).not.toContain('2026.11.03');
  });

  it('a failed computation sets up to 0, keeps the last figures, and does not throw', async () => {
    const metrics = new Metrics();
    let fail = false;
    const update = releaseHealthMetrics({
      answer: () =>
        fail
          ? Promise.reject(new Error('ClickHouse away'))
          : Promise.resolve({
              value: { answer: { columns: COLUMNS, rows: [['2026.11.17', 'missing', 0]] } },
            }),
      metrics,
      logger,
      now: () => NOW,
    });
    await update();
    fail = true;
    await expect(update()).resolves.toBeUndefined();
    expect(metrics.get('dashboard_release_health_up')).toBe(0);
    expect(metrics.get('dashboard_release_health_flagged')).toBe(1);
  });
});
