/**
 * The runtime platform every service shares. What only some load has its own entry point, so
 * a service loads only what it uses (the relay never loads a ClickHouse client):
 * `@parsl-usage/common/cli-frame` (the operator commands' frame, with @clickhouse/client) and
 * `@parsl-usage/common/chromium` (the report's and the browser tests' Chromium).
 */
export { ConfigError, FILE_SUFFIX, parseEnv, pickEnv } from './env-config.js';
export { Metrics, type MetricsOptions } from './metrics.js';
export { exitOnSignals } from './shutdown.js';
export { SUPERVISOR_RESTARTS_HELP, supervisorEnvSchema, supervisorRestarts } from './supervisor.js';
export {
  LOG_LEVELS,
  SQL_IDENTIFIER,
  bool,
  clickhouseConnection,
  kafkaBrokers,
  kafkaTopic,
  logLevel,
  port,
  sqlIdentifier,
} from './env-fragments.js';
export { OpsServer, type HealthBody, type OpsServerOptions } from './ops-server.js';
export { kafkaLogCreator } from './kafka-log.js';
export { quoteString } from './sql-literal.js';
export { readNumber, readRows } from './clickhouse-rows.js';
export {
  PipelineError,
  STALE_SOCKET_KEEP_ALIVE,
  isConnectionReset,
  isRetriable,
  retryOnReset,
  settleAll,
  withRetry,
} from './errors.js';
export { collectProcessMetrics } from './process-metrics.js';
