/**
 * The dashboard's public API, side-effect free: what another workspace may build on (no other
 * workspace's shipped code needs more today). The process entry is main.ts; white-box tests,
 * the benchmarks and the kit reach other modules through `@parsl-usage/dashboard/internal/*`.
 */
export { createApp, type DashboardApp, type DashboardDeps } from './app.js';
export { clickhouseQuery } from './clickhouse-query.js';
export { ConfigError, dashboardEnvSchema, loadConfig, type DashboardConfig } from './config.js';
export type { PanelAnswer, QueryFn } from './panel-computation.js';
