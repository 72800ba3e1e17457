/**
 * One function per panel: run its queries, shape the answer. The answer carries a table
 * (columns + rows, also served as CSV) and whatever the chart needs.
 */
import { addDays, clampDay, type IsoDay } from './dates.js';
import { dimensionSeries, periodBases, tallyDimension } from './dimension-shares.js';
import type { PanelParams } from './params.js';
import { isComponent, sqlFor } from './queries.js';
import {
  adoptionCurves,
  DEFAULT_HEALTH,
  NO_RELEASE_DATE,
  ReleaseRuns,
  releaseHealth,
  type DayReleaseRuns,
} from './release-adoption.js';
import { histogramQuantiles, bucketBounds } from './histogram.js';
import { dayFromNumber, num, ratio, round, str, type Row } from './row-values.js';

export type { Row } from './row-values.js';
/** The one door to ClickHouse: SQL text in, rows out (JSONEachRow). */
export type QueryFn = (sql: string) => Promise<Row[]>;

export type Cell = string | number | boolean | null;

export interface PanelAnswer {
  panel: string;
  params: Record<string, string | number>;
  columns: string[];
  rows: Cell[][];
  chart: Record<string, unknown>;
  summary?: Record<string, Cell>;
}

export interface PanelContext {
  query: QueryFn;
  database: string;
  unfinishedAfterDays: number;
  /** K of the privacy rule (privacy.ts): a project is named with at least this many runs */
  publicMinRuns: number;
}

function paramsOf(p: PanelParams, names: readonly (keyof PanelParams)[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const n of names) out[n] = p[n];
  return out;
}

async function workflows(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const rows = await c.query(sqlFor(c.database).workflows(p, p.granularity, c.unfinishedAfterDays));
  const cols = ['workflows', 'launched', 'running', 'unfinished', 'completed', 'closure_only'] as const;
  return {
    panel: 'workflows',
    params: paramsOf(p, ['from', 'to', 'granularity']),
    columns: ['period', ...cols],
    rows: rows.map((r) => [str(r.period), ...cols.map((k) => num(r[k]))]),
    chart: { stacked: ['launched', 'completed', 'unfinished', 'running', 'closure_only'] },
  };
}

async function apps(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const rows = await c.query(sqlFor(c.database).workflows(p, p.granularity, c.unfinishedAfterDays));
  return {
    panel: 'apps',
    params: paramsOf(p, ['from', 'to', 'granularity']),
    columns: ['period', 'runs', 'apps', 'app_fails', 'failure_rate'],
    rows: rows.map((r) => {
      const [a, f] = [num(r.apps), num(r.app_fails)];
      return [str(r.period), num(r.workflows), a, f, round(ratio(f, a))];
    }),
    chart: {},
  };
}

async function headline(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const sql = sqlFor(c.database);
  const [periods, projects, inserted, newest] = await Promise.all([
    c.query(sql.workflows(p, 'month', c.unfinishedAfterDays)),
    c.query(sql.projectCount(p)),
    c.query(sql.lastInserted()),
    c.query(sql.lastDay()),
  ]);
  const total = (k: string): number => periods.reduce((s, r) => s + num(r[k]), 0);
  const [a, f] = [total('apps'), total('app_fails')];
  const lastInserted = num(inserted[0]?.last_inserted_unix ?? 0);
  const lastDay = num(newest[0]?.last_day_number ?? 0);
  const summary: Record<string, Cell> = {
    runs: total('workflows'),
    completed: total('completed'),
    unfinished: total('unfinished'),
    running: total('running'),
    launched: total('launched'),
    closure_only: total('closure_only'),
    apps: a,
    app_fails: f,
    failure_rate: round(ratio(f, a)),
    points: total('points'),
    projects: num(projects[0]?.projects ?? 0),
    // 0 = an empty table (18.16 gives the epoch for max() of nothing)
    last_inserted_at: lastInserted > 0 ? new Date(lastInserted * 1000).toISOString() : null,
    last_day: lastDay > 0 ? dayFromNumber(lastDay) : null,
  };
  return {
    panel: 'headline',
    params: paramsOf(p, ['from', 'to']),
    columns: ['metric', 'value'],
    rows: Object.entries(summary).map(([k, v]) => [k, v]),
    chart: {},
    summary,
  };
}

