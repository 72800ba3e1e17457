/**
 * The history behind the report's charts: the SQL over the analyst views (the same views as the
 * tables of report.ts, so the charts and the tables agree) and the row types it returns.
 * Pure: report-cli.ts runs the queries. Aliases differ from the views' column names because
 * 18.16 resolves an outer alias equal to an inner column to the outer aggregate.
 */
import type { Period } from './report.js';
import { SQL_IDENTIFIER } from '@parsl-usage/common';

export interface MonthFigures {
  /** 'YYYY-MM' */
  month: string;
  runs: number;
  launched: number;
  running: number;
  unfinished: number;
  completed: number;
  closureOnly: number;
  apps: number;
  appFails: number;
  points: number;
  namedProjects: number;
}

export interface MonthCount {
  month: string;
  name: string;
  runs: number;
}

export interface AgeCount {
  /** run day - release day; -1 unknown */
  ageDays: number;
  runs: number;
}

export interface DayRelease {
  /** days since 1970-01-01 */
  day: number;
  /** release day (days since 1970-01-01); 0 when the version is not a date */
  release: number;
  runs: number;
}

export interface ReportHistory {
  /** the 12 months the trend charts show, oldest first, ending with the period's last month */
  months: string[];
  monthly: MonthFigures[];
  python: MonthCount[];
  parsl: MonthCount[];
  installAge: AgeCount[];
  /** runs per day and release date, from the period's start on */
  dayRelease: DayRelease[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const IDENT = SQL_IDENTIFIER;

/** 'YYYY-MM' shifted by n months. */
export function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number);
  const i = (y ?? 0) * 12 + (m ?? 1) - 1 + n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
}

/** The 12 months ending with the period's last month, and their date range. */
export function trendWindow(p: Period): { months: string[]; start: string; end: string } {
  const last = addMonths(p.end.slice(0, 7), -1);
  const months = Array.from({ length: 12 }, (_, i) => addMonths(last, i - 11));
  return { months, start: `${months[0] ?? last}-01`, end: p.end };
}

export function historyQueries(database: string, p: Period) {
  if (!IDENT.test(database))
    throw new Error(`database must be an identifier, got ${JSON.stringify(database)}`);
  if (!DAY.test(p.start) || !DAY.test(p.end)) throw new Error(`bad period ${JSON.stringify(p)}`);
  const db = database;
  const w = trendWindow(p);
  const inWindow = `day >= toDate('${w.start}') AND day < toDate('${w.end}')`;
  const inPeriod = `day >= toDate('${p.start}') AND day < toDate('${p.end}')`;
  const month = 'toString(toStartOfMonth(day)) AS month_start';
  const shares = (view: string, col: string): string =>
    `SELECT ${month}, ${col} AS name, sum(workflows) AS runs FROM ${db}.${view} WHERE ${inWindow} ` +
    `GROUP BY month_start, name ORDER BY month_start ASC, name ASC`;
  return {
    monthly:
      `SELECT ${month}, sum(workflows) AS runs, sum(launched) AS launched_runs, sum(running) AS running_runs, ` +
      `sum(unfinished) AS unfinished_runs, sum(completed) AS completed_runs, sum(closure_only) AS closure_only_runs, ` +
      `sum(apps) AS app_count, sum(app_fails) AS app_fail_count, sum(points) AS point_count ` +
      `FROM ${db}.daily_workflows WHERE ${inWindow} GROUP BY month_start ORDER BY month_start ASC`,
    monthlyProjects:
      `SELECT ${month}, uniqExact(project_name) AS projects FROM ${db}.leaderboard_daily WHERE ${inWindow} ` +
      `GROUP BY month_start ORDER BY month_start ASC`,
    python: shares('python_versions_daily', 'python_minor'),
    parsl: shares('parsl_versions_daily', 'parsl_version'),
    installAge:
      `SELECT age_days AS age, sum(workflows) AS runs FROM ${db}.installation_age_daily WHERE ${inPeriod} ` +
      `GROUP BY age ORDER BY age ASC`,
    // Day numbers: 18.16 prints Date 0 as 0000-00-00.
    dayRelease:
      `SELECT toUInt16(day) AS day_number, toUInt16(release_date) AS release_day_number, sum(workflows) AS runs ` +
      `FROM ${db}.parsl_versions_daily WHERE day >= toDate('${p.start}') ` +
      `GROUP BY day_number, release_day_number ORDER BY day_number ASC, release_day_number ASC`,
  };
}
