/**
 * What the open-data export publishes (docs/PRIVACY.md): one file per daily rollup and closed
 * day, the rollup's sums over Parsl's real runs (is_test = 0, as every dashboard figure), with
 * the privacy rule applied to project names. Pure: SQL text in, rows out, no I/O.
 *
 * Not exported: rollup_weekly_release (the same figures as the parsl_version rows of
 * `dimension`, summed by calendar week) and rollup_project (all-time totals: no closed period).
 */
import type { IsoDay } from '../dates.js';
import { bucketBounds } from '../histogram.js';
import { OTHER_PROJECTS, publicProjects } from '../privacy.js';

const MS_PER_DAY = 86_400_000;

export type ColumnType = 'date' | 'string' | 'int32' | 'int64' | 'double' | 'boolean';
export type Value = string | number | boolean;
export type FileRow = Record<string, Value>;

export interface Column {
  name: string;
  type: ColumnType;
  description: string;
}

export interface RollupFile {
  /** directory and manifest name: lower-case, no dots or slashes */
  name: string;
  table: string;
  description: string;
  columns: readonly Column[];
  /** GROUP BY columns besides day: their SELECT expressions (aliased to their names) */
  keys: readonly string[];
  /** summed columns: public name -> the rollup column summed */
  sums: Readonly<Record<string, string>>;
  /** the rows of one day as read (keys and sums, numbers) -> the published rows; K is the privacy rule */
  publish?: (rows: FileRow[], k: number) => FileRow[];
}

const DAY: Column = { name: 'day', type: 'date', description: 'the UTC day the runs started (launch day)' };
const RUNS: Column = { name: 'workflows', type: 'int64', description: 'runs (Parsl workflows)' };
const APPS: Column = { name: 'apps', type: 'int64', description: 'apps the runs ran' };
const FAILS: Column = { name: 'app_fails', type: 'int64', description: 'apps that failed' };

/** The project rule: names with fewer than K runs that day are summed into one "other" row. */
function publishProjects(rows: FileRow[], k: number): FileRow[] {
  const day = rows[0]?.day;
  if (day === undefined) return [];
  const figures = rows.map((r) => ({
    project: String(r.project_name),
    runs: Number(r.workflows),
    points: Number(r.points),
    apps: Number(r.apps),
  }));
  const { shown, other } = publicProjects(figures, k);
  const out: FileRow[] = shown.map((p) => ({
    day,
    project_name: p.project,
    is_other: false,
    workflows: p.runs,
    points: p.points,
    apps: p.apps,
  }));
  if (other.runs > 0)
    out.push({
      day,
      project_name: OTHER_PROJECTS,
      is_other: true,
      workflows: other.runs,
      points: other.points,
      apps: other.apps,
    });
  return out;
}

/** Adds each bucket's bounds in seconds, so a reader needs no formula. */
function publishExecTime(rows: FileRow[]): FileRow[] {
  return rows.map((r) => {
    const b = bucketBounds(Number(r.bucket));
    return {
      day: r.day as string,
      bucket: r.bucket as number,
      lower_s: b.lower,
      upper_s: b.upper,
      workflows: r.workflows as number,
    };
  });
}

