/**
 * The backup and restore commands in the one frame (common's cli-frame.ts): their environment
 * (ClickHouse as admin, and the aggregator's Kafka group and topic), checked with the
 * arguments, and a ClickHouse client for hours-long requests.
 */
import type { ParseArgsConfig } from 'node:util';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { pickEnv } from '@parsl-usage/common';
import { UsageError, runClickHouseCommand } from '@parsl-usage/common/cli-frame';
import { DEFAULT_IDLE_TIMEOUT_MS, type ClickHouseHttp } from './backup-http.js';

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const backupEnvSchema = z.object({
  CLICKHOUSE_URL: z.string().url('CLICKHOUSE_URL must be a URL').default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().min(1, 'CLICKHOUSE_USER must not be empty').default('admin'),
  CLICKHOUSE_PASSWORD: z.string().default('admin-dev-password').describe('ClickHouse password (admin)'),
  CLICKHOUSE_PASSWORD_FILE: z
    .string()
    .optional()
    .describe('file holding CLICKHOUSE_PASSWORD (one trailing newline dropped); not both'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(identifier, 'CLICKHOUSE_DATABASE must be an SQL identifier')
    .default('parsl_usage'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()))
    .pipe(
      z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'KAFKA_BROKERS must be host:port[,host:port...]')).min(1),
    ),
  AGG_GROUP_ID: z.string().min(1).default('parsl-usage-aggregator'),
  AGG_RAW_TOPIC: z.string().min(1).default('parsl.usage.raw'),
  CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1_000, 'CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS must be at least 1000 (ms)')
    .max(3_600_000, 'CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS must be at most 3600000 (ms)')
    .default(DEFAULT_IDLE_TIMEOUT_MS)
    .describe("ms the backup's and restore's HTTP streams may go without a byte before they fail"),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type BackupEnv = z.infer<typeof backupEnvSchema>;

/** Arguments and environment together: every problem in one message (empty variables count as unset). */
export function parseCommand<A>(
  schema: z.ZodType<A, z.ZodTypeDef, unknown>,
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
  usage: string,
): { args: A; env: BackupEnv } {
  // The common reader: empty variables count as unset, and CLICKHOUSE_PASSWORD_FILE is read.
  const { picked, problems: fileProblems } = pickEnv(Object.keys(backupEnvSchema.shape), env);
  const a = schema.safeParse(values);
  const e = backupEnvSchema.safeParse(picked);
  if (a.success && e.success && fileProblems.length === 0) return { args: a.data, env: e.data };
  const problems = [
    ...fileProblems,
    ...(a.success ? [] : a.error.issues.map((i) => `  ${i.message}`)),
    ...(e.success ? [] : e.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`)),
  ];
  throw new UsageError(`${problems.join('\n')}\n${usage}`, { withUsage: true });
}

/** A client for a month's rebuild or a large insert-select; quiet, as the frame prints the error. */
function backupClient(env: BackupEnv): ClickHouseClient {
  return createClient({
    url: env.CLICKHOUSE_URL,
    username: env.CLICKHOUSE_USER,
    password: env.CLICKHOUSE_PASSWORD,
    request_timeout: 3_600_000, // ms: a month's rebuild or a large insert-select
    // Progress headers keep a long request's connection busy, so no idle timeout cuts it.
    clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000' },
    // The error reaches the user as one line (the frame); the client's own log would add a stack.
    log: { level: debug(env) ? ClickHouseLogLevel.DEBUG : ClickHouseLogLevel.OFF },
  });
}

export async function runCommand<A, X = undefined>(cmd: {
  name: string;
  options: NonNullable<ParseArgsConfig['options']>;
  args: z.ZodType<A, z.ZodTypeDef, unknown>;
  usage: string;
  /** the command's own variables, read after the others (its config schema, docs/CONFIGURATION.md) */
  env?: (env: Record<string, string | undefined>) => X;
  run: (c: {
    args: A;
    env: BackupEnv;
    own: X;
    client: ClickHouseClient;
    http: ClickHouseHttp;
  }) => Promise<void>;
}): Promise<void> {
  await runClickHouseCommand({
    name: cmd.name,
    help: cmd.usage,
    options: cmd.options,
    parse: (values, env) => {
      const { args, env: checked } = parseCommand(cmd.args, values, env, cmd.usage);
      return { args, env: { ...checked, own: cmd.env?.(env) as X } };
    },
    client: backupClient,
    run: ({ args, env: { own, ...env }, client }) =>
      cmd.run({
        args,
        env,
        own,
        client,
        http: {
          url: env.CLICKHOUSE_URL,
          user: env.CLICKHOUSE_USER,
          password: env.CLICKHOUSE_PASSWORD,
          idleTimeoutMs: env.CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS,
        },
      }),
  });
}

function debug(env: BackupEnv): boolean {
  return env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace';
}
