/**
 * Runs the report's queries (report.ts, report-history.ts) as any user that may read the
 * analyst views, and checks what comes back.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { historyQueries, trendWindow, type ReportHistory } from './report-history.js';
import { reportQueries, type Period, type ReportInput, type Totals } from './report.js';

// 18.16 quotes 64-bit integers in JSON and sums of an empty set may come back as 0 or null.
const num = z.union([z.number(), z.string(), z.null()]).transform((v) => (v === null ? 0 : Number(v)));
const totalsRow = z.object({
  runs: num,
  runs_with_closure: num,
  unfinished_runs: num,
  app_count: num,
  app_fail_count: num,
  point_count: num,
  named_projects: num,
});
const countRow = z.object({ name: z.string(), runs: num });
const componentRow = z.object({
  kind: z.enum(['executor', 'provider', 'launcher']),
  component: z.string(),
  runs: num,
});
const projectRow = z.object({ project: z.string(), run_count: num, point_count: num });

async function rows<T>(
  client: ClickHouseClient,
  query: string,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return z.array(schema).parse(await rs.json());
}

/**
 * One query at a time: the analyst may run at most 4 at once (users.d), shared with every other
 * analyst session, and the report's dozen small queries take well under a second in turn.
 */
async function inTurn<T extends readonly unknown[]>(
  ...steps: { [K in keyof T]: () => Promise<T[K]> }
): Promise<T> {
  const out: unknown[] = [];
  for (const step of steps) out.push(await step());
  return out as unknown as T;
}

async function totals(client: ClickHouseClient, database: string, p: Period): Promise<Totals> {
  const [t] = await rows(client, reportQueries(database, p).totals, totalsRow);
  return {
    runs: t?.runs ?? 0,
    runsWithClosure: t?.runs_with_closure ?? 0,
    unfinished: t?.unfinished_runs ?? 0,
    apps: t?.app_count ?? 0,
    appFails: t?.app_fail_count ?? 0,
    points: t?.point_count ?? 0,
    namedProjects: t?.named_projects ?? 0,
  };
}

/** Runs the report's queries (as any user that may read the analyst views). */
export async function fetchReportInput(
  client: ClickHouseClient,
  database: string,
  period: Period,
  previous: Period,
  now = new Date(),
): Promise<ReportInput> {
  const q = reportQueries(database, period);
  const [cur, prev, py, parsl, platforms, components, componentRuns, board] = await inTurn(
    () => totals(client, database, period),
    () => totals(client, database, previous),
    () => rows(client, q.pythonVersions, countRow),
    () => rows(client, q.parslVersions, countRow),
    () => rows(client, q.platforms, countRow),
    () => rows(client, q.components, componentRow),
    () => rows(client, q.componentRuns, z.object({ runs: num })),
    () => rows(client, q.leaderboard, projectRow),
  );
  return {
    period,
    previous,
    totals: cur,
    previousTotals: prev,
    pythonVersions: py,
    parslVersions: parsl,
    platforms,
    components,
    componentRuns: componentRuns[0]?.runs ?? 0,
    leaderboard: board.map((b) => ({ project: b.project, runs: b.run_count, points: b.point_count })),
    generatedAt: now.toISOString(),
  };
}

const monthRow = z.object({
  month_start: z.string(),
  runs: num,
  launched_runs: num,
  running_runs: num,
  unfinished_runs: num,
  completed_runs: num,
  closure_only_runs: num,
  app_count: num,
  app_fail_count: num,
  point_count: num,
});
const monthCountRow = z.object({ month_start: z.string(), name: z.string(), runs: num });

/** The twelve months up to the period's end, and what the release and age charts need. */
export async function fetchReportHistory(
  client: ClickHouseClient,
  database: string,
  period: Period,
): Promise<ReportHistory> {
  const q = historyQueries(database, period);
  const [monthly, projects, python, parsl, age, dayRelease] = await inTurn(
    () => rows(client, q.monthly, monthRow),
    () => rows(client, q.monthlyProjects, z.object({ month_start: z.string(), projects: num })),
    () => rows(client, q.python, monthCountRow),
    () => rows(client, q.parsl, monthCountRow),
    () => rows(client, q.installAge, z.object({ age: num, runs: num })),
    () => rows(client, q.dayRelease, z.object({ day_number: num, release_day_number: num, runs: num })),
  );
  const month = (d: string): string => d.slice(0, 7);
  const named = new Map(projects.map((p) => [month(p.month_start), p.projects]));
  const counts = (r: z.infer<typeof monthCountRow>) => ({
    month: month(r.month_start),
    name: r.name,
    runs: r.runs,
  });
  return {
    months: trendWindow(period).months,
    monthly: monthly.map((m) => ({
      month: month(m.month_start),
      runs: m.runs,
      launched: m.launched_runs,
      running: m.running_runs,
      unfinished: m.unfinished_runs,
      completed: m.completed_runs,
      closureOnly: m.closure_only_runs,
      apps: m.app_count,
      appFails: m.app_fail_count,
      points: m.point_count,
      namedProjects: named.get(month(m.month_start)) ?? 0,
    })),
    python: python.map(counts),
    parsl: parsl.map(counts),
    installAge: age.map((a) => ({ ageDays: a.age, runs: a.runs })),
    dayRelease: dayRelease.map((d) => ({ day: d.day_number, release: d.release_day_number, runs: d.runs })),
  };
}
