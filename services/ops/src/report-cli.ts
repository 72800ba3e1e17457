/**
 * Writes the funders' report of a month or a year as Markdown, CSV, HTML (charts as inline SVG)
 * and PDF (the HTML printed by headless Chromium):
 *   node services/ops/dist/report-cli.js --month 2026-10 --out reports/
 *   node services/ops/dist/report-cli.js --year 2026 --out reports/
 * It only reads: ClickHouse as analyst (local dev default analyst / analyst-dev-password;
 * CLICKHOUSE_USER, CLICKHOUSE_PASSWORD override), CLICKHOUSE_URL, CLICKHOUSE_DATABASE.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { parseEnv } from '@parsl-usage/common';
import {
  LOCAL_DEV_USERS,
  UsageError,
  checkArgs,
  clickhouseClient,
  clickhouseEnv,
  clickhouseEnvSchema,
  parseCliArgs,
  runCli,
  type CliOptions,
} from '@parsl-usage/common/cli-frame';
import { fetchReportHistory, fetchReportInput } from './report-fetch.js';
import type { ReportHistory } from './report-history.js';
import { renderHtml } from './report-html.js';
import { DEFAULT_CHROMIUM, printPdf } from './report-pdf.js';
import { periodsFor, renderReport, type Period, type ReportInput } from './report.js';

// The analytics cookbook test reads the report's figures through this module.
export { fetchReportInput };

const USAGE = 'usage: report-cli (--month YYYY-MM | --year YYYY) --out DIR';

const HELP = `${USAGE}

Writes parsl-usage-<period>.md, .csv, .html and .pdf into DIR: the figures of the month or the
year against the one before, charts of the twelve months up to its end (a year report adds the
year month by month). The PDF is the HTML printed by headless Chromium (REPORT_CHROMIUM,
default ${DEFAULT_CHROMIUM}).

Environment: CLICKHOUSE_URL (http://127.0.0.1:8123), CLICKHOUSE_USER (analyst: the report only
reads), CLICKHOUSE_PASSWORD (local dev default analyst-dev-password), CLICKHOUSE_DATABASE
(parsl_usage), LOG_LEVEL (debug: stack traces on errors).
Exit codes: 0 written, 1 failed, 2 bad arguments or environment.`;

/** What the report reads beside the ClickHouse connection. */
const reportOnlyEnv = z.object({
  REPORT_CHROMIUM: z
    .string()
    .min(1)
    .default(DEFAULT_CHROMIUM)
    .describe('the Chromium (or Chrome) binary that prints the PDF'),
});
/** Every variable of the report (docs/CONFIGURATION.md is made from it). */
export const reportEnvSchema = clickhouseEnvSchema(LOCAL_DEV_USERS.analyst).merge(reportOnlyEnv);

const OPTIONS: CliOptions = { month: { type: 'string' }, year: { type: 'string' }, out: { type: 'string' } };

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

export interface ReportOptions {
  period: Period;
  previous: Period;
  out: string;
  chromium: string;
  clickhouse: { url: string; username: string; password: string; database: string; logLevel: string };
}

/** Checks the arguments and environment; throws a UsageError whose message is for the user. */
export function reportOptions(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
): ReportOptions {
  const args = checkArgs(argsSchema, values);
  const e = clickhouseEnv(env, LOCAL_DEV_USERS.analyst);
  const { period, previous } = periodsFor(
    args.month !== undefined ? { month: args.month } : { year: args.year ?? '' },
  );
  return {
    period,
    previous,
    out: resolve(args.out),
    chromium: parseEnv('report', reportOnlyEnv, env, (m) => new UsageError(m)).REPORT_CHROMIUM,
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      username: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
      logLevel: e.LOG_LEVEL,
    },
  };
}

/** parseArgs, then reportOptions (for tests; --help is the frame's). */
export function parseReportArgs(argv: string[], env: Record<string, string | undefined>): ReportOptions {
  const parsed = parseCliArgs(argv, OPTIONS);
  if (parsed.help) throw new UsageError(USAGE);
  return reportOptions(parsed.values, env);
}

/** Writes parsl-usage-<label>.md, .csv, .html and .pdf into opts.out; returns their paths. */
export async function writeReport(opts: ReportOptions, now = new Date()): Promise<string[]> {
  const client = clickhouseClient({
    CLICKHOUSE_URL: opts.clickhouse.url,
    CLICKHOUSE_USER: opts.clickhouse.username,
    CLICKHOUSE_PASSWORD: opts.clickhouse.password,
    CLICKHOUSE_DATABASE: opts.clickhouse.database,
    LOG_LEVEL: opts.clickhouse.logLevel,
  });
  let input: ReportInput;
  let history: ReportHistory;
  try {
    const db = opts.clickhouse.database;
    input = await fetchReportInput(client, db, opts.period, opts.previous, now);
    history = await fetchReportHistory(client, db, opts.period);
  } finally {
    await client.close();
  }
  const report = renderReport(input);
  await mkdir(opts.out, { recursive: true });
  const base = join(opts.out, `parsl-usage-${opts.period.label}`);
  await writeFile(`${base}.md`, report.markdown);
  await writeFile(`${base}.csv`, report.csv);
  await writeFile(`${base}.html`, renderHtml(input, history));
  await printPdf(`${base}.html`, `${base}.pdf`, opts.chromium);
  return ['md', 'csv', 'html', 'pdf'].map((ext) => `${base}.${ext}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCli({
    name: 'report',
    help: HELP,
    options: OPTIONS,
    run: async (values, env) => {
      for (const f of await writeReport(reportOptions(values, env))) process.stdout.write(`${f}\n`);
    },
  });
}
