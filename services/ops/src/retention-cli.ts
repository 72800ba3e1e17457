/**
 * Drops the months of raw events (`events`) older than the retention:
 *   CLICKHOUSE_PASSWORD=... node services/ops/dist/retention-cli.js --days 90 [--dry-run]
 * Run it daily (cron or a systemd timer). ClickHouse from CLICKHOUSE_URL, CLICKHOUSE_USER
 * (default admin: DROP PARTITION is DDL), CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE.
 * Exit 0 done, 1 failed, 2 bad arguments. See docs/PRIVACY.md.
 */
import { pathToFileURL } from 'node:url';
import { runMaintenanceCommand } from './clickhouse-admin-command.js';
import { RETENTION_USAGE, retentionArgsSchema } from './retention.js';
import { applyRetention } from './retention-run.js';

async function main(): Promise<void> {
  await runMaintenanceCommand({
    name: 'retention',
    options: { days: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    args: retentionArgsSchema,
    usage: `${RETENTION_USAGE}

Drops the months of raw events older than N days (whole months only);
--dry-run shows what would go. See docs/PRIVACY.md.`,
    run: async ({ args, env, client }) => {
      const r = await applyRetention({
        client,
        database: env.CLICKHOUSE_DATABASE,
        days: args.days,
        dryRun: args['dry-run'],
      });
      process.stdout.write(`${JSON.stringify({ dryRun: args['dry-run'], ...r })}\n`);
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