async function dimension(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const sql = sqlFor(c.database);
  const component = isComponent(p.dimension);
  const [rows, base] = await Promise.all([
    c.query(sql.dimension(p, p.granularity, p.dimension)),
    component ? c.query(sql.componentRuns(p, p.granularity)) : Promise.resolve([]),
  ]);
  const { totals, periods } = tallyDimension(rows);
  const periodBase = periodBases(periods, component ? base : null);
  const allRuns = [...periodBase.values()].reduce((s, n) => s + n, 0);

  const ranked = [...totals].sort((x, y) => y[1].runs - x[1].runs || (x[0] < y[0] ? -1 : 1));
  const top = ranked.slice(0, p.top).map(([v]) => v);
  const periodList = [...periodBase.keys()].sort();
  const series = dimensionSeries(
    top,
    periodList,
    periods,
    periodBase,
    !component && ranked.length > top.length,
  );
  return {
    panel: 'dimension',
    params: paramsOf(p, ['from', 'to', 'granularity', 'top', 'dimension']),
    columns: ['rank', p.dimension, 'runs', 'share', 'apps', 'app_fails', 'failure_rate'],
    rows: ranked.map(([value, t], i) => [
      i + 1,
      value,
      t.runs,
      round(ratio(t.runs, allRuns)),
      t.apps,
      t.fails,
      round(ratio(t.fails, t.apps)),
    ]),
    chart: { periods: periodList, series, shareBase: component ? 'runs reporting components' : 'runs' },
    summary: { runs: allRuns, values: ranked.length },
  };
}

async function execTime(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const rows = await c.query(sqlFor(c.database).execTime(p));
  const hist = rows.map((r) => ({ bucket: num(r.bucket), runs: num(r.runs) }));
  const q = histogramQuantiles(hist, [0.5, 0.9, 0.99]);
  return {
    panel: 'exec-time',
    params: paramsOf(p, ['from', 'to']),
    columns: ['bucket', 'lower_s', 'upper_s', 'runs'],
    rows: hist.map((h) => {
      const b = bucketBounds(h.bucket);
      return [h.bucket, round(b.lower, 3), round(b.upper, 3), h.runs];
    }),
    chart: {},
    summary: {
      runs: hist.reduce((s, h) => s + h.runs, 0),
      p50_s: round(q[0] ?? null, 3),
      p90_s: round(q[1] ?? null, 3),
      p99_s: round(q[2] ?? null, 3),
    },
  };
}

async function installAge(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const rows = await c.query(sqlFor(c.database).installAge(p));
  const byWeek = new Map<number, number>();
  let unknown = 0;
  const known: { age: number; runs: number }[] = [];
  for (const r of rows) {
    const age = num(r.age_days);
    const runs = num(r.runs);
    if (age < 0) unknown += runs;
    else {
      known.push({ age, runs });
      const w = Math.floor(age / 7);
      byWeek.set(w, (byWeek.get(w) ?? 0) + runs);
    }
  }
  const knownRuns = known.reduce((s, k) => s + k.runs, 0);
  // Weighted quantile as quantileExactWeighted: the first age whose cumulative runs reach q.
  const quantile = (q: number): number | null => {
    let acc = 0;
    for (const k of known) {
      acc += k.runs;
      if (acc >= q * knownRuns && knownRuns > 0) return k.age;
    }
    return null;
  };
  return {
    panel: 'install-age',
    params: paramsOf(p, ['from', 'to']),
    columns: ['age_weeks', 'runs'],
    rows: [...(unknown ? [[-1, unknown]] : []), ...[...byWeek].sort((x, y) => x[0] - y[0])],
    chart: {},
    summary: {
      runs_known_age: knownRuns,
      runs_unknown_age: unknown,
      median_days: quantile(0.5),
      p90_days: quantile(0.9),
    },
  };
}

async function dayReleaseRuns(c: PanelContext, from: IsoDay, to: IsoDay): Promise<DayReleaseRuns[]> {
  const rows = await c.query(sqlFor(c.database).dayRelease({ from, to }));
  return rows.map((r) => ({
    day: dayFromNumber(r.day_number),
    releaseDate:
      num(r.release_day_number) === 0 ? (NO_RELEASE_DATE as IsoDay) : dayFromNumber(r.release_day_number),
    runs: num(r.runs),
  }));
}

