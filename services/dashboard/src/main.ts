import { createClient } from '@clickhouse/client';
import { pino } from 'pino';
import { SUPERVISOR_RESTARTS_HELP, exitOnSignals, Metrics, supervisorRestarts } from '@parsl-usage/common';
import { createApp } from './app.js';
import { clickhouseQuery } from './clickhouse-query.js';
import { loadConfig } from './config.js';
import { UNFINISHED_AFTER_DAYS } from './unfinished.js';

const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL, base: { service: 'dashboard' } });
const clickhouse = createClient({
  url: config.DASH_CLICKHOUSE_URL,
  username: config.DASH_CLICKHOUSE_USER,
  password: config.DASH_CLICKHOUSE_PASSWORD,
  database: config.DASH_CLICKHOUSE_DATABASE,
  request_timeout: config.DASH_CLICKHOUSE_TIMEOUT_MS,
});
const metrics = new Metrics({ processMetrics: true });
metrics.set('dashboard_supervisor_restarts', SUPERVISOR_RESTARTS_HELP, supervisorRestarts());
const app = createApp({
  config: {
    httpHost: config.DASH_HTTP_HOST,
    httpPort: config.DASH_HTTP_PORT,
    database: config.DASH_CLICKHOUSE_DATABASE,
    cacheTtlMs: config.DASH_CACHE_TTL_MS,
    cacheMaxEntries: config.DASH_CACHE_MAX_ENTRIES,
    warm: config.DASH_WARM,
    publicMinRuns: config.DASH_PUBLIC_MIN_RUNS,
    apiRatePerMinute: config.DASH_API_RATE_PER_MINUTE,
    unfinishedAfterDays: UNFINISHED_AFTER_DAYS,
    dataDir: config.DASH_DATA_DIR,
  },
  logger,
  query: clickhouseQuery(clickhouse),
  metrics,
});

const shutdown = (): Promise<void> => app.stop().then(() => clickhouse.close());
exitOnSignals(logger, shutdown);

// A failed start (the port taken, the page's assets missing) is one line and a non-zero exit for
// the supervisor, as the relay does, not an unhandled rejection's stack trace.
try {
  await app.start();
} catch (err) {
  logger.fatal({ err }, 'dashboard failed to start');
  await shutdown().catch(() => undefined);
  process.exit(1);
}
