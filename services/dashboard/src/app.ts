/** The dashboard assembled: its parts wired together and the HTTP server's lifecycle. */
import type { Server } from 'node:http';
import { v1Api } from './api-v1/handler.js';
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { countedQuery, UNHEALTHY_AFTER_FAILURES } from './counted-query.js';
import { defaultViewWarmer, warmerHealth } from './default-view-warmer.js';
import { close, listen } from './http-server.js';
import { PanelAnswers } from './panel-answer-cache.js';
import { panelApi } from './panel-api-handler.js';
import type { QueryFn } from './panel-computation.js';
import { closureMetrics } from './closure-metrics.js';
import { apiRatePerMinute } from './config.js';
import { releaseHealthMetrics } from './release-health-metrics.js';
import { requestHandler } from './request-handler.js';
import { StaticAssets } from './static-assets.js';
import { systemClock, type WarmerClock } from './warm-scheduler.js';

export interface DashboardDeps {
  config: {
    httpHost: string;
    httpPort: number;
    /** checked identifier (config.ts) */
    database: string;
    cacheTtlMs: number;
    cacheMaxEntries: number;
    unfinishedAfterDays: number;
    /** keep the page's default view computed ahead of visitors (needs cacheTtlMs > 0); default off */
    warm?: boolean;
    /** K of the privacy rule (privacy.ts, DASH_PUBLIC_MIN_RUNS); 1 (every project named) if absent */
    publicMinRuns?: number;
    /** /api/v1 requests per minute per client (DASH_API_RATE_PER_MINUTE); its default if absent */
    apiRatePerMinute?: number;
    /** the open-data export's directory, served under /data/ (unset: 404) */
    dataDir?: string;
  };
  logger: Logger;
  /** every ClickHouse read goes through here */
  query: QueryFn;
  metrics: Metrics;
  now?: () => number;
  /** the warmer's timers (tests inject one); the system clock by default */
  clock?: WarmerClock;
}

export interface DashboardApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  isHealthy(): boolean;
  /** the port the server listens on (after start) */
  readonly httpPort: number;
}

/**
 * The dashboard: its parts wired together (`wire` below), and the server's lifecycle. Stopping
 * waits for a warm-up round in flight, then closes every connection.
 */
export function createApp(deps: DashboardDeps): DashboardApp {
  const { config, logger } = deps;
  let server: Server | null = null;
  let port = 0;
  let running = false;
  const parts = wire(deps, () => running);
  return {
    get httpPort() {
      return port;
    },
    isHealthy: parts.isHealthy,
    async start() {
      await parts.assets.load();
      ({ server, port } = await listen(parts.handler, config.httpHost, config.httpPort));
      running = true;
      logger.info({ host: config.httpHost, port, warm: parts.warmer !== null }, 'dashboard listening');
      parts.warmer?.start();
    },
    async stop() {
      await parts.warmer?.stop();
      const s = server;
      server = null;
      running = false;
      if (s) await close(s);
    },
  };
}

/** The dashboard's parts: ClickHouse reads counted, answers cached, the warmer, request handling. */
function wire(deps: DashboardDeps, isRunning: () => boolean) {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const clickhouse = countedQuery(deps.query, metrics);
  const answers = new PanelAnswers({ ...config, query: clickhouse.query, now });
  const answer = answers.get.bind(answers);
  const clock = deps.clock ?? systemClock;
  const warmer = defaultViewWarmer({
    ...config,
    refresh: answers.refresh.bind(answers),
    clock,
    now,
    metrics,
    logger,
  });
  const releaseHealth = releaseHealthMetrics({ answer, metrics, logger, now });
  const closures = closureMetrics({
    answer,
    metrics,
    logger,
    now,
    unfinishedAfterDays: config.unfinishedAfterDays,
  });
  const assets = new StaticAssets();
  const isHealthy = (): boolean => isRunning() && clickhouse.consecutiveFailures < UNHEALTHY_AFTER_FAILURES;
  const handler = requestHandler({
    logger,
    metrics,
    assets,
    dataDir: config.dataDir,
    api: panelApi({ answer, metrics, cacheTtlMs: config.cacheTtlMs, now }),
    v1: v1Api({
      answer,
      metrics,
      cacheTtlMs: config.cacheTtlMs,
      ratePerMinute: config.apiRatePerMinute ?? apiRatePerMinute.parse(undefined),
      now,
    }),
    health: () => ({
      healthy: isHealthy(),
      running: isRunning(),
      consecutiveFailures: clickhouse.consecutiveFailures,
      cacheEntries: answers.size,
      warmer: warmer ? warmerHealth(warmer) : null,
    }),
    async metricsText() {
      metrics.set('dashboard_cache_entries', 'answers held in the cache', answers.size);
      await Promise.all([releaseHealth(), closures()]);
      return metrics.render();
    },
  });
  return { assets, warmer, isHealthy, handler };
}
