import { describe, expect, it } from 'vitest';
import { dimensionSeries, periodBases, tallyDimension } from './dimension-shares.js';

// Rows as ClickHouse sends them: 64-bit counts as strings.
const ROWS = [
  { period: '2026-01-05', value: '3.11', runs: '6', apps: '60', app_fails: '3' },
  { period: '2026-01-05', value: '3.12', runs: '2', apps: '20', app_fails: '0' },
  { period: '2026-01-12', value: '3.11', runs: 4, apps: 40, app_fails: 1 },
  { period: '2026-01-12', value: '', runs: '1', apps: '0', app_fails: '0' },
];

describe('tallyDimension', () => {
  it('sums each value over the range and each period by value', () => {
    const { totals, periods } = tallyDimension(ROWS);
    expect(Object.fromEntries(totals)).toEqual({
      '3.11': { runs: 10, apps: 100, fails: 4 },
      '3.12': { runs: 2, apps: 20, fails: 0 },
      '': { runs: 1, apps: 0, fails: 0 },
    });
    expect(Object.fromEntries([...periods].map(([p, m]) => [p, Object.fromEntries(m)]))).toEqual({
      '2026-01-05': { '3.11': 6, '3.12': 2 },
      '2026-01-12': { '3.11': 4, '': 1 },
    });
  });

  it('refuses a count that is not a number', () => {
    expect(() => tallyDimension([{ period: 'p', value: 'v', runs: 'many', apps: 0, app_fails: 0 }])).toThrow(
      'non-number',
    );
  });

  it('is empty for no rows', () => {
    const { totals, periods } = tallyDimension([]);
    expect([totals.size, periods.size]).toEqual([0, 0]);
  });
});

describe('periodBases', () => {
  const { periods } = tallyDimension(ROWS);

  it.each([
    ['a single-valued dimension: the sum of its values', null, { '2026-01-05': 8, '2026-01-12': 5 }],
    [
      'components: the runs that report components',
      [
        { period: '2026-01-05', runs: '7' },
        { period: '2026-01-19', runs: '3' },
      ],
      { '2026-01-05': 7, '2026-01-19': 3 },
    ],
    ['components with no base rows', [], {}],
  ])('%s', (_name, base, expected) => {
    expect(Object.fromEntries(periodBases(periods, base))).toEqual(expected);
  });
});

describe('dimensionSeries', () => {
  const { periods } = tallyDimension(ROWS);
  const base = periodBases(periods, null);
  const periodList = ['2026-01-05', '2026-01-12'];

  it('gives each top value its share per period, "(unknown)" for the empty value', () => {
    expect(dimensionSeries(['3.11', ''], periodList, periods, base, false)).toEqual([
      { label: '3.11', shares: [0.75, 0.8] },
      { label: '(unknown)', shares: [0, 0.2] },
    ]);
  });

  it('adds the rest as "other" when asked', () => {
    expect(dimensionSeries(['3.11'], periodList, periods, base, true)).toEqual([
      { label: '3.11', shares: [0.75, 0.8] },
      { label: 'other', shares: [0.25, 0.2] },
    ]);
  });

  it('gives null for a period with no base', () => {
    expect(dimensionSeries(['3.11'], ['2026-02-02'], periods, base, true)).toEqual([
      { label: '3.11', shares: [null] },
      { label: 'other', shares: [null] },
    ]);
  });

  it('rounds shares to 4 digits', () => {
    const thirds = tallyDimension([
      { period: 'p', value: 'a', runs: 1, apps: 0, app_fails: 0 },
      { period: 'p', value: 'b', runs: 2, apps: 0, app_fails: 0 },
    ]).periods;
    expect(dimensionSeries(['a', 'b'], ['p'], thirds, periodBases(thirds, null), false)).toEqual([
      { label: 'a', shares: [0.3333] },
      { label: 'b', shares: [0.6667] },
    ]);
  });
});
