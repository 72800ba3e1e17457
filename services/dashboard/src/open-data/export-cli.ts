/**
 * `npm run export -- --out DIR [--withdraw REASON]`: the daily open-data files (export-run.ts),
 * read from ClickHouse with the dashboard's own connection and K (config.ts), so the files and
 * the dashboard publish under one rule.
 */
import { createClient } from '@clickhouse/client';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { UsageError, checkArgs, runCli, type CliOptions } from '@parsl-usage/common/cli-frame';
import { clickhouseQuery } from '../clickhouse-query.js';
import { ConfigError, loadConfig } from '../config.js';
import { dayOf } from '../dates.js';
import { exportOpenData, type ExportResult } from './export-run.js';

const HELP = `usage: export-cli --out DIR [--withdraw REASON] [--settle-days N]

Writes one CSV and one Parquet file per daily rollup and closed UTC day (today is open and
never exported) into DIR/<rollup>/<day>.csv|.parquet, and DIR/manifest.json (schemas, row
counts, sha256). Files of a closed day are never rewritten; only the days missing a file are
read. After \`npm run forget-project\`, run it with --withdraw REASON: every closed day is read
again, each file whose content changed is replaced, and the manifest records the earlier
sha256 as withdrawn with the day and REASON. REASON is published: do not name the project.
--settle-days N: export a day only N days after it ended (default 0), so that closures arriving
late are in its files.

Environment (the dashboard's, docs/CONFIGURATION.md): DASH_CLICKHOUSE_URL, DASH_CLICKHOUSE_USER,
DASH_CLICKHOUSE_PASSWORD (or _FILE), DASH_CLICKHOUSE_DATABASE, DASH_CLICKHOUSE_TIMEOUT_MS,
DASH_PUBLIC_MIN_RUNS (K: a project name is published only with at least K runs that day).
Exit codes: 0 done, 1 failed, 2 bad arguments or environment.`;

const OPTIONS: CliOptions = {
  out: { type: 'string' },
  withdraw: { type: 'string' },
  'settle-days': { type: 'string' },
};

const argsSchema = z.object({
  out: z.string({ required_error: '--out DIR is required' }).min(1, '--out DIR is required'),
  withdraw: z
    .string()
    .trim()
    .min(1, '--withdraw needs a reason')
    .max(200, '--withdraw: at most 200 characters')
    .optional(),
  'settle-days': z
    .string()
    .regex(/^\d{1,2}$/, '--settle-days must be a whole number of days, 0 to 99')
    .transform(Number)
    .default('0'),
});

function summary(r: ExportResult): string {
  return (
    `closed through ${r.closedThrough}: ${r.daysComputed} days read, ${r.written} files written, ` +
    `${r.kept} unchanged, ${r.replaced} replaced, ${r.withdrawn} withdrawn`
  );
}

async function run(values: Record<string, unknown>): Promise<void> {
  const args = checkArgs(argsSchema, values);
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const client = createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.user,
    password: config.clickhouse.password,
    database: config.clickhouse.database,
    request_timeout: config.clickhouse.timeoutMs,
  });
  try {
    const result = await exportOpenData({
      out: resolve(args.out),
      database: config.clickhouse.database,
      k: config.publicMinRuns,
      today: dayOf(Date.now()),
      settleDays: args['settle-days'],
      query: clickhouseQuery(client),
      ...(args.withdraw === undefined ? {} : { withdraw: args.withdraw }),
    });
    process.stdout.write(`${summary(result)}\n`);
    if (result.drift.length > 0) {
      process.stderr.write(
        `export: ${result.drift.length} closed-day files differ from the rollups now and were kept ` +
          `(first: ${result.drift[0]}); after a forget-project, run again with --withdraw REASON\n`,
      );
    }
  } finally {
    await client.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCli({ name: 'export', help: HELP, options: OPTIONS, run });
}
