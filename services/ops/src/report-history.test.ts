import { describe, expect, it } from 'vitest';
import { addMonths, historyQueries, trendWindow } from './report-history.js';
import { periodsFor } from './report.js';

describe('months', () => {
  it.each([
    ['2026-01', -1, '2025-12'],
    ['2026-12', 1, '2027-01'],
    ['2026-06', -17, '2025-01'],
    ['2026-06', 0, '2026-06'],
    ['2026-06', 24, '2028-06'],
    ['2026-01', -12, '2025-01'],
  ])('%s %+d', (m, n, out) => {
    expect(addMonths(m, n)).toBe(out);
  });

  it.each([
    [{ month: '2026-11' }, '2025-12', '2026-11', '2025-12-01', '2026-12-01'],
    [{ month: '2026-01' }, '2025-02', '2026-01', '2025-02-01', '2026-02-01'],
    [{ year: '2026' }, '2026-01', '2026-12', '2026-01-01', '2027-01-01'],
  ])('trend window of %o', (spec, first, last, start, end) => {
    const w = trendWindow(periodsFor(spec).period);
    expect([w.months.length, w.months[0], w.months[11], w.start, w.end]).toEqual([
      12,
      first,
      last,
      start,
      end,
    ]);
  });

  it('a trend window is twelve consecutive months', () => {
    const { months } = trendWindow(periodsFor({ month: '2026-03' }).period);
    expect(months).toEqual(Array.from({ length: 12 }, (_, i) => addMonths('2025-04', i)));
  });
});

describe('historyQueries', () => {
  const november = periodsFor({ month: '2026-11' }).period;

  it('queries only a checked database and the window', () => {
    const q = historyQueries('parsl_usage', november);
    expect(q.monthly).toContain("day >= toDate('2025-12-01') AND day < toDate('2026-12-01')");
    expect(() => historyQueries('x; DROP', november)).toThrow(/identifier/);
  });

  it.each([
    ['a start that is not a day', { ...november, start: "2026-11-01') OR 1=1 --" }],
    ['an end that is not a day', { ...november, end: '2026-12' }],
  ])('refuses %s', (_, period) => {
    expect(() => historyQueries('parsl_usage', period)).toThrow(/bad period/);
  });

  it.each([
    // query, the view it reads, the range of days it covers
    ['monthly', 'daily_workflows', "day >= toDate('2025-12-01') AND day < toDate('2026-12-01')"],
    ['monthlyProjects', 'leaderboard_daily', "day >= toDate('2025-12-01') AND day < toDate('2026-12-01')"],
    ['python', 'python_versions_daily', "day >= toDate('2025-12-01') AND day < toDate('2026-12-01')"],
    ['parsl', 'parsl_versions_daily', "day >= toDate('2025-12-01') AND day < toDate('2026-12-01')"],
    // The installation ages are the period's only, not the trend window's.
    ['installAge', 'installation_age_daily', "day >= toDate('2026-11-01') AND day < toDate('2026-12-01')"],
    // Release adoption: every day from the period's start on.
    ['dayRelease', 'parsl_versions_daily', "WHERE day >= toDate('2026-11-01') GROUP BY"],
  ] as const)('%s reads %s over its days', (name, view, days) => {
    const sql = historyQueries('parsl_stats', november)[name];
    expect(sql).toContain(`FROM parsl_stats.${view} WHERE`);
    expect(sql).toContain(days);
  });

  it("names each column apart from the views' (ClickHouse 18.16 resolves an equal alias to the aggregate)", () => {
    const q = historyQueries('parsl_usage', november);
    expect(q.monthly).toContain('sum(launched) AS launched_runs');
    expect(q.installAge).toContain('age_days AS age');
    expect(q.dayRelease).toContain('toUInt16(release_date) AS release_day_number');
  });
});