const releaseName = (d: IsoDay): string => d.replaceAll('-', '.');

async function adoption(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const data = new ReleaseRuns(await dayReleaseRuns(c, p.from, p.to));
  const releases = data.releases.filter((r) => r >= p.from && r <= p.to).slice(-p.top);
  const bin = p.granularity === 'day' ? 1 : p.granularity === 'week' ? 7 : 30;
  const curves = adoptionCurves(data, releases, p.to, bin);
  return {
    panel: 'adoption',
    params: paramsOf(p, ['from', 'to', 'granularity', 'top']),
    columns: ['release', 'days_since_release', 'runs', 'newer_runs', 'share'],
    rows: curves.flatMap((cv) =>
      cv.points.map((pt) => [
        releaseName(cv.release),
        pt.daysSinceRelease,
        pt.runs,
        pt.newerRuns,
        round(pt.share),
      ]),
    ),
    chart: {
      binDays: bin,
      releases: curves.map((cv) => ({
        release: releaseName(cv.release),
        daysToHalf: cv.daysToHalf,
        points: cv.points.map((pt) => [pt.daysSinceRelease, round(pt.share)]),
      })),
    },
  };
}

/** Baseline history looked at before the judged range: enough for the previous releases' curves. */
const HEALTH_LOOKBACK_DAYS = 180;

/** The release-health panel's columns (the public API's document lists the same, api-v1/endpoints.ts). */
export const RELEASE_HEALTH_COLUMNS = [
  'release',
  'seen',
  'age_days',
  'window_runs',
  'own_runs',
  'observed_share',
  'expected_share',
  'status',
  'reason',
] as const;

async function health(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const data = new ReleaseRuns(
    await dayReleaseRuns(c, clampDay(addDays(p.from, -HEALTH_LOOKBACK_DAYS)), p.to),
  );
  const verdicts = releaseHealth(data, { ...DEFAULT_HEALTH, asOf: p.to, judgeFrom: p.from });
  return {
    panel: 'release-health',
    params: paramsOf(p, ['from', 'to']),
    columns: [...RELEASE_HEALTH_COLUMNS],
    rows: verdicts.map((v) => [
      releaseName(v.release),
      v.seen,
      v.ageDays,
      v.windowRuns,
      v.ownRuns,
      round(v.observedShare),
      round(v.expectedShare),
      v.status,
      v.reason,
    ]),
    chart: {},
    summary: {
      flagged: verdicts.filter((v) => v.status === 'missing' || v.status === 'collapsed').length,
      judged: verdicts.length,
    },
  };
}

async function leaderboard(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  const sql = sqlFor(c.database);
  const k = c.publicMinRuns;
  const [rows, under] = await Promise.all([
    c.query(sql.leaderboard(p, p.top, k)),
    c.query(sql.projectsUnder(p, k)),
  ]);
  const other = under[0] ?? {};
  return {
    panel: 'leaderboard',
    params: paramsOf(p, ['from', 'to', 'top']),
    columns: ['rank', 'project', 'points', 'runs', 'apps', 'active_days', 'first_day', 'last_day'],
    rows: rows.map((r, i) => [
      i + 1,
      str(r.project_name),
      num(r.points),
      num(r.runs),
      num(r.apps),
      num(r.active_days),
      dayFromNumber(r.first_day_number),
      dayFromNumber(r.last_day_number),
    ]),
    chart: {},
    // The projects under K, counted but not named (the rule of docs/PRIVACY.md).
    summary: {
      min_runs: k,
      other_projects: num(other.projects ?? 0),
      other_runs: num(other.runs ?? 0),
      other_points: num(other.points ?? 0),
      other_apps: num(other.apps ?? 0),
    },
  };
}

const HANDLERS = {
  headline,
  workflows,
  apps,
  dimension,
  'exec-time': execTime,
  'install-age': installAge,
  adoption,
  leaderboard,
  'release-health': health,
} as const satisfies Record<PanelParams['panel'], (p: PanelParams, c: PanelContext) => Promise<PanelAnswer>>;

export function computePanel(p: PanelParams, c: PanelContext): Promise<PanelAnswer> {
  return HANDLERS[p.panel](p, c);
}
