import { createClient } from '@clickhouse/client';
import { pino } from 'pino';
import { createApp } from './app.js';
import { clickhouseQuery } from './clickhouse-query.js';
import { loadConfig } from './config.js';
import { Metrics } from './metrics.js';

const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL, base: { service: 'dashboard' } });
const clickhouse = createClient({
  url: config.DASH_CLICKHOUSE_URL,
  username: config.DASH_CLICKHOUSE_USER,
  password: config.DASH_CLICKHOUSE_PASSWORD,
  database: config.DASH_CLICKHOUSE_DATABASE,
  request_timeout: config.DASH_CLICKHOUSE_TIMEOUT_MS,
});
const app = createApp({
  config: {
    httpHost: config.DASH_HTTP_HOST,
    httpPort: config.DASH_HTTP_PORT,
    database: config.DASH_CLICKHOUSE_DATABASE,
    cacheTtlMs: config.DASH_CACHE_TTL_MS,
    cacheMaxEntries: config.DASH_CACHE_MAX_ENTRIES,
    unfinishedAfterDays: config.DASH_UNFINISHED_AFTER_DAYS,
  },
  logger,
  query: clickhouseQuery(clickhouse),
  metrics: new Metrics(),
});

let exiting = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (exiting) return;
    exiting = true;
    logger.info({ signal }, 'shutting down');
    app
      .stop()
      .then(() => clickhouse.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}
await app.start();
