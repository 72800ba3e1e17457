/**
 * Writes the funders' report of a month or a year as Markdown and CSV:
 *   node services/aggregator/dist/report-cli.js --month 2026-10 --out reports/
 *   node services/aggregator/dist/report-cli.js --year 2026 --out reports/
 * ClickHouse from CLICKHOUSE_URL, CLICKHOUSE_USER (default analyst: the report only reads),
 * CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE (default parsl_usage).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import {
  periodsFor,
  renderReport,
  reportQueries,
  type Period,
  type ReportInput,
  type Totals,
} from './report.js';

const USAGE = 'usage: report-cli (--month YYYY-MM | --year YYYY) --out DIR';

const argsSchema = z
  .object({
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, '--month must be YYYY-MM, e.g. 2026-10')
      .optional(),
    year: z
      .string()
      .regex(/^\d{4}$/, '--year must be YYYY, e.g. 2026')
      .optional(),
    out: z.string({ required_error: '--out DIR is required' }).min(1, '--out DIR is required'),
  })
  .refine(
    (a) => (a.month === undefined) !== (a.year === undefined),
    'give exactly one of --month and --year',
  );

const envSchema = z.object({
  CLICKHOUSE_URL: z.string().url('CLICKHOUSE_URL must be a URL').default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().min(1).default('analyst'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'CLICKHOUSE_DATABASE must be an SQL identifier')
    .default('parsl_usage'),
});

export interface ReportOptions {
  period: Period;
  previous: Period;
  out: string;
  clickhouse: { url: string; username: string; password: string; database: string };
}

/** Parses and checks the arguments and environment; throws an Error whose message is for the user. */
export function parseReportArgs(argv: string[], env: Record<string, string | undefined>): ReportOptions {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: { month: { type: 'string' }, year: { type: 'string' }, out: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${USAGE}`);
  }
  const args = argsSchema.safeParse(values);
  if (!args.success) throw new Error(`${args.error.issues.map((i) => i.message).join('; ')}\n${USAGE}`);
  const e = envSchema.safeParse(env);
  if (!e.success) throw new Error(e.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const { period, previous } = periodsFor(
    args.data.month !== undefined ? { month: args.data.month } : { year: args.data.year ?? '' },
  );
  return {
    period,
    previous,
    out: resolve(args.data.out),
    clickhouse: {
      url: e.data.CLICKHOUSE_URL,
      username: e.data.CLICKHOUSE_USER,
      password: e.data.CLICKHOUSE_PASSWORD,
      database: e.data.CLICKHOUSE_DATABASE,
    },
  };
}

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
  const [cur, prev, py, parsl, platforms, components, componentRuns, board] = await Promise.all([
    totals(client, database, period),
    totals(client, database, previous),
    rows(client, q.pythonVersions, countRow),
    rows(client, q.parslVersions, countRow),
    rows(client, q.platforms, countRow),
    rows(client, q.components, componentRow),
    rows(client, q.componentRuns, z.object({ runs: num })),
    rows(client, q.leaderboard, projectRow),
  ]);
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

/** Writes parsl-usage-<label>.md and .csv into opts.out; returns their paths. */
export async function writeReport(opts: ReportOptions): Promise<string[]> {
  const client = createClient({
    url: opts.clickhouse.url,
    username: opts.clickhouse.username,
    password: opts.clickhouse.password,
  });
  try {
    const input = await fetchReportInput(client, opts.clickhouse.database, opts.period, opts.previous);
    const report = renderReport(input);
    await mkdir(opts.out, { recursive: true });
    const base = join(opts.out, `parsl-usage-${opts.period.label}`);
    await writeFile(`${base}.md`, report.markdown);
    await writeFile(`${base}.csv`, report.csv);
    return [`${base}.md`, `${base}.csv`];
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  let opts: ReportOptions;
  try {
    opts = parseReportArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`report: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    for (const f of await writeReport(opts)) process.stdout.write(`${f}\n`);
  } catch (err) {
    process.stderr.write(`report: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