export const ROLLUP_FILES: readonly RollupFile[] = [
  {
    name: 'runs',
    table: 'rollup_daily',
    description: 'runs per day by status, with apps, app failures and leaderboard points',
    columns: [
      DAY,
      RUNS,
      { name: 'launched', type: 'int64', description: 'runs with a launch message only' },
      { name: 'running', type: 'int64', description: 'runs whose closure has not arrived (yet)' },
      { name: 'completed', type: 'int64', description: 'runs with launch and closure' },
      { name: 'closure_only', type: 'int64', description: 'runs whose launch message never arrived' },
      { name: 'points', type: 'int64', description: "Parsl's leaderboard points" },
      APPS,
      FAILS,
    ],
    keys: [],
    sums: {
      workflows: 'workflows',
      launched: 'launched',
      running: 'running',
      completed: 'completed',
      closure_only: 'closure_only',
      points: 'points',
      apps: 'apps',
      app_fails: 'app_fails',
    },
  },
  {
    name: 'exec_time',
    table: 'rollup_exec_time',
    description: 'histogram of the execution time of runs that reported one (4 buckets per doubling)',
    columns: [
      DAY,
      { name: 'bucket', type: 'int32', description: '0 = [0 s, 1 s); k >= 1 = [2^((k-1)/4) s, 2^(k/4) s)' },
      { name: 'lower_s', type: 'double', description: "the bucket's lower bound, seconds" },
      { name: 'upper_s', type: 'double', description: "the bucket's upper bound (excluded), seconds" },
      RUNS,
    ],
    keys: ['toInt32(bucket) AS bucket'],
    sums: { workflows: 'workflows' },
    publish: publishExecTime,
  },
  {
    name: 'dimension',
    table: 'rollup_daily_dimension',
    description: 'runs per day by python_minor, parsl_version, platform, tracking_level and protocol',
    columns: [
      DAY,
      {
        name: 'dimension',
        type: 'string',
        description: 'python_minor, parsl_version, platform, tracking_level or protocol',
      },
      { name: 'value', type: 'string', description: 'the value reported (empty = not reported)' },
      {
        name: 'release_date',
        type: 'date',
        description: "parsl_version's release date; 1970-01-01 when not a date version or another dimension",
      },
      RUNS,
      APPS,
      FAILS,
    ],
    // days since 1970-01-01: ClickHouse 18.16 writes that day as the text 0000-00-00
    keys: ['dimension', 'value', 'toUInt16(release_date) AS release_date'],
    sums: { workflows: 'workflows', apps: 'apps', app_fails: 'app_fails' },
  },
  {
    name: 'component',
    table: 'rollup_daily_component',
    description: 'runs per day by executor, provider and launcher class (a run counts once per class)',
    columns: [
      DAY,
      { name: 'kind', type: 'string', description: 'executor, provider or launcher' },
      { name: 'component', type: 'string', description: 'the class name' },
      RUNS,
      APPS,
      FAILS,
    ],
    keys: ['kind', 'component'],
    sums: { workflows: 'workflows', apps: 'apps', app_fails: 'app_fails' },
  },
  {
    name: 'project',
    table: 'rollup_daily_project',
    description:
      'runs per day by project name; names with fewer than K runs that day are summed in one row "other"',
    columns: [
      DAY,
      {
        name: 'project_name',
        type: 'string',
        description: 'the project name; "other" on the row with is_other = true',
      },
      {
        name: 'is_other',
        type: 'boolean',
        description: 'true on the one row summing the projects under K runs that day',
      },
      RUNS,
      { name: 'points', type: 'int64', description: "Parsl's leaderboard points" },
      APPS,
    ],
    keys: ['project_name'],
    sums: { workflows: 'workflows', points: 'points', apps: 'apps' },
    publish: publishProjects,
  },
  {
    name: 'install_age',
    table: 'rollup_daily_install_age',
    description: 'runs per day by installation age: run day minus the release day of the installed Parsl',
    columns: [
      DAY,
      { name: 'age_days', type: 'int32', description: 'days; ages above 3650 count as 3650; -1 = unknown' },
      RUNS,
    ],
    keys: ['toInt32(age_days) AS age_days'],
    sums: { workflows: 'workflows' },
  },
];

/** `expr AS name` -> name; a bare column -> itself. */
function keyName(key: string): string {
  return /\bAS (\w+)$/.exec(key)?.[1] ?? key;
}

/**
 * One query for the days [from, to] of a rollup: sums per day and key, rows whose runs net to
 * 0 left out. Sums are aliased s_<name> (an alias equal to the summed column would make
 * ClickHouse read sum(sum(...))). `database` is a checked identifier, days are IsoDays.
 */
export function rollupSql(f: RollupFile, database: string, from: IsoDay, to: IsoDay): string {
  const keys = f.keys.map(keyName);
  const select = [
    'toString(day) AS day',
    ...f.keys,
    ...Object.entries(f.sums).map(([name, col]) => `sum(${col}) AS s_${name}`),
  ];
  return [
    `SELECT ${select.join(', ')}`,
    `FROM ${database}.${f.table}`,
    `WHERE is_test = 0 AND day >= '${from}' AND day <= '${to}'`,
    `GROUP BY ${['day', ...keys].join(', ')}`,
    `HAVING s_workflows != 0`,
    `ORDER BY ${['day', ...keys].join(', ')}`,
  ].join('\n');
}

/** A row as ClickHouse gives it (Int64 as strings, dates of keys as day numbers) -> file values. */
export function readRow(f: RollupFile, raw: Record<string, unknown>): FileRow {
  const out: FileRow = { day: String(raw.day) };
  for (const k of f.keys.map(keyName)) {
    const v = raw[k];
    const type = f.columns.find((c) => c.name === k)?.type;
    if (type === 'date') out[k] = new Date(Number(v) * MS_PER_DAY).toISOString().slice(0, 10);
    else out[k] = typeof v === 'number' ? v : String(v);
  }
  for (const name of Object.keys(f.sums)) out[name] = Number(raw[`s_${name}`]);
  return out;
}

/** The published rows of one day of one rollup (rows: that day's, as readRow gives them). */
export function publishDay(f: RollupFile, rows: FileRow[], k: number): FileRow[] {
  return f.publish ? f.publish(rows, k) : rows;
}

/** Days with runs up to the last closed one: the days the export writes. */
export function daysSql(database: string, lastClosed: IsoDay): string {
  return [
    `SELECT toString(day) AS day FROM ${database}.rollup_daily`,
    `WHERE is_test = 0 AND day <= '${lastClosed}'`,
    'GROUP BY day HAVING sum(workflows) != 0 ORDER BY day',
  ].join('\n');
}
