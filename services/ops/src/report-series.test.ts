import { describe, expect, it } from 'vitest';
import {
  adoptionCurves,
  ageBuckets,
  fillMonths,
  medianAge,
  releaseQuarter,
  shareSeries,
} from './report-series.js';
import { periodsFor } from './report.js';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;

describe('months', () => {
  it('fills months without runs with zeros', () => {
    const [feb] = fillMonths(['2026-02'], []);
    const f = fillMonths(['2026-01', '2026-02'], feb ? [{ ...feb, runs: 3 }] : []);
    expect(f.map((m) => [m.month, m.runs])).toEqual([
      ['2026-01', 0],
      ['2026-02', 3],
    ]);
  });
});

describe('shareSeries', () => {
  const months = ['2026-01', '2026-02'];
  it.each([
    [
      'two values, no other',
      [
        { month: '2026-01', name: '3.11', runs: 3 },
        { month: '2026-01', name: '3.12', runs: 1 },
        { month: '2026-02', name: '3.12', runs: 2 },
      ],
      5,
      {
        names: ['3.11', '3.12'],
        shares: [
          [75, 0],
          [25, 100],
        ],
        totals: [4, 2],
      },
    ],
    [
      'the rest as other',
      [
        { month: '2026-01', name: 'a', runs: 5 },
        { month: '2026-01', name: 'b', runs: 1 },
        { month: '2026-02', name: 'c', runs: 2 },
        { month: '2025-12', name: 'a', runs: 9 },
      ],
      1,
      {
        names: ['a', 'other'],
        shares: [
          [83.3, 0],
          [16.7, 100],
        ],
        totals: [6, 2],
      },
    ],
    ['nothing', [], 3, { names: [], shares: [], totals: [0, 0] }],
  ])('%s', (_what, rows, top, expected) => {
    const s = shareSeries(months, rows, top);
    expect({ names: s.names, shares: s.shares, totals: s.totals }).toEqual(expected);
  });
});

describe('adoptionCurves', () => {
  const period = periodsFor({ month: '2026-10' }).period;
  const r1 = day('2026-09-01');
  const r2 = day('2026-10-05');
  it('share of runs on the release or newer, per week since the release', () => {
    const rows = [
      { day: r2, release: r1, runs: 3 },
      { day: r2, release: r2, runs: 1 },
      { day: r2 + 8, release: r1, runs: 1 },
      { day: r2 + 8, release: r2, runs: 3 },
      { day: r2 + 9, release: 0, runs: 2 }, // an undated version counts as older
      { day: r2 - 3, release: r1, runs: 7 }, // before the release: not on its curve
    ];
    expect(adoptionCurves(rows, period)).toEqual([
      {
        release: '2026.10.05',
        points: [
          { days: 0, share: 25, runs: 4 },
          { days: 7, share: 50, runs: 6 },
        ],
      },
    ]);
  });

  it.each([
    [1, ['2026.10.25']],
    [2, ['2026.10.15', '2026.10.25']],
  ])('keeps the %d releases of the period with most runs, oldest first', (max, releases) => {
    // releases on 10-15 (1 run), 10-25 (2 runs) and 11-04 (3 runs, after the period)
    const rows = [1, 2, 3].map((i) => ({ day: r2 + 10 * i, release: r2 + 10 * i, runs: i }));
    expect(adoptionCurves(rows, period, max).map((c) => c.release)).toEqual(releases);
  });
});

describe('installation age', () => {
  const rows = [
    { ageDays: -1, runs: 4 },
    { ageDays: 3, runs: 2 },
    { ageDays: 40, runs: 1 },
    { ageDays: 800, runs: 2 },
  ];
  it('buckets every run', () => {
    const b = ageBuckets(rows);
    expect(b.reduce((n, x) => n + x.runs, 0)).toBe(9);
    expect(b.filter((x) => x.runs > 0).map((x) => [x.label, x.runs])).toEqual([
      ['< 1 week', 2],
      ['1–3 months', 1],
      ['2 years +', 2],
      ['unknown', 4],
    ]);
  });

  it.each([
    [rows, 40],
    [[{ ageDays: 10, runs: 1 }], 10],
    [[{ ageDays: -1, runs: 5 }], null],
    [[], null],
  ])('median of %j', (r, m) => {
    expect(medianAge(r)).toBe(m);
  });
});

describe('releaseQuarter', () => {
  it.each([
    ['2026.10.13', '2026 Q4'],
    ['2026.01.06.post1', '2026 Q1'],
    ['2026.06.30-dev', '2026 Q2'],
    ['2025.09.01+desc', '2025 Q3'],
    ['1.2.0', 'undated'],
    ['', 'undated'],
  ])('%s', (v, q) => {
    expect(releaseQuarter(v)).toBe(q);
  });
});
