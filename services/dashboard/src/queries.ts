/**
 * SQL for every panel. The text is built only from fixed fragments, the database identifier
 * (checked at configuration), validated dates (IsoDay, re-checked here) and integers: no
 * request text can reach it. Queries read the rollup tables of 002-rollups.sql directly, with
 * the views' finalisation (sum ... GROUP BY ... HAVING != 0), because ClickHouse 18.16 does not
 * push a WHERE into a view (and the analyst cannot SET the setting that would), so filtering
 * the rollup itself keeps the scan to the asked range. Runs on 18.16 and 24.8+.
 */
import { SQL_IDENTIFIER } from '@parsl-usage/common';
import { parseIsoDay, type IsoDay } from './dates.js';
import type { Dimension, Granularity } from './params.js';
import { namedProjectSql, otherProjectSql } from './privacy.js';

const IDENT = SQL_IDENTIFIER;

export function dateLiteral(day: IsoDay): string {
  if (parseIsoDay(day) !== day) throw new Error(`not a checked day: ${JSON.stringify(day)}`);
  return `toDate('${day}')`;
}

function intLiteral(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

const PERIOD: Record<Granularity, string> = {
  day: 'day',
  week: 'toMonday(day)',
  month: 'toStartOfMonth(day)',
};

/** Where each dimension lives: a fixed predicate on a fixed table. */
const DIMENSION_SOURCE: Record<Dimension, { table: string; predicate: string; value: string }> = {
  python_minor: { table: 'rollup_daily_dimension', predicate: "dimension = 'python_minor'", value: 'value' },
  parsl_version: {
    table: 'rollup_daily_dimension',
    predicate: "dimension = 'parsl_version'",
    value: 'value',
  },
  platform: { table: 'rollup_daily_dimension', predicate: "dimension = 'platform'", value: 'value' },
  tracking_level: {
    table: 'rollup_daily_dimension',
    predicate: "dimension = 'tracking_level'",
    value: 'value',
  },
  executor: { table: 'rollup_daily_component', predicate: "kind = 'executor'", value: 'component' },
  provider: { table: 'rollup_daily_component', predicate: "kind = 'provider'", value: 'component' },
  launcher: { table: 'rollup_daily_component', predicate: "kind = 'launcher'", value: 'component' },
};

export function isComponent(d: Dimension): boolean {
  return DIMENSION_SOURCE[d].table === 'rollup_daily_component';
}

export interface Range {
  from: IsoDay;
  to: IsoDay;
}

/** One database's table names and the range predicate every builder shares. */
interface Bound {
  /** `database.table` */
  t: (table: string) => string;
  /** the range of days, test rows left out */
  inRange: (r: Range) => string;
}

/**
 * Runs by status per period. 'running' turns 'unfinished' once its day is older than
 * today - unfinishedAfterDays, as in the daily_workflows view (which fixes 7 days).
 */
function workflowsSql(b: Bound, r: Range, g: Granularity, unfinishedAfterDays: number): string {
  const old = `day < today() - ${intLiteral(unfinishedAfterDays)}`;
  // Inner columns are named d_*: 18.16 resolves an outer alias equal to an inner column
  // name to the outer aggregate, nesting aggregates.
  return `SELECT ${PERIOD[g]} AS period,
    sum(d_workflows) AS workflows, sum(d_launched) AS launched,
    sum(if(${old}, toInt64(0), d_running)) AS running, sum(if(${old}, d_running, toInt64(0))) AS unfinished,
    sum(d_completed) AS completed, sum(d_closure_only) AS closure_only,
    sum(d_points) AS points, sum(d_apps) AS apps, sum(d_app_fails) AS app_fails
FROM
(
    SELECT day, sum(workflows) AS d_workflows, sum(launched) AS d_launched, sum(running) AS d_running,
        sum(completed) AS d_completed, sum(closure_only) AS d_closure_only, sum(points) AS d_points,
        sum(apps) AS d_apps, sum(app_fails) AS d_app_fails
    FROM ${b.t('rollup_daily')}
    WHERE ${b.inRange(r)}
    GROUP BY day
    HAVING d_workflows != 0
)
GROUP BY period
ORDER BY period ASC`;
}

/** Named projects with runs left in the range. */
function projectCountSql(b: Bound, r: Range): string {
  return `SELECT count() AS projects
FROM
(
    SELECT project_name, sum(workflows) AS runs
    FROM ${b.t('rollup_daily_project')}
    WHERE ${b.inRange(r)}
    GROUP BY project_name
    HAVING runs != 0
)`;
}

/**
 * The newest run day (all time) from the daily totals: a few thousand rows, where the
 * newest day of workflow_changes was a scan of every change row. Days whose runs were all
 * forgotten (compensated to 0) do not count.
 */
function lastDaySql(b: Bound): string {
  return `SELECT toUInt16(max(day)) AS last_day_number
FROM
(
    SELECT day, sum(workflows) AS d_workflows
    FROM ${b.t('rollup_daily')}
    GROUP BY day
    HAVING d_workflows != 0
)`;
}

/**
 * When data last arrived: the newest insert among the change rows of the last 31 days
 * before the newest run day (or before today, if a client claimed a day in the future).
 * Change rows are partitioned by month of their day, so this reads one or two months, not
 * the whole table. What arrives now is about runs of the last few days (the aggregator joins
 * closures within 7 days), so the newest insert is among them. 0 when nothing has an
 * inserted_at (18.16 stores 0 for a row inserted without it).
 */
function lastInsertedSql(b: Bound): string {
  return `SELECT toUInt32(max(inserted_at)) AS last_inserted_unix
FROM ${b.t('workflow_changes')}
WHERE day >= least(today(), (SELECT max(day) FROM ${b.t('rollup_daily')})) - 31`;
}

/** Runs, apps and failures per period and value of one dimension. */
function dimensionSql(b: Bound, r: Range, g: Granularity, d: Dimension): string {
  const s = DIMENSION_SOURCE[d];
  return `SELECT ${PERIOD[g]} AS period, ${s.value} AS value,
    sum(workflows) AS runs, sum(apps) AS apps, sum(app_fails) AS app_fails
FROM ${b.t(s.table)}
WHERE ${s.predicate} AND ${b.inRange(r)}
GROUP BY period, value
HAVING runs != 0
ORDER BY period ASC, value ASC`;
}

/** Runs that report components (tracking level 2 and 3) per period: the base of component shares. */
function componentRunsSql(b: Bound, r: Range, g: Granularity): string {
  return `SELECT ${PERIOD[g]} AS period, sum(workflows) AS runs
FROM ${b.t('rollup_daily_dimension')}
WHERE dimension = 'tracking_level' AND value IN ('2', '3') AND ${b.inRange(r)}
GROUP BY period
HAVING runs != 0
ORDER BY period ASC`;
}

/** Execution-time histogram (bucket k: [2^((k-1)/4), 2^(k/4)) s, bucket 0: [0, 1) s). */
function execTimeSql(b: Bound, r: Range): string {
  return `SELECT bucket, sum(workflows) AS runs
FROM ${b.t('rollup_exec_time')}
WHERE ${b.inRange(r)}
GROUP BY bucket
HAVING runs != 0
ORDER BY bucket ASC`;
}

/** Runs by installation age in days (-1 unknown, capped at 3650). */
function installAgeSql(b: Bound, r: Range): string {
  return `SELECT age_days, sum(workflows) AS runs
FROM ${b.t('rollup_daily_install_age')}
WHERE ${b.inRange(r)}
GROUP BY age_days
HAVING runs != 0
ORDER BY age_days ASC`;
}

/** Runs per day and release date (day number since 1970: 18.16 prints Date 0 as 0000-00-00). */
function dayReleaseSql(b: Bound, r: Range): string {
  return `SELECT toUInt16(day) AS day_number, toUInt16(release_date) AS release_day_number, sum(workflows) AS runs
FROM ${b.t('rollup_daily_dimension')}
WHERE dimension = 'parsl_version' AND ${b.inRange(r)}
GROUP BY day, release_date
HAVING runs != 0
ORDER BY day ASC, release_date ASC`;
}

/**
 * Named projects by Parsl leaderboard points over the range. The first and last day and
 * the active days need the per-day rows, but only of the `top` projects: the inner IN picks
 * them by their sums over the range (one group per project), and only their days are then
 * grouped per day (was: every project's days, 631,848 groups for a year at 10M workflows).
 * The outer part is the per-day computation unchanged, so the answer is the same as
 * grouping every project by day first (test/analytics-rollups.test.ts compares the two).
 * With minRuns K > 1 only projects with at least K runs in the range are named (privacy.ts).
 */
function leaderboardSql(b: Bound, r: Range, top: number, minRuns = 1): string {
  const named = minRuns > 1 ? namedProjectSql('p_runs', minRuns) : 'p_runs != 0';
  return `SELECT project_name, sum(runs) AS runs, sum(points) AS points, sum(apps) AS apps,
    toUInt16(min(day)) AS first_day_number, toUInt16(max(day)) AS last_day_number, count() AS active_days
FROM
(
    SELECT project_name, day, sum(workflows) AS runs, sum(points) AS points, sum(apps) AS apps
    FROM ${b.t('rollup_daily_project')}
    WHERE ${b.inRange(r)} AND project_name IN
    (
        SELECT project_name
        FROM
        (
            SELECT project_name, sum(workflows) AS p_runs, sum(points) AS p_points
            FROM ${b.t('rollup_daily_project')}
            WHERE ${b.inRange(r)}
            GROUP BY project_name
            HAVING ${named}
            ORDER BY p_points DESC, p_runs DESC, project_name ASC
            LIMIT ${intLiteral(top)}
        )
    )
    GROUP BY project_name, day
    HAVING runs != 0
)
GROUP BY project_name
ORDER BY points DESC, runs DESC, project_name ASC
LIMIT ${intLiteral(top)}`;
}

/** The projects under K runs in the range (privacy.ts), summed: the leaderboard's "other". */
function projectsUnderSql(b: Bound, r: Range, minRuns: number): string {
  return `SELECT count() AS projects, sum(o_runs) AS runs, sum(o_points) AS points, sum(o_apps) AS apps
FROM
(
    SELECT project_name, sum(workflows) AS o_runs, sum(points) AS o_points, sum(apps) AS o_apps
    FROM ${b.t('rollup_daily_project')}
    WHERE ${b.inRange(r)}
    GROUP BY project_name
    HAVING ${otherProjectSql('o_runs', minRuns)}
)`;
}

/** The leaderboard as it was computed before: every project grouped by day (tests compare). */
function leaderboardEveryDaySql(b: Bound, r: Range, top: number): string {
  return `SELECT project_name, sum(runs) AS runs, sum(points) AS points, sum(apps) AS apps,
    toUInt16(min(day)) AS first_day_number, toUInt16(max(day)) AS last_day_number, count() AS active_days
FROM
(
    SELECT project_name, day, sum(workflows) AS runs, sum(points) AS points, sum(apps) AS apps
    FROM ${b.t('rollup_daily_project')}
    WHERE ${b.inRange(r)}
    GROUP BY project_name, day
    HAVING runs != 0
)
GROUP BY project_name
ORDER BY points DESC, runs DESC, project_name ASC
LIMIT ${intLiteral(top)}`;
}

/** SQL builders bound to one database: the table of per-panel builders above. */
export function sqlFor(database: string) {
  if (!IDENT.test(database)) throw new Error(`database ${JSON.stringify(database)} is not an identifier`);
  const b: Bound = {
    t: (table: string): string => `${database}.${table}`,
    inRange: (r: Range): string =>
      `is_test = 0 AND day >= ${dateLiteral(r.from)} AND day <= ${dateLiteral(r.to)}`,
  };
  return {
    workflows: (r: Range, g: Granularity, unfinishedAfterDays: number): string =>
      workflowsSql(b, r, g, unfinishedAfterDays),
    projectCount: (r: Range): string => projectCountSql(b, r),
    lastDay: (): string => lastDaySql(b),
    lastInserted: (): string => lastInsertedSql(b),
    dimension: (r: Range, g: Granularity, d: Dimension): string => dimensionSql(b, r, g, d),
    componentRuns: (r: Range, g: Granularity): string => componentRunsSql(b, r, g),
    execTime: (r: Range): string => execTimeSql(b, r),
    installAge: (r: Range): string => installAgeSql(b, r),
    dayRelease: (r: Range): string => dayReleaseSql(b, r),
    leaderboard: (r: Range, top: number, minRuns = 1): string => leaderboardSql(b, r, top, minRuns),
    projectsUnder: (r: Range, minRuns: number): string => projectsUnderSql(b, r, minRuns),
    leaderboardEveryDay: (r: Range, top: number): string => leaderboardEveryDaySql(b, r, top),
  };
}
