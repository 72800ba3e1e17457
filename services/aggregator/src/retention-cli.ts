/**
 * Drops the months of raw events (`events`) older than the retention:
 *   CLICKHOUSE_PASSWORD=... node services/aggregator/dist/retention-cli.js --days 90 [--dry-run]
 * Run it daily (cron or a systemd timer). ClickHouse from CLICKHOUSE_URL, CLICKHOUSE_USER
 * (default admin: DROP PARTITION is DDL), CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE.
 * Exit 0 done, 1 failed, 2 bad arguments. See docs/PRIVACY.md.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { parseWith } from './forget-project.js';
import { RETENTION_USAGE, retentionArgsSchema } from './retention.js';
import { applyRetention } from './retention-run.js';

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseWith<{ days: number; 'dry-run': boolean }>>;
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { days: { type: 'string' }, 'dry-run': { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
    parsed = parseWith(retentionArgsSchema, values, process.env, RETENTION_USAGE);
  } catch (err) {
    process.stderr.write(`retention: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const { args, env } = parsed;
  const client = createClient({
    url: env.CLICKHOUSE_URL,
    username: env.CLICKHOUSE_USER,
    password: env.CLICKHOUSE_PASSWORD,
  });
  try {
    const r = await applyRetention({
      client,
      database: env.CLICKHOUSE_DATABASE,
      days: args.days,
      dryRun: args['dry-run'],
    });
    process.stdout.write(`${JSON.stringify({ dryRun: args['dry-run'], ...r })}\n`);
  } catch (err) {
    process.stderr.write(`retention: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
