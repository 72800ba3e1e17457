// The frame of the commands that run as ClickHouse admin (forget-project, retention): env, client, exit codes.
import type { ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';
import {
  LOCAL_DEV_USERS,
  checkArgs,
  clickhouseClient,
  clickhouseEnv,
  runClickHouseCommand,
  type CliOptions,
  type ClickHouseEnv,
} from '@parsl-usage/common/cli-frame';

const ENV_HELP = `Environment: CLICKHOUSE_URL (http://127.0.0.1:8123), CLICKHOUSE_USER (admin),
CLICKHOUSE_PASSWORD (local dev default admin-dev-password), CLICKHOUSE_DATABASE (parsl_usage),
LOG_LEVEL (debug: stack traces on errors).
Exit codes: 0 done, 1 failed, 2 bad arguments or environment.`;

/**
 * The maintenance commands in the one frame (common's cli-frame.ts): the ClickHouse settings
 * with the admin user's local defaults, and a client as admin for the work.
 */
export async function runMaintenanceCommand<A, X = undefined>(cmd: {
  name: string;
  options: CliOptions;
  args: z.ZodType<A, z.ZodTypeDef, unknown>;
  /** usage line and what the command does, for --help */
  usage: string;
  /** ms; mutations and rebuilds can take long */
  requestTimeoutMs?: number;
  /** the command's own variables, read with the others (its config schema, docs/CONFIGURATION.md) */
  env?: (env: Record<string, string | undefined>) => X;
  run: (c: { args: A; env: ClickHouseEnv; own: X; client: ClickHouseClient }) => Promise<void>;
}): Promise<void> {
  await runClickHouseCommand({
    name: cmd.name,
    help: `${cmd.usage}\n\n${ENV_HELP}`,
    options: cmd.options,
    parse: (values, env) => ({
      args: checkArgs(cmd.args, values),
      env: { clickhouse: clickhouseEnv(env, LOCAL_DEV_USERS.admin), own: cmd.env?.(env) as X },
    }),
    client: ({ clickhouse }) => clickhouseClient(clickhouse, cmd.requestTimeoutMs),
    run: ({ args, env, client }) => cmd.run({ args, env: env.clickhouse, own: env.own, client }),
  });
}
