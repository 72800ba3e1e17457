/**
 * Restores a backup (backup-cli.ts) into an empty ClickHouse and moves the aggregator's
 * consumer group back to the restored data, so Kafka replays the tail exactly once:
 *   CLICKHOUSE_PASSWORD=... node services/ops/dist/restore-cli.js --dir /var/backups/parsl-usage
 * ClickHouse from CLICKHOUSE_URL, CLICKHOUSE_USER (default admin), CLICKHOUSE_PASSWORD,
 * CLICKHOUSE_DATABASE; Kafka from KAFKA_BROKERS, AGG_GROUP_ID, AGG_RAW_TOPIC (the aggregator's
 * variables and defaults). Stop every aggregator first. Exit 0 done, 1 failed or refused,
 * 2 bad arguments. See docs/OPERATIONS.md.
 */
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { runCommand } from './backup-command.js';
import { DEFAULT_MIGRATIONS_DIR, migrationsDirEnv } from '@parsl-usage/aggregator';
import { parseEnv } from '@parsl-usage/common';
import { runRestore } from './restore-run.js';

export const RESTORE_USAGE = `usage: restore-cli --dir DIR [--force] [--from-events] [--no-offsets]
  --dir DIR       the backup directory (checked first: a damaged file refuses the restore)
  --force         empty the database's tables first instead of refusing when they hold data
  --from-events   rebuild the derived tables from events with today's decoding (reprocess)
                  instead of loading the backed-up change log; loses runs whose events
                  retention already dropped
  --no-offsets    leave the consumer group alone (a restore for inspection, not a recovery)
  --help          this text`;

/** What restore reads beside the variables of backup-command.ts (docs/CONFIGURATION.md). */
export const restoreEnvSchema = z.object(migrationsDirEnv);

export const restoreArgsSchema = z.object({
  dir: z.string({ required_error: '--dir DIR is required' }).min(1, '--dir must not be empty'),
  force: z.boolean().default(false),
  'from-events': z.boolean().default(false),
  'no-offsets': z.boolean().default(false),
});

async function main(): Promise<void> {
  await runCommand({
    name: 'restore',
    options: {
      dir: { type: 'string' },
      force: { type: 'boolean' },
      'from-events': { type: 'boolean' },
      'no-offsets': { type: 'boolean' },
    },
    args: restoreArgsSchema,
    usage: RESTORE_USAGE,
    env: (env) => parseEnv('restore', restoreEnvSchema, env),
    run: async ({ args, env, own: { MIGRATIONS_DIR }, client, http }) => {
      const kafka = new Kafka({
        clientId: 'parsl-usage-restore',
        brokers: env.KAFKA_BROKERS,
        logLevel: logLevel.NOTHING,
      });
      const r = await runRestore({
        client,
        http,
        database: env.CLICKHOUSE_DATABASE,
        dir: args.dir,
        migrationsDir: MIGRATIONS_DIR ?? DEFAULT_MIGRATIONS_DIR,
        force: args.force,
        fromEvents: args['from-events'],
        ...(args['no-offsets']
          ? {}
          : { kafka: { kafka, groupId: env.AGG_GROUP_ID, topic: env.AGG_RAW_TOPIC } }),
        log: (m) => process.stderr.write(`restore: ${m}\n`),
      });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      for (const l of r.lost ?? [])
        process.stderr.write(
          `restore: WARNING partition ${l.partition}: offsets ${l.from}-${l.to} (${l.messages} messages) after the backup are no longer in Kafka; they are lost\n`,
        );
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
