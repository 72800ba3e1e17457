import { describe, expect, it } from 'vitest';
import type { MonthFigures } from './report-history.js';
import {
  adoptionReading,
  ageReading,
  componentsReading,
  leaderboardReading,
  monthName,
  peakReading,
  runsReading,
  sharesReading,
} from './report-readings.js';
import { fillMonths, shareSeries } from './report-series.js';

const months = (runs: number[]): MonthFigures[] =>
  fillMonths(
    runs.map((_, i) => `2026-${String(i + 1).padStart(2, '0')}`),
    [],
  ).map((m, i) => ({ ...m, runs: runs[i] ?? 0 }));

describe('readings', () => {
  it.each([
    [[0, 0, 0], 'No runs were reported in these twelve months.'],
    [[0, 0, 7], 'All 7 runs of these twelve months were in March 2026.'],
    [
      [10, 30, 15],
      'Runs grew by 50 % from 10 in January 2026 to 15 in March 2026; the busiest month was February 2026 with 30.',
    ],
    [
      [20, 5, 10],
      'Runs fell by 50 % from 20 in January 2026 to 10 in March 2026; the busiest month was January 2026 with 20.',
    ],
    [
      [4, 4],
      'Runs held steady from 4 in January 2026 to 4 in February 2026; the busiest month was January 2026 with 4.',
    ],
  ])('runs %j', (runs, reading) => {
    expect(runsReading(months(runs))).toBe(reading);
  });

  const m = ['2026-05', '2026-06', '2026-07'];
  it.each([
    [
      'overtook, then led',
      [
        ['3.11', [6, 4, 3]],
        ['3.12', [4, 6, 7]],
      ],
      '3.12 overtook 3.11 in June 2026 and led in July 2026 with 70 % of runs.',
    ],
    [
      'overtook in the last month',
      [
        ['3.11', [6, 6, 3]],
        ['3.12', [4, 4, 7]],
      ],
      '3.12 overtook 3.11 in July 2026 with 70 % of runs.',
    ],
    ['always ahead', [['3.12', [1, 2, 3]]], '3.12 led in every month, with 100 % of runs in July 2026.'],
    ['no data', [], 'No run reported its Python version in these twelve months.'],
  ] as [string, [string, number[]][], string][])('shares: %s', (_what, series, reading) => {
    const rows = series.flatMap(([name, runs]) => runs.map((r, i) => ({ month: m[i] ?? '', name, runs: r })));
    expect(sharesReading(shareSeries(m, rows, 5), 'Python version')).toBe(reading);
  });

  it.each([
    [[], 10, 'No run reported a launcher in this period.'],
    [
      [{ kind: 'launcher' as const, component: 'SrunLauncher', runs: 5 }],
      10,
      'SrunLauncher was used by 50 % of the runs that report their configuration.',
    ],
    [
      [
        { kind: 'launcher' as const, component: 'A', runs: 9 },
        { kind: 'launcher' as const, component: 'B', runs: 1 },
      ],
      12,
      'A was used by 75 % of the runs that report their configuration, B by 8 %.',
    ],
  ])('components %#', (rows, base, reading) => {
    expect(componentsReading('launcher', rows, base)).toBe(reading);
  });

  it('says an executor', () => {
    expect(componentsReading('executor', [], 0)).toBe('No run reported an executor in this period.');
  });

  it.each([
    [[], 'No run in the data used a Parsl release dated in this period.'],
    [
      [
        {
          release: '2026.10.05',
          points: [
            { days: 0, share: 20, runs: 5 },
            { days: 7, share: 60, runs: 5 },
          ],
        },
        { release: '2026.10.19', points: [{ days: 0, share: 55, runs: 5 }] },
      ],
      '2026.10.19 was the fastest to reach half of all runs, within a week of its release.',
    ],
    [
      [
        {
          release: '2026.10.05',
          points: [
            { days: 0, share: 20, runs: 5 },
            { days: 7, share: 40, runs: 5 },
          ],
        },
      ],
      'No release of the period reached half of all runs; 2026.10.05 came closest with 40 % in week 2.',
    ],
  ])('adoption %#', (curves, reading) => {
    expect(adoptionReading(curves)).toBe(reading);
  });

  it.each([
    [null, 0, 0, 'No run of the period used a dated Parsl release.'],
    [12, 0, 10, 'Half of the runs on a dated release used one at most 12 days old.'],
    [
      1200,
      5,
      20,
      'Half of the runs on a dated release used one at most 1,200 days old (25 % of runs used an undated version).',
    ],
  ])('age %s', (median, unknown, total, reading) => {
    expect(ageReading(median, unknown, total)).toBe(reading);
  });

  it.each([
    [[], 0, 'No run of the period named its project.'],
    [[{ project: 'a', runs: 3, points: 6 }], 8, 'a led with 6 points from 3 runs (75 % of all points).'],
    [
      [
        { project: 'a', runs: 3, points: 6 },
        { project: 'b', runs: 2, points: 2 },
      ],
      8,
      'a led with 6 points from 3 runs (75 % of all points), ahead of b with 2.',
    ],
  ])('leaderboard %#', (board, points, reading) => {
    expect(leaderboardReading(board, points)).toBe(reading);
  });

  it('names months and peaks', () => {
    expect(monthName('2026-06')).toBe('June 2026');
    expect(peakReading(months([1, 9, 3]), (x) => x.runs)).toBe('peak Feb 2026: 9');
    expect(peakReading(months([0, 0]), (x) => x.runs)).toBe('none');
  });
});
