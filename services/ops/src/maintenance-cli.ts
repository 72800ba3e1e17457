import type { ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';
import {
  LOCAL_DEV_USERS,
  checkArgs,
  clickhouseClient,
  clickhouseEnv,
  runCli,
  type CliOptions,
  type ClickHouseEnv,
} from '@parsl-usage/common';

const ENV_HELP = `Environment: CLICKHOUSE_URL (http://127.0.0.1:8123), CLICKHOUSE_USER (admin),
CLICKHOUSE_PASSWORD (local dev default admin-dev-password), CLICKHOUSE_DATABASE (parsl_usage),
LOG_LEVEL (debug: stack traces on errors).
Exit codes: 0 done, 1 failed, 2 bad arguments or environment.`;

/**
 * The frame every maintenance command shares (cli-frame.ts): arguments and environment checked
 * (exit 2), a ClickHouse client as admin for the work, exit 1 when the work throws, the client
 * closed whatever happens. The work sets any other exit code itself.
 */
export async function runMaintenanceCommand<A>(cmd: {
  name: string;
  options: CliOptions;
  args: z.ZodType<A, z.ZodTypeDef, unknown>;
  /** usage line and what the command does, for --help */
  usage: string;
  /** ms; mutations and rebuilds can take long */
  requestTimeoutMs?: number;
  run: (c: { args: A; env: ClickHouseEnv; client: ClickHouseClient }) => Promise<void>;
}): Promise<void> {
  await runCli({
    name: cmd.name,
    help: `${cmd.usage}\n\n${ENV_HELP}`,
    options: cmd.options,
    run: async (values) => {
      const args = checkArgs(cmd.args, values);
      const env = clickhouseEnv(process.env, LOCAL_DEV_USERS.admin);
      const client = clickhouseClient(env, cmd.requestTimeoutMs);
      try {
        await cmd.run({ args, env, client });
      } finally {
        await client.close();
      }
    },
  });
}
