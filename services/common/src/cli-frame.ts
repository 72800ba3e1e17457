/**
 * The frame every operator command shares: `--help`, arguments checked by node:util parseArgs,
 * ClickHouse settings from the environment with per-command local defaults, and one line on
 * stderr for any error (the stack only with LOG_LEVEL=debug or trace). Exit codes: 0 done,
 * 1 failed, 2 bad arguments or environment; a command may set others itself.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { pickEnv } from './env-config.js';
import { clickhouseConnection, logLevel } from './env-fragments.js';

export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error in what the operator gave (arguments, environment): exit 2. */
export class UsageError extends Error {}

export type CliOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * Local development defaults, as shipped in infra/clickhouse/users.d (a deployment sets
 * CLICKHOUSE_USER and CLICKHOUSE_PASSWORD). The report only reads: it runs as analyst.
 */
export const LOCAL_DEV_USERS = {
  admin: { user: 'admin', password: 'admin-dev-password' },
  analyst: { user: 'analyst', password: 'analyst-dev-password' },
} as const;

export interface ClickHouseEnv {
  CLICKHOUSE_URL: string;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD: string;
  CLICKHOUSE_DATABASE: string;
  LOG_LEVEL: string;
}

/** What the operator commands read from the environment (docs/CONFIGURATION.md is made from it). */
export function clickhouseEnvSchema(defaults: { user: string; password: string }) {
  return z.object({ ...clickhouseConnection(defaults), LOG_LEVEL: logLevel });
}

/**
 * ClickHouse settings from env (empty counts as unset, CLICKHOUSE_PASSWORD_FILE read as the
 * password); every bad variable in one UsageError.
 */
export function clickhouseEnv(
  env: Record<string, string | undefined>,
  defaults: { user: string; password: string },
): ClickHouseEnv {
  const schema = clickhouseEnvSchema(defaults);
  const { picked, problems } = pickEnv(Object.keys(schema.shape), env);
  const r = schema.safeParse(picked);
  if (!r.success || problems.length > 0)
    throw new UsageError(
      [
        ...problems.map((p) => p.trim()),
        ...(r.success ? [] : r.error.issues.map((i) => `${String(i.path[0])} ${i.message}`)),
      ].join('; '),
    );
  return r.data;
}

// The client's own log: its warnings at debug, every request at trace, else nothing.
const CLIENT_LOG: Record<string, ClickHouseLogLevel> = {
  debug: ClickHouseLogLevel.WARN,
  trace: ClickHouseLogLevel.DEBUG,
};

/** A client that stays quiet: its own error log would repeat, at length, what we print in one line. */
export function clickhouseClient(env: ClickHouseEnv, requestTimeoutMs?: number): ClickHouseClient {
  return createClient({
    url: env.CLICKHOUSE_URL,
    username: env.CLICKHOUSE_USER,
    password: env.CLICKHOUSE_PASSWORD,
    log: { level: CLIENT_LOG[env.LOG_LEVEL] ?? ClickHouseLogLevel.OFF },
    ...(requestTimeoutMs === undefined ? {} : { request_timeout: requestTimeoutMs }),
  });
}

function isDebug(level: string | undefined): boolean {
  return level === 'debug' || level === 'trace';
}

/** The first line of an error, without ClickHouse's server-side stack trace. */
export function oneLine(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const first = raw.split(/\r?\n/).find((l) => l.trim() !== '') ?? raw;
  const cut = first.replace(/,? ?(e\.what\(\) = .*|Stack trace:.*)$/, '');
  return (cut.trim() || (err instanceof Error ? err.name : 'error')).slice(0, 500);
}

/** Arguments through parseArgs (strict, no positionals); `--help`/`-h` added to every command. */
export function parseCliArgs(
  argv: string[],
  options: CliOptions,
): { help: true } | { help: false; values: Record<string, unknown> } {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError(oneLine(err));
  }
  if (values.help === true) return { help: true };
  delete values.help;
  return { help: false, values };
}

/** zod-checked arguments; every problem in one UsageError. */
export function checkArgs<A>(
  schema: z.ZodType<A, z.ZodTypeDef, unknown>,
  values: Record<string, unknown>,
): A {
  const r = schema.safeParse(values);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

export interface CliSpec {
  /** the name errors start with, e.g. 'report' */
  name: string;
  /** what --help prints: usage line, what it does, environment */
  help: string;
  options: CliOptions;
  /** the work; it may set process.exitCode itself */
  run: (values: Record<string, unknown>) => Promise<void>;
}

/** Runs a command inside the frame; never throws. */
export async function runCli(spec: CliSpec, argv = process.argv.slice(2)): Promise<void> {
  try {
    const parsed = parseCliArgs(argv, spec.options);
    if (parsed.help) {
      process.stdout.write(`${spec.help.trim()}\n`);
      return;
    }
    await spec.run(parsed.values);
  } catch (err) {
    const usage = err instanceof UsageError;
    process.stderr.write(`${spec.name}: ${oneLine(err)}${usage ? ' (see --help)' : ''}\n`);
    if (isDebug(process.env.LOG_LEVEL) && err instanceof Error && err.stack) {
      process.stderr.write(`${err.stack}\n`);
    }
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILED;
  }
}
