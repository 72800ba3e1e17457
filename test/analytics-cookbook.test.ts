/**
 * Runs every ```sql block of docs/COOKBOOK.md as the analyst user, against database
 * parsl_usage of a private ClickHouse 18.16 (users.d from the working tree) holding the
 * cookbook fixture (test/analytics-support.ts), and checks the numbers of most of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { fetchReportInput } from '@parsl-usage/ops/internal/report-cli';
import { periodsFor, renderReport, type Period } from '@parsl-usage/ops/internal/report';
import { MIGRATIONS_DIR } from './setup/env.js';
import {
  ChangeLog,
  cookbookHistory,
  cookbookQueries,
  dateVersion,
  daysAgo,
  daysBetween,
  mondayOf,
  startPrivateClickHouse,
  writeHistory,
  type PrivateClickHouse,
} from './analytics-support.js';

type Row = Record<string, string>;

// 18.16 quotes 64-bit integers in JSON, current releases may not: compare everything as text.
function asText(r: Record<string, unknown>): Row {
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, Array.isArray(v) ? JSON.stringify(v) : String(v)]),
  );
}

function pick(rows: Row[], ...cols: string[]): string[][] {
  return rows.map((r) => cols.map((c) => r[c] ?? `<no ${c}>`));
}

describe('docs/COOKBOOK.md', () => {
  let ch: PrivateClickHouse;
  let analyst: ClickHouseClient;
  const results = new Map<string, Row[]>();
  let queries: Map<string, string>;
  let log: ChangeLog;
  const now = Date.now();
  const r1 = dateVersion(daysAgo(60, now));
  const r2 = dateVersion(daysAgo(20, now));

  beforeAll(async () => {
    queries = await cookbookQueries();
    ch = await startPrivateClickHouse();
    const admin = ch.client('admin');
    await applyMigrations(admin, { database: 'parsl_usage', dir: MIGRATIONS_DIR });
    log = new ChangeLog(admin, 'parsl_usage.workflow_changes');
    await writeHistory(log, cookbookHistory(now));
    analyst = ch.client('analyst');
  });

  afterAll(async () => {
    await ch?.stop();
  });

  /** The query's rows, run once as analyst. */
  async function run(name: string): Promise<Row[]> {
    const cached = results.get(name);
    if (cached) return cached;
    const sql = queries.get(name);
    if (!sql) throw new Error(`no cookbook query named ${name}`);
    const rs = await analyst.query({ query: sql, format: 'JSONEachRow' });
    const rows = (await rs.json<Record<string, unknown>>()).map(asText);
    results.set(name, rows);
    return rows;
  }

  it('has at least 10 queries', () => {
    expect(queries.size).toBeGreaterThanOrEqual(10);
  });

  it('every query runs as analyst', async () => {
    const failures: string[] = [];
    for (const name of queries.keys()) {
      try {
        await run(name);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('python-versions', async () => {
    expect(pick(await run('python-versions'), 'python_minor', 'runs', 'pct_runs')).toEqual([
      ['3.12', '3', '37.5'],
      ['3.11', '2', '25'],
      ['3.10', '1', '12.5'],
      ['3.13', '1', '12.5'],
      ['3.9', '1', '12.5'],
    ]);
  });

  it('python-monthly adds up to the runs of the last 365 days', async () => {
    const rows = await run('python-monthly');
    expect(rows.reduce((n, r) => n + Number(r.runs), 0)).toBe(8);
    // shares within a month add up to 100 %
    const byMonth = new Map<string, number>();
    for (const r of rows) byMonth.set(r.month ?? '', (byMonth.get(r.month ?? '') ?? 0) + Number(r.pct_runs));
    for (const pct of byMonth.values()) expect(pct).toBeCloseTo(100, 0);
  });

  it('parsl-versions', async () => {
    expect(pick(await run('parsl-versions'), 'parsl_version', 'runs', 'apps')).toEqual([
      [r2, '3', '107'],
      [r1, '3', '50'],
      ['1.2.0', '1', '10'],
    ]);
  });

  it('platforms', async () => {
    expect(pick(await run('platforms'), 'platform', 'runs')).toEqual([
      ['Linux', '6'],
      ['Darwin', '1'],
    ]);
  });

  it('components', async () => {
    expect(pick(await run('components'), 'kind', 'component', 'runs', 'pct_of_level_2_3_runs')).toEqual([
      ['executor', 'HighThroughputExecutor', '4', '66.7'],
      ['executor', 'ThreadPoolExecutor', '1', '16.7'],
      ['executor', 'WorkQueueExecutor', '1', '16.7'],
      ['launcher', 'SingleNodeLauncher', '2', '33.3'],
      ['launcher', 'SrunLauncher', '2', '33.3'],
      ['launcher', 'MpiExecLauncher', '1', '16.7'],
      ['provider', 'LocalProvider', '2', '33.3'],
      ['provider', 'SlurmProvider', '2', '33.3'],
      ['provider', 'PBSProProvider', '1', '16.7'],
    ]);
  });

  it('executors-by-platform (workflows_current, FINAL inside a view, as analyst)', async () => {
    expect(pick(await run('executors-by-platform'), 'platform', 'executor', 'runs')).toEqual([
      ['Linux', 'HighThroughputExecutor', '4'],
      ['Linux', 'ThreadPoolExecutor', '1'],
      ['Linux', 'WorkQueueExecutor', '1'],
    ]);
  });

  it('installation-age', async () => {
    expect(pick(await run('installation-age'), 'age_weeks', 'runs')).toEqual([
      ['-1', '1'],
      ['2', '3'],
      ['6', '1'],
      ['7', '2'],
    ]);
    const [q] = await run('installation-age-quantiles');
    expect(q?.runs_with_known_age).toBe('6');
    // known ages are 16, 17, 19, 48, 50, 54 days
    expect([17, 19, 48]).toContain(Number(q?.median_age_days));
    expect([50, 54]).toContain(Number(q?.p90_age_days));
  });

  it('release adoption: days until half of the runs', async () => {
    expect(pick(await run('release-half-adoption'), 'release', 'days_to_half', 'max_share')).toEqual([
      [r2, '16', '1'],
      [r1, '20', '1'],
    ]);
    // weeks since r2: days 8 and 10 are week 1 (0 of 2 runs newer), days 14..19 week 2 (3 of 5);
    // r1's first runs after release are in week 2 (day 20, on r1)
    expect(pick(await run('release-half-adoption-weekly'), 'release', 'weeks_to_half', 'max_share')).toEqual([
      [r2, '2', '0.6'],
      [r1, '2', '1'],
    ]);
    const latest = await run('release-adoption-latest');
    // runs on days -12, -10, -6 are on an older release, days -4, -3 and -1 on r2, day -2 on 1.2.0
    expect(pick(latest, 'release', 'days_since_release', 'runs', 'newer_runs', 'share')).toEqual([
      [r2, '8', '1', '0', '0'],
      [r2, '10', '1', '0', '0'],
      [r2, '14', '1', '0', '0'],
      [r2, '16', '1', '1', '1'],
      [r2, '17', '1', '1', '1'],
      [r2, '18', '1', '0', '0'],
      [r2, '19', '1', '1', '1'],
    ]);
  });

  it('release-weeks-to-half: calendar weeks, as counted here from the fixture', async () => {
    // current facts of every non-test run, then every release against every calendar week
    const current = cookbookHistory(now)
      .map((versions) => versions[versions.length - 1]!)
      .filter((f) => f.is_test === 0);
    const weeks = new Map<string, string[]>();
    const releases = new Map<string, string>();
    for (const f of current) {
      const w = mondayOf(f.day);
      weeks.set(w, [...(weeks.get(w) ?? []), f.parsl_release_date]);
      if (f.parsl_release_date !== '1970-01-01') releases.set(f.parsl_version, f.parsl_release_date);
    }
    const expected = [...releases]
      .sort(([, a], [, b]) => (a < b ? 1 : -1))
      .map(([version, date]) => {
        let first = -1;
        for (const [w, dates] of weeks) {
          const k = daysBetween(mondayOf(date), w) / 7;
          const newer = dates.filter((d) => d >= date).length;
          if (k >= 0 && 2 * newer >= dates.length && (first < 0 || k < first)) first = k;
        }
        return [version, String(first)];
      });
    expect(expected).toHaveLength(2);
    expect(pick(await run('release-weeks-to-half'), 'release', 'weeks_to_half')).toEqual(expected);
  });

  it('workflows-30d', async () => {
    expect(await run('workflows-30d')).toEqual([
      {
        runs: '7',
        launched: '2',
        running: '0',
        unfinished: '1',
        completed: '4',
        closure_only: '0',
        points: '12',
        apps: '167',
        app_fails: '8',
      },
    ]);
  });

  it('workflows-monthly and workflows-weekly add up', async () => {
    const monthly = await run('workflows-monthly');
    expect(monthly.reduce((n, r) => n + Number(r.runs), 0)).toBe(8);
    expect(monthly.reduce((n, r) => n + Number(r.apps), 0)).toBe(167);
    const weekly = await run('workflows-weekly');
    expect(weekly.reduce((n, r) => n + Number(r.runs), 0)).toBe(8);
  });

  it('execution-time quantiles are within the stated +-9.5 %', async () => {
    const [q] = await run('execution-time');
    expect(q?.runs).toBe('4');
    // execution times 0.4 s, 30 s, 300 s, 7200 s: the median is 30 s, p90 7200 s
    expect(Math.abs(Number(q?.p50_s) / 30 - 1)).toBeLessThanOrEqual(0.095);
    expect(Math.abs(Number(q?.p90_s) / 7200 - 1)).toBeLessThanOrEqual(0.095);
  });

  it('unfinished-by-version', async () => {
    expect(pick(await run('unfinished-by-version'), 'parsl_version', 'unfinished_runs')).toEqual([[r1, '1']]);
  });

  it('leaderboards', async () => {
    expect(
      pick(await run('leaderboard-365d'), 'project_name', 'runs', 'points', 'first_day', 'last_day'),
    ).toEqual([
      ['alpha', '3', '5', daysAgo(40, now), daysAgo(3, now)],
      ['beta', '2', '3', daysAgo(12, now), daysAgo(4, now)],
      ['gamma', '1', '2', daysAgo(1, now), daysAgo(1, now)],
    ]);
    expect(pick(await run('leaderboard-all-time'), 'project_name', 'runs', 'points', 'active_days')).toEqual([
      ['alpha', '3', '5', '3'],
      ['beta', '2', '3', '2'],
      ['gamma', '1', '2', '1'],
    ]);
  });

  it('funders-12m', async () => {
    expect(await run('funders-12m')).toEqual([
      {
        runs_12m: '8',
        runs_prev_12m: '1',
        runs_growth_pct: '700',
        apps_12m: '167',
        apps_prev_12m: '0',
        named_projects_12m: '3',
        parsl_versions_12m: '3',
      },
    ]);
  });

  it.each([
    ['month', { month: daysAgo(3, now).slice(0, 7) }],
    ['year', { year: daysAgo(3, now).slice(0, 4) }],
  ])('the funders report (%s) runs as analyst and agrees with the fixture', async (_what, spec) => {
    const { period, previous } = periodsFor(spec);
    const input = await fetchReportInput(analyst, 'parsl_usage', period, previous);
    const runsIn = (p: Period) =>
      log.workflows().filter((w) => w.is_test === 0 && w.day >= p.start && w.day < p.end);
    const sum = (p: Period, f: (w: ReturnType<typeof runsIn>[number]) => number) =>
      runsIn(p).reduce((n, w) => n + f(w), 0);
    expect(runsIn(period).length).toBeGreaterThan(0);
    expect(input.totals).toEqual({
      runs: runsIn(period).length,
      runsWithClosure: runsIn(period).filter((w) => w.has_closure === 1).length,
      unfinished: runsIn(period).filter((w) => w.status === 'running' && w.day < daysAgo(7, now)).length,
      apps: sum(period, (w) => w.app_count),
      appFails: sum(period, (w) => w.app_fails),
      points: sum(period, (w) => w.points),
      namedProjects: new Set(
        runsIn(period)
          .map((w) => w.project_name)
          .filter(Boolean),
      ).size,
    });
    expect(input.previousTotals.runs).toBe(runsIn(previous).length);
    expect(input.pythonVersions.reduce((n, r) => n + r.runs, 0)).toBe(runsIn(period).length);
    expect(input.leaderboard.map((p) => p.points)).toEqual(
      [...input.leaderboard.map((p) => p.points)].sort((a, b) => b - a),
    );
    const md = renderReport(input).markdown;
    expect(md).toContain(`| Workflow runs | ${runsIn(period).length} |`);
  });
});
