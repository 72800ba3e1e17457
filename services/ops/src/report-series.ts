/**
 * Shapes the report's history (report-history.ts) into the series its charts draw: every month
 * of the window present, shares of the leading values per month, adoption curves of the
 * period's releases, installation-age buckets. Pure.
 */
import type { AgeCount, DayRelease, MonthCount, MonthFigures } from './report-history.js';
import type { Period } from './report.js';

const DAY_MS = 86_400_000;

/** One entry per month of the window, zeros where there were no runs. */
export function fillMonths(months: string[], rows: MonthFigures[]): MonthFigures[] {
  const by = new Map(rows.map((r) => [r.month, r]));
  return months.map(
    (month) =>
      by.get(month) ?? {
        month,
        runs: 0,
        launched: 0,
        running: 0,
        unfinished: 0,
        completed: 0,
        closureOnly: 0,
        apps: 0,
        appFails: 0,
        points: 0,
        namedProjects: 0,
      },
  );
}

export interface ShareSeries {
  months: string[];
  /** the leading values over the window, then 'other' when the rest had runs */
  names: string[];
  /** runs[name][month] */
  runs: number[][];
  /** share in percent (one decimal) of the month's runs; 0 for a month without runs */
  shares: number[][];
  totals: number[];
}

export const OTHER = 'other';

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * Shares of the `top` values with most runs over the window; the rest summed as 'other'.
 * newestFirst orders them by name, descending (release quarters), instead of by runs.
 */
export function shareSeries(
  months: string[],
  rows: MonthCount[],
  top: number,
  newestFirst = false,
): ShareSeries {
  const overall = new Map<string, number>();
  for (const r of rows) overall.set(r.name, (overall.get(r.name) ?? 0) + r.runs);
  const leading = [...overall.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, top)
    .map(([n]) => n);
  if (newestFirst) leading.sort((a, b) => (a < b ? 1 : -1));
  const hasOther = overall.size > leading.length;
  const names = hasOther ? [...leading, OTHER] : leading;
  const index = new Map(months.map((m, i) => [m, i]));
  const runs = names.map(() => months.map(() => 0));
  const totals = months.map(() => 0);
  for (const r of rows) {
    const mi = index.get(r.month);
    if (mi === undefined) continue;
    const ni = leading.indexOf(r.name);
    const row = runs[ni >= 0 ? ni : names.length - 1];
    if (row) row[mi] = (row[mi] ?? 0) + r.runs;
    totals[mi] = (totals[mi] ?? 0) + r.runs;
  }
  const shares = runs.map((row) =>
    row.map((n, mi) => (totals[mi] ? round1((100 * n) / (totals[mi] ?? 1)) : 0)),
  );
  return { months, names, runs, shares, totals };
}

export const UNDATED = 'undated';

/**
 * '2026.10.13' (and '2026.10.13.post1', '2026.10.13-dev') -> '2026 Q4'. Parsl releases weekly:
 * fifty versions a year are unreadable as shares, their quarters are not.
 */
export function releaseQuarter(version: string): string {
  const m = /^(\d{4})\.(\d{2})\.\d{2}/.exec(version);
  return m ? `${m[1]} Q${Math.ceil(Number(m[2]) / 3)}` : UNDATED;
}

export function byReleaseQuarter(rows: MonthCount[]): MonthCount[] {
  return rows.map((r) => ({ ...r, name: releaseQuarter(r.name) }));
}

export interface AdoptionCurve {
  /** 'YYYY.MM.DD' */
  release: string;
  /** per week since the release: first day of the week (days since release), share in percent, runs that week */
  points: { days: number; share: number; runs: number }[];
}

function dayNumber(iso: string): number {
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
}

function versionOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '.');
}

/**
 * The share of all runs that ran the release or a newer one, week by week since its release,
 * for the releases dated inside the period (at most `maxReleases`, those with most runs).
 */
export function adoptionCurves(
  rows: DayRelease[],
  period: Period,
  maxReleases = 5,
  maxWeeks = 26,
): AdoptionCurve[] {
  const [from, to] = [dayNumber(period.start), dayNumber(period.end)];
  const onRelease = new Map<number, number>();
  for (const r of rows) {
    if (r.release >= from && r.release < to)
      onRelease.set(r.release, (onRelease.get(r.release) ?? 0) + r.runs);
  }
  const releases = [...onRelease.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, maxReleases)
    .map(([d]) => d)
    .sort((a, b) => a - b);
  return releases.map((rel) => {
    const weeks = new Map<number, { runs: number; newer: number }>();
    for (const r of rows) {
      const week = Math.floor((r.day - rel) / 7);
      if (r.day < rel || week >= maxWeeks) continue;
      const w = weeks.get(week) ?? { runs: 0, newer: 0 };
      w.runs += r.runs;
      if (r.release >= rel) w.newer += r.runs;
      weeks.set(week, w);
    }
    const points = [...weeks.entries()]
      .sort((a, b) => a[0] - b[0])
      .filter(([, w]) => w.runs > 0)
      .map(([week, w]) => ({ days: week * 7, share: round1((100 * w.newer) / w.runs), runs: w.runs }));
    return { release: versionOf(rel), points };
  });
}

/** Installation-age buckets: [label, lowest age in days, first age past it]. */
export const AGE_BUCKETS: [string, number, number][] = [
  ['< 1 week', 0, 7],
  ['1–4 weeks', 7, 30],
  ['1–3 months', 30, 91],
  ['3–6 months', 91, 182],
  ['6–12 months', 182, 365],
  ['1–2 years', 365, 730],
  ['2 years +', 730, Number.POSITIVE_INFINITY],
];

export const AGE_UNKNOWN = 'unknown';

export function ageBuckets(rows: AgeCount[]): { label: string; runs: number }[] {
  const out = [...AGE_BUCKETS.map(([label]) => ({ label, runs: 0 })), { label: AGE_UNKNOWN, runs: 0 }];
  for (const r of rows) {
    const i = AGE_BUCKETS.findIndex(([, lo, hi]) => r.ageDays >= lo && r.ageDays < hi);
    const b = out[i >= 0 ? i : out.length - 1];
    if (b) b.runs += r.runs;
  }
  return out;
}

/** The smallest age (days) at or below which half of the runs with a known age ran; null without any. */
export function medianAge(rows: AgeCount[]): number | null {
  const known = rows.filter((r) => r.ageDays >= 0 && r.runs > 0).sort((a, b) => a.ageDays - b.ageDays);
  const total = known.reduce((n, r) => n + r.runs, 0);
  let seen = 0;
  for (const r of known) {
    seen += r.runs;
    if (2 * seen >= total) return r.ageDays;
  }
  return null;
}
