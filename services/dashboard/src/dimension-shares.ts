/**
 * The dimension panel's arithmetic (pure): its rows summed per value and per period, the runs
 * each period's shares are of, and the chart's series of shares.
 */
import { num, ratio, round, str, type Row } from './row-values.js';

interface ValueTotals {
  runs: number;
  apps: number;
  fails: number;
}

/** A dimension's rows summed per value over the range, and its runs per period and value. */
export function tallyDimension(rows: readonly Row[]): {
  totals: Map<string, ValueTotals>;
  periods: Map<string, Map<string, number>>;
} {
  const totals = new Map<string, ValueTotals>();
  const periods = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const value = str(r.value);
    const period = str(r.period);
    const t = totals.get(value) ?? { runs: 0, apps: 0, fails: 0 };
    t.runs += num(r.runs);
    t.apps += num(r.apps);
    t.fails += num(r.app_fails);
    totals.set(value, t);
    const m = periods.get(period) ?? new Map<string, number>();
    m.set(value, (m.get(value) ?? 0) + num(r.runs));
    periods.set(period, m);
  }
  return { totals, periods };
}

/**
 * The runs each period's shares are of. Shares of runs: each run has one value of a
 * single-valued dimension; for components the base is the runs that report components (one run
 * may use several classes), the rows of sql.componentRuns.
 */
export function periodBases(
  periods: ReadonlyMap<string, ReadonlyMap<string, number>>,
  componentBase: readonly Row[] | null,
): Map<string, number> {
  const periodBase = new Map<string, number>();
  if (componentBase) for (const b of componentBase) periodBase.set(str(b.period), num(b.runs));
  else
    for (const [period, m] of periods)
      periodBase.set(
        period,
        [...m.values()].reduce((s, n) => s + n, 0),
      );
  return periodBase;
}

/** The chart's series: each top value's share per period, then (single-valued only) the rest as "other". */
export function dimensionSeries(
  top: readonly string[],
  periodList: readonly string[],
  periods: ReadonlyMap<string, ReadonlyMap<string, number>>,
  periodBase: ReadonlyMap<string, number>,
  withOther: boolean,
): { label: string; shares: (number | null)[] }[] {
  const series = top.map((value) => ({
    label: value === '' ? '(unknown)' : value,
    shares: periodList.map((per) =>
      round(ratio(periods.get(per)?.get(value) ?? 0, periodBase.get(per) ?? 0)),
    ),
  }));
  if (withOther) {
    series.push({
      label: 'other',
      shares: periodList.map((per) => {
        const m = periods.get(per);
        const inTop = top.reduce((s, v) => s + (m?.get(v) ?? 0), 0);
        const b = periodBase.get(per) ?? 0;
        return round(ratio(b - inTop, b));
      }),
    });
  }
  return series;
}
