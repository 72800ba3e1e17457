/**
 * Backs up what cannot be re-derived (events, workflow_changes, schema_migrations) into a
 * directory, incrementally by month partition; `--verify` checks a backup without a server:
 *   CLICKHOUSE_PASSWORD=... node services/ops/dist/backup-cli.js --dir /var/backups/parsl-usage
 *   node services/ops/dist/backup-cli.js --dir /var/backups/parsl-usage --verify
 * ClickHouse from CLICKHOUSE_URL, CLICKHOUSE_USER (default admin), CLICKHOUSE_PASSWORD,
 * CLICKHOUSE_DATABASE. Safe while the aggregator runs. Exit 0 done, 1 failed (or the backup
 * is damaged), 2 bad arguments. See docs/OPERATIONS.md.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { runCommand } from './backup-command.js';
import { runBackup, verifyBackup } from './backup-run.js';

export const BACKUP_USAGE = `usage: backup-cli --dir DIR [--verify]
  --dir DIR   the backup directory (created if missing; a later run writes only the month
              partitions that changed, then replaces manifest.json)
  --verify    check the backup in DIR (manifest, sizes, sha256, every file parses as gzip
              Native with the manifest's columns and rows); needs no server
  --help      this text`;

export const backupArgsSchema = z.object({
  dir: z.string({ required_error: '--dir DIR is required' }).min(1, '--dir must not be empty'),
  verify: z.boolean().default(false),
});

async function main(): Promise<void> {
  await runCommand({
    name: 'backup',
    options: { dir: { type: 'string' }, verify: { type: 'boolean' } },
    args: backupArgsSchema,
    usage: BACKUP_USAGE,
    run: async ({ args, env, client, http }) => {
      if (args.verify) {
        const r = await verifyBackup(args.dir);
        process.stdout.write(`${JSON.stringify({ verified: r.problems.length === 0, ...r })}\n`);
        if (r.problems.length > 0) {
          for (const p of r.problems) process.stderr.write(`backup: ${p}\n`);
          process.exitCode = 1;
        }
        return;
      }
      const r = await runBackup({
        client,
        http,
        database: env.CLICKHOUSE_DATABASE,
        dir: args.dir,
        log:
          env.LOG_LEVEL === 'info' || env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace'
            ? (m) => process.stderr.write(`backup: ${m}\n`)
            : undefined,
      });
      process.stdout.write(`${JSON.stringify(r)}\n`);
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
