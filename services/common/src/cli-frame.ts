/**
 * The one frame of every operator command (`@parsl-usage/common/cli-frame`): `--help`,
 * arguments checked by node:util parseArgs, the environment checked with them, a ClickHouse
 * client closed whatever happens, and one line on stderr for any error (the stack only with
 * LOG_LEVEL=debug or trace). Exit codes: 0 done, 1 failed, 2 bad arguments or environment; a
 * command may set others itself. runCli is the frame; runClickHouseCommand adds the client.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { pickEnv } from './env-config.js';
import { clickhouseConnection, logLevel } from './env-fragments.js';

export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** An error in what the operator gave (arguments, environment): exit 2. */
export class UsageError extends Error {
  /** the message already ends with the usage text: printed whole, without the --help hint */
  readonly withUsage: boolean;
  constructor(message: string, opts: { withUsage?: boolean } = {}) {
    super(message);
    this.withUsage = opts.withUsage ?? false;
  }
}

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

/** The first non-empty line of one error's message, without ClickHouse's server-side stack trace. */
function firstLine(err: unknown): string {
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err);
  const first = raw.split(/\r?\n/).find((l) => l.trim() !== '') ?? raw;
  return first.replace(/,? ?(e\.what\(\) = .*|Stack trace:.*)$/, '').trim();
}

/** An error as one line: its first line, then its causes' (at most 4 in all, none repeated). */
export function oneLine(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; e !== undefined && e !== null && i < 4; i++) {
    const line = firstLine(e);
    if (line && !parts.includes(line)) parts.push(line);
    e = e instanceof Error ? e.cause : undefined;
  }
  return (parts.join(': ') || (err instanceof Error ? err.name : 'error')).slice(0, 500);
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
  /** the work, given the environment to read its config from; it may set process.exitCode itself */
  run: (values: Record<string, unknown>, env: Record<string, string | undefined>) => Promise<void>;
}

/**
 * Runs a command inside the frame; never throws. The frame is where an operator command's
 * environment comes in: the work reads its config from the `env` it is given.
 */
export async function runCli(
  spec: CliSpec,
  argv = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  try {
    const parsed = parseCliArgs(argv, spec.options);
    if (parsed.help) {
      process.stdout.write(`${spec.help.trim()}\n`);
      return;
    }
    await spec.run(parsed.values, env);
  } catch (err) {
    process.stderr.write(`${spec.name}: ${errorLine(err)}\n`);
    if (isDebug(env.LOG_LEVEL) && err instanceof Error && err.stack) {
      process.stderr.write(`${err.stack}\n`);
    }
    process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  }
}

function errorLine(err: unknown): string {
  if (!(err instanceof UsageError)) return oneLine(err);
  return err.withUsage ? err.message : `${oneLine(err)} (see --help)`;
}

/** A command that works on ClickHouse: runCli with its arguments, environment and client typed. */
export interface ClickHouseCommand<A, E> {
  name: string;
  help: string;
  options: CliOptions;
  /** arguments and environment, checked together; a UsageError for what the operator gave */
  parse: (values: Record<string, unknown>, env: Record<string, string | undefined>) => { args: A; env: E };
  /** the client the work gets, closed when it ends */
  client: (env: E) => ClickHouseClient;
  /** the work; it may set process.exitCode itself */
  run: (c: { args: A; env: E; client: ClickHouseClient }) => Promise<void>;
}

/** Runs a ClickHouse command inside the frame; never throws. */
export async function runClickHouseCommand<A, E>(
  cmd: ClickHouseCommand<A, E>,
  argv = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): Promise<void> {
  await runCli(
    {
      name: cmd.name,
      help: cmd.help,
      options: cmd.options,
      run: async (values, env) => {
        const { args, env: checked } = cmd.parse(values, env);
        const client = cmd.client(checked);
        try {
          await cmd.run({ args, env: checked, client });
        } finally {
          await client.close();
        }
      },
    },
    argv,
    env,
  );
}
