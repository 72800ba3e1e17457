/**
 * Deletes everything of one project on request (rows of its workflows in events,
 * workflow_changes and workflow_versions; its contribution to every rollup):
 *   CLICKHOUSE_PASSWORD=... node services/ops/dist/forget-project-cli.js --project NAME
 * ClickHouse from CLICKHOUSE_URL, CLICKHOUSE_USER (default admin: needs DDL and mutations),
 * CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE (default parsl_usage); MIGRATIONS_DIR overrides
 * where the rollup views' SELECTs are read from. Exit 0 done, 1 failed, 2 bad arguments,
 * 3 done but rows of the project arrived meanwhile (run again). See docs/PRIVACY.md.
 */
import { pathToFileURL } from 'node:url';
import { FORGET_USAGE, forgetArgsSchema } from './forget-project.js';
import { forgetProject } from './forget-project-run.js';
import { runMaintenanceCommand } from './clickhouse-admin-command.js';
import { DEFAULT_MIGRATIONS_DIR, migrationsDirEnv } from '@parsl-usage/aggregator';
import { parseEnv } from '@parsl-usage/common';
import { UsageError } from '@parsl-usage/common/cli-frame';
import { z } from 'zod';

/** What forget-project reads beside the ClickHouse connection (docs/CONFIGURATION.md). */
export const forgetEnvSchema = z.object(migrationsDirEnv);

async function main(): Promise<void> {
  await runMaintenanceCommand({
    name: 'forget-project',
    options: { project: { type: 'string' } },
    args: forgetArgsSchema,
    usage: `${FORGET_USAGE}

Removes everything of one project (events, workflow_changes, workflow_versions,
its share of every rollup). Exit 3: done, but rows of the project arrived meanwhile
(run it again). See docs/PRIVACY.md.`,
    requestTimeoutMs: 3_600_000,
    env: (env) => parseEnv('forget-project', forgetEnvSchema, env, (m) => new UsageError(m)),
    run: async ({ args, env, own: { MIGRATIONS_DIR }, client }) => {
      const r = await forgetProject({
        client,
        database: env.CLICKHOUSE_DATABASE,
        project: args.project,
        migrationsDir: MIGRATIONS_DIR ?? DEFAULT_MIGRATIONS_DIR,
        log: (m) => process.stderr.write(`forget-project: ${m}\n`),
      });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      if (Object.values(r.leftovers).some((n) => n > 0)) {
        process.stderr.write('forget-project: rows of the project arrived during the run; run it again\n');
        process.exitCode = 3;
      }
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
