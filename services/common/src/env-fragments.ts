import { z } from 'zod';

/**
 * The environment variables every service and CLI reads the same way, defined once. Each
 * config composes these with its own variables (services' config.ts, the CLIs' cli-frame.ts).
 */

/** A ClickHouse database or table name: it is interpolated into SQL, so never free text. */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const sqlIdentifier = z.string().regex(SQL_IDENTIFIER, 'must be an SQL identifier');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** pino's levels; `info` when unset. */
export const logLevel = z
  .enum(LOG_LEVELS)
  .default('info')
  .describe('pino log level; debug or trace also print stack traces');

/** A TCP or UDP port; 0 asks the system for a free one. */
export const port = z.coerce.number().int().min(0).max(65_535);

export const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/** A Kafka topic name as the broker accepts it. */
export const kafkaTopic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name');

const HOST_PORT = /^[^\s:,]+:\d{1,5}$/;
/** KAFKA_BROKERS: a comma-separated list of host:port (blanks around entries ignored). */
export const kafkaBrokers = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b.length > 0),
  )
  .refine((list) => list.length > 0 && list.every((b) => HOST_PORT.test(b)), {
    message: 'expected a comma-separated list of host:port',
  });

/**
 * CLICKHOUSE_URL, _USER, _PASSWORD (or _PASSWORD_FILE), _DATABASE, with the given user's local
 * development defaults.
 */
export function clickhouseConnection(defaults: { user: string; password: string }) {
  return {
    CLICKHOUSE_URL: z
      .string()
      .url('must be a URL')
      .default('http://127.0.0.1:8123')
      .describe("ClickHouse's HTTP interface"),
    CLICKHOUSE_USER: z.string().min(1).default(defaults.user).describe('ClickHouse user (docs/SECURITY.md)'),
    CLICKHOUSE_PASSWORD: z
      .string()
      .default(defaults.password)
      .describe('its password; the default is the local development one'),
    CLICKHOUSE_PASSWORD_FILE: z
      .string()
      .optional()
      .describe('a file holding CLICKHOUSE_PASSWORD (one trailing newline dropped); not both'),
    CLICKHOUSE_DATABASE: sqlIdentifier.default('parsl_usage').describe('database of the pipeline tables'),
  };
}
