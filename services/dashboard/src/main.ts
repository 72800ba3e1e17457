/** The dashboard's process: configuration, ClickHouse client and metrics, the app, signals. */
import { createClient } from '@clickhouse/client';
import { pino } from 'pino';
import { SUPERVISOR_RESTARTS_HELP, exitOnSignals, Metrics, supervisorRestarts } from '@parsl-usage/common';
import { createApp } from './app.js';
import { clickhouseQuery } from './clickhouse-query.js';
import { loadConfig } from './config.js';
import { UNFINISHED_AFTER_DAYS } from './unfinished.js';

const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { service: 'dashboard' } });
const clickhouse = createClient({
  url: config.clickhouse.url,
  username: config.clickhouse.user,
  password: config.clickhouse.password,
  database: config.clickhouse.database,
  request_timeout: config.clickhouse.timeoutMs,
});
const metrics = new Metrics({ processMetrics: true });
metrics.set('dashboard_supervisor_restarts', SUPERVISOR_RESTARTS_HELP, supervisorRestarts());
const app = createApp({
  config: {
    httpHost: config.http.host,
    httpPort: config.http.port,
    database: config.clickhouse.database,
    cacheTtlMs: config.cache.ttlMs,
    cacheMaxEntries: config.cache.maxEntries,
    warm: config.warm,
    publicMinRuns: config.publicMinRuns,
    apiRatePerMinute: config.api.ratePerMinute,
    unfinishedAfterDays: UNFINISHED_AFTER_DAYS,
    dataDir: config.dataDir,
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
