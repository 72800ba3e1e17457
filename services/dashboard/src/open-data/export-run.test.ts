import { describe, expect, it } from 'vitest';
import type { IsoDay } from '../dates.js';
import { byMonth, latestDay } from './export-run.js';

describe('latestDay', () => {
  it.each([
    ['2026-01-31', [], '2026-01-31'],
    ['2026-01-31', ['2025-12-31', '2026-01-30'], '2026-01-31'],
    ['2026-01-31', ['2026-02-01', '2025-01-01'], '2026-02-01'],
    ['2026-01-31', ['2026-01-31'], '2026-01-31'],
  ])('%s and %j: %s', (day, others, expected) => {
    expect(latestDay(day as IsoDay, new Set(others))).toBe(expected);
  });
});

describe('byMonth', () => {
  it.each([
    [[], []],
    [['2026-01-01'], [['2026-01-01']]],
    [
      ['2026-01-30', '2026-01-31', '2026-02-01', '2026-03-05'],
      [['2026-01-30', '2026-01-31'], ['2026-02-01'], ['2026-03-05']],
    ],
    // months in first-seen order, days in their order within a month
    [
      ['2026-02-02', '2026-01-01', '2026-02-01'],
      [['2026-02-02', '2026-02-01'], ['2026-01-01']],
    ],
    [
      ['2025-12-31', '2026-12-31'],
      [['2025-12-31'], ['2026-12-31']],
    ],
  ])('%j', (days, expected) => {
    expect(byMonth(days)).toEqual(expected);
  });
});
