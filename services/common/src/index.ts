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
export { PipelineError, isRetriable, settleAll, withRetry } from './errors.js';
export { collectProcessMetrics } from './process-metrics.js';
export * from './cli-frame.js';
export { CHROMIUM_PATH, HEADLESS_CHROMIUM_FLAGS } from './chromium.js';
