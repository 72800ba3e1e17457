import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';
import { parseWith, type MaintenanceEnv } from './forget-project.js';

/**
 * The frame every maintenance command shares: arguments and environment checked together (one
 * message, exit 2), a ClickHouse client for the work, exit 1 when the work throws, the client
 * closed whatever happens. The work sets any other exit code itself.
 */
export async function runMaintenanceCommand<A>(cmd: {
  name: string;
  options: NonNullable<ParseArgsConfig['options']>;
  args: z.ZodType<A, z.ZodTypeDef, unknown>;
  usage: string;
  /** ms; mutations and rebuilds can take long */
  requestTimeoutMs?: number;
  run: (c: { args: A; env: MaintenanceEnv; client: ClickHouseClient }) => Promise<void>;
}): Promise<void> {
  let parsed: { args: A; env: MaintenanceEnv };
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: cmd.options,
      strict: true,
      allowPositionals: false,
    });
    parsed = parseWith(cmd.args, values, process.env, cmd.usage);
  } catch (err) {
    process.stderr.write(`${cmd.name}: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const { args, env } = parsed;
  const client = createClient({
    url: env.CLICKHOUSE_URL,
    username: env.CLICKHOUSE_USER,
    password: env.CLICKHOUSE_PASSWORD,
    ...(cmd.requestTimeoutMs === undefined ? {} : { request_timeout: cmd.requestTimeoutMs }),
  });
  try {
    await cmd.run({ args, env, client });
  } catch (err) {
    process.stderr.write(`${cmd.name}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}
