/** The dashboard's settings: the DASH_* environment, validated, as one nested object. */
import { z } from 'zod';
import { bool, logLevel, parseEnv, port, sqlIdentifier } from '@parsl-usage/common';

export { ConfigError } from '@parsl-usage/common';

/** Exported for docs/CONFIGURATION.md, which kit/src/config-reference.ts makes from it. */
/**
 * K of the privacy rule (docs/PRIVACY.md): a project name is published only when at least this many
 * distinct runs used it in the period; the API and the open-data export read the same variable.
 */
export const publicMinRuns = z.coerce
  .number()
  .int()
  .min(1)
  .max(1_000_000)
  .default(5)
  .describe('K: a project name is published only when at least K distinct runs used it in the period');

/**
 * Requests one client (IP) may make to /api/v1 per minute before it gets a 429; the page makes
 * 14 per load, so the default leaves a visitor some 20 loads a minute.
 */
export const apiRatePerMinute = z.coerce
  .number()
  .int()
  .min(1)
  .max(1_000_000)
  .default(300)
  .describe('requests per minute one client address may make to /api/v1 before a 429');

export const dashboardEnvSchema = z.object({
  DASH_CLICKHOUSE_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:8123')
    .describe("ClickHouse's HTTP interface"),
  // Its own read-only user with its own caps, so analysts cannot starve the page (docs/SECURITY.md);
  // the password default is the local development one.
  DASH_CLICKHOUSE_USER: z
    .string()
    .min(1)
    .default('dashboard')
    .describe("read-only ClickHouse user with the dashboard's own limits (docs/SECURITY.md)"),
  DASH_CLICKHOUSE_PASSWORD: z
    .string()
    .default('dashboard-dev-password')
    .describe('its password; the default is the local development one'),
  DASH_CLICKHOUSE_PASSWORD_FILE: z
    .string()
    .optional()
    .describe('a file holding DASH_CLICKHOUSE_PASSWORD (one trailing newline dropped); not both'),
  // Interpolated into SQL as `db.table`, so it must be an identifier, never free text.
  DASH_CLICKHOUSE_DATABASE: sqlIdentifier.default('parsl_usage').describe('database of the pipeline tables'),
  /** ms; the dashboard profile stops queries at 30 s, so waiting longer gains nothing. */
  DASH_CLICKHOUSE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(120_000)
    .default(35_000)
    .describe('ms a ClickHouse request may take'),
  DASH_HTTP_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('address of the page, the API and /metrics; put a TLS proxy in front (docs/DEPLOYMENT.md)'),
  DASH_HTTP_PORT: port.default(8080).describe('port of the page, the API and /metrics'),
  /** ms an API answer is served from memory before ClickHouse is asked again. */
  DASH_CACHE_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .default(60_000)
    .describe('ms an API answer is served from memory before ClickHouse is asked again'),
  /** answers kept at most (each is one panel for one parameter set; a few kB to a few hundred kB). */
  /**
   * Compute the page's default view at start and renew it every half DASH_CACHE_TTL_MS, so a
   * visitor never waits for ClickHouse for it (off when the TTL is 0).
   */
  DASH_WARM: bool
    .default('true')
    .describe('compute the default view at start and renew it every half DASH_CACHE_TTL_MS'),
  DASH_CACHE_MAX_ENTRIES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1_000)
    .describe('API answers kept in memory at most (one panel for one parameter set each)'),
  DASH_PUBLIC_MIN_RUNS: publicMinRuns,
  DASH_DATA_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'directory of the open-data export (npm run export), served under /data/; unset: /data/ answers 404',
    ),
  DASH_API_RATE_PER_MINUTE: apiRatePerMinute,
  LOG_LEVEL: logLevel,
});

/** The environment as validated, by variable name (the schema's output). */
export type DashboardEnv = z.infer<typeof dashboardEnvSchema>;

export interface DashboardConfig {
  clickhouse: {
    url: string;
    user: string;
    password: string;
    /** checked identifier: interpolated into SQL as `db.table` */
    database: string;
    timeoutMs: number;
  };
  http: { host: string; port: number };
  cache: { ttlMs: number; maxEntries: number };
  /** keep the page's default view computed ahead of visitors */
  warm: boolean;
  /** K of the privacy rule (docs/PRIVACY.md) */
  publicMinRuns: number;
  api: { ratePerMinute: number };
  /** the open-data export's directory, served under /data/; undefined: /data/ answers 404 */
  dataDir: string | undefined;
  logLevel: DashboardEnv['LOG_LEVEL'];
}

/**
 * Validates the environment; one error lists every bad variable. Pure over `env` (through
 * common's parseEnv: empty strings count as unset).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): DashboardConfig {
  const c = parseEnv('dashboard', dashboardEnvSchema, env);
  return {
    clickhouse: {
      url: c.DASH_CLICKHOUSE_URL,
      user: c.DASH_CLICKHOUSE_USER,
      password: c.DASH_CLICKHOUSE_PASSWORD,
      database: c.DASH_CLICKHOUSE_DATABASE,
      timeoutMs: c.DASH_CLICKHOUSE_TIMEOUT_MS,
    },
    http: { host: c.DASH_HTTP_HOST, port: c.DASH_HTTP_PORT },
    cache: { ttlMs: c.DASH_CACHE_TTL_MS, maxEntries: c.DASH_CACHE_MAX_ENTRIES },
    warm: c.DASH_WARM,
    publicMinRuns: c.DASH_PUBLIC_MIN_RUNS,
    api: { ratePerMinute: c.DASH_API_RATE_PER_MINUTE },
    dataDir: c.DASH_DATA_DIR,
    logLevel: c.LOG_LEVEL,
  };
}
