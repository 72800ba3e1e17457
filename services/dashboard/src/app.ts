import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { TtlCache } from './cache.js';
import { toCsv } from './csv.js';
import { addDays, dayOf } from './dates.js';
import { withProcessMetrics, type Metrics, type ProcessMetrics } from '@parsl-usage/common';
import { computePanel, type PanelAnswer, type QueryFn } from './panels.js';
import { PANELS, parsePanelParams, type Panel } from './params.js';
import { route, routeLabel, type Route } from './routes.js';
import { defaultViewRequests } from './default-view.js';
import { createWarmer, systemClock, type Warmer, type WarmerClock } from './warmer.js';

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
  };
  logger: Logger;
  /** every ClickHouse read goes through here */
  query: QueryFn;
  metrics: Metrics;
  now?: () => number;
  /** the warmer's timers (tests inject one); the system clock by default */
  clock?: WarmerClock;
  /** The process's own metrics (CPU, memory, GC, event loop), appended to /metrics. */
  processMetrics?: ProcessMetrics;
}

export interface DashboardApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  isHealthy(): boolean;
  /** the port the server listens on (after start) */
  readonly httpPort: number;
}

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
/** Chart.js's browser build, served from node_modules: the page loads nothing from another host. */
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/static/dashboard.js': { file: join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/static/dashboard.css': { file: join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/static/chart.umd.min.js': { file: CHART_JS, type: 'text/javascript; charset=utf-8' },
};

const SECURITY_HEADERS = {
  // Only this origin, for everything: the page makes no request to another host.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** consecutive failed ClickHouse queries after which /healthz reports unhealthy */
const UNHEALTHY_AFTER_FAILURES = 3;
/**
 * Answers the warmer computes at once: the page's own load asks up to 6 at a time (Chromium's
 * per-host limit), so warming takes at most a third of that, beside real visitors.
 */
const WARM_CONCURRENCY = 2;
/** Days of history the release-health metrics judge (the alert's view of "now"). */
const RELEASE_HEALTH_DAYS = 30;

interface CachedAnswer {
  answer: PanelAnswer & { generatedAt: string };
  json: Buffer;
  csv: Buffer | undefined;
}

export function createApp(deps: DashboardDeps): DashboardApp {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  // Answers are kept serialized: a warm request is then a map look-up and one write, with no
  // JSON.stringify of a panel per reader. CSV is made on first demand and kept beside it.
  const cache = new TtlCache<CachedAnswer>(config.cacheTtlMs, config.cacheMaxEntries, now);
  const files = new Map<string, Buffer>();
  let server: Server | null = null;
  let port = 0;
  let running = false;
  let consecutiveFailures = 0;

  const query: QueryFn = async (sql) => {
    const t0 = performance.now();
    try {
      const rows = await deps.query(sql);
      consecutiveFailures = 0;
      metrics.inc('dashboard_clickhouse_queries_total', 'queries sent to ClickHouse', 1, { result: 'ok' });
      return rows;
    } catch (err) {
      consecutiveFailures++;
      metrics.inc('dashboard_clickhouse_queries_total', 'queries sent to ClickHouse', 1, { result: 'error' });
      throw err;
    } finally {
      metrics.inc(
        'dashboard_clickhouse_query_seconds_total',
        'seconds spent waiting for ClickHouse',
        (performance.now() - t0) / 1000,
      );
    }
  };

  function send(
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    extra: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': type, ...SECURITY_HEADERS, ...extra });
    res.end(body);
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ): void {
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), extra);
  }

  type Parsed = Extract<ReturnType<typeof parsePanelParams>, { ok: true }>;

  /** Computes a panel's answer with ClickHouse, serialized for the cache. */
  function compute(parsed: Parsed): () => Promise<CachedAnswer> {
    return async () => {
      const answer: PanelAnswer & { generatedAt: string } = {
        ...(await computePanel(parsed.params, {
          query,
          database: config.database,
          unfinishedAfterDays: config.unfinishedAfterDays,
        })),
        generatedAt: new Date(now()).toISOString(),
      };
      return { answer, json: Buffer.from(JSON.stringify(answer)), csv: undefined };
    };
  }

  /** A panel's answer through the cache (one computation however many readers ask at once). */
  function answer(parsed: Parsed) {
    return cache.get(parsed.key, compute(parsed));
  }

  /** The page's default view, renewed in the cache every half TTL (so before it expires). */
  function warmJobs(): Array<() => Promise<void>> {
    const today = dayOf(now());
    return defaultViewRequests(today).flatMap(({ panel, search }) => {
      const parsed = parsePanelParams(panel, search, today);
      if (!parsed.ok) throw new Error(`default view request refused: ${parsed.message}`);
      return [() => cache.refresh(parsed.key, compute(parsed)).then(() => undefined)];
    });
  }

  const warmer: Warmer | null =
    config.warm === true && config.cacheTtlMs > 0
      ? createWarmer({
          jobs: warmJobs,
          everyMs: Math.max(1_000, Math.floor(config.cacheTtlMs / 2)),
          concurrency: WARM_CONCURRENCY,
          clock: deps.clock ?? systemClock,
          onRound(r) {
            metrics.inc('dashboard_warmer_rounds_total', 'rounds of the default-view warmer', 1, {
              result: r.failed > 0 ? 'failed' : 'ok',
            });
            metrics.set(
              'dashboard_warmer_last_round_seconds',
              'duration of the last warm-up round',
              r.ms / 1000,
            );
            if (r.failed > 0)
              logger.warn({ failed: r.failed, jobs: r.jobs, err: r.errors[0] }, 'warm-up round had failures');
            else logger.debug({ jobs: r.jobs, ms: r.ms }, 'warm-up round');
          },
        })
      : null;

  /**
   * What the release-health panel computes, as metrics, so that an alert fires when a Parsl
   * release goes silent (issue #4038): the panel over the last RELEASE_HEALTH_DAYS, through the
   * cache (so at most one computation per cache TTL, however often Prometheus scrapes). Labels
   * name only flagged releases of that window: a few dates at most, never client text.
   */
  async function releaseHealthMetrics(): Promise<void> {
    const today = dayOf(now());
    const parsed = parsePanelParams(
      'release-health',
      new URLSearchParams({ from: addDays(today, -(RELEASE_HEALTH_DAYS - 1)), to: today }),
      today,
    );
    if (!parsed.ok) return;
    try {
      const { value } = await answer(parsed);
      const { columns, rows } = value.answer;
      const col = (name: string) => columns.indexOf(name);
      const flagged = rows.filter((r) => r[col('status')] === 'missing' || r[col('status')] === 'collapsed');
      metrics.set('dashboard_release_health_up', 'the release-health metrics could be computed', 1);
      metrics.set(
        'dashboard_release_health_flagged',
        `releases of the last ${RELEASE_HEALTH_DAYS} days that send nothing or far less than expected`,
        flagged.length,
      );
      metrics.clear('dashboard_release_health_flagged_release');
      for (const r of flagged) {
        metrics.set('dashboard_release_health_flagged_release', 'a flagged release (value 1) and why', 1, {
          release: String(r[col('release')]),
          status: String(r[col('status')]),
        });
      }
    } catch (err) {
      metrics.set('dashboard_release_health_up', 'the release-health metrics could be computed', 0);
      logger.warn({ err }, 'release-health metrics not computed');
    }
  }

  async function api(
    res: ServerResponse,
    panel: Panel,
    csv: boolean,
    search: URLSearchParams,
  ): Promise<number> {
    const parsed = parsePanelParams(panel, search, dayOf(now()));
    if (!parsed.ok) {
      metrics.inc('dashboard_params_rejected_total', 'API requests refused for a bad parameter', 1, {
        panel,
      });
      sendJson(res, 400, { error: parsed.message, parameter: parsed.parameter });
      return 400;
    }
    const { value, outcome } = await answer(parsed);
    metrics.inc('dashboard_cache_requests_total', 'API answers by cache outcome', 1, { outcome });
    const maxAge = { 'cache-control': `public, max-age=${Math.floor(config.cacheTtlMs / 1000)}` };
    if (csv) {
      const name = `${panel}${panel === 'dimension' ? `-${parsed.params.dimension}` : ''}-${parsed.params.from}-${parsed.params.to}.csv`;
      value.csv ??= Buffer.from(toCsv(value.answer.columns, value.answer.rows));
      send(res, 200, 'text/csv; charset=utf-8', value.csv, {
        ...maxAge,
        'content-disposition': `attachment; filename="${name}"`,
      });
    } else {
      send(res, 200, 'application/json; charset=utf-8', value.json, maxAge);
    }
    return 200;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, r: Route): Promise<number> {
    if (r.kind === 'bad-target') {
      sendJson(res, 400, { error: r.reason });
      return 400;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'only GET' }, { allow: 'GET, HEAD' });
      return 405;
    }
    switch (r.kind) {
      case 'health': {
        const healthy = isHealthy();
        sendJson(res, healthy ? 200 : 503, {
          healthy,
          running,
          consecutiveFailures,
          cacheEntries: cache.size,
          warmer: warmer ? { healthy: warmer.isHealthy(), ...warmerSummary(warmer) } : null,
        });
        return healthy ? 200 : 503;
      }
      case 'metrics':
        metrics.set('dashboard_cache_entries', 'answers held in the cache', cache.size);
        await releaseHealthMetrics();
        send(
          res,
          200,
          'text/plain; version=0.0.4',
          deps.processMetrics
            ? await withProcessMetrics(metrics.render(), deps.processMetrics)
            : metrics.render(),
        );
        return 200;
      case 'no-panel':
        sendJson(res, 404, { error: `no panel ${r.panel}; panels: ${PANELS.join(', ')}` });
        return 404;
      case 'api':
        return api(res, r.panel, r.csv, r.search);
      case 'static': {
        const s = STATIC[r.path];
        const body = files.get(r.path);
        if (s && body) {
          send(res, 200, s.type, body, { 'cache-control': 'public, max-age=300' });
          return 200;
        }
        break;
      }
      case 'not-found':
        break;
    }
    sendJson(res, 404, { error: 'not found' });
    return 404;
  }

  function isHealthy(): boolean {
    return running && consecutiveFailures < UNHEALTHY_AFTER_FAILURES;
  }

  return {
    get httpPort() {
      return port;
    },
    isHealthy,
    async start() {
      for (const [path, s] of Object.entries(STATIC)) files.set(path, await readFile(s.file));
      const staticPaths = new Set(Object.keys(STATIC));
      const srv = createServer((req, res) => {
        const r = route(req.url, staticPaths);
        handle(req, res, r)
          .catch((err: unknown) => {
            logger.error({ err, url: req.url }, 'request failed');
            if (!res.headersSent)
              sendJson(res, 502, { error: 'the database could not answer; try again later' });
            else res.end();
            return 502;
          })
          .then((status) => {
            metrics.inc('dashboard_http_requests_total', 'HTTP requests by route and status', 1, {
              route: routeLabel(r),
              status: String(status),
            });
          })
          .catch(() => {});
      });
      server = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(config.httpPort, config.httpHost, () => {
          port = (srv.address() as AddressInfo).port;
          resolve();
        });
      });
      running = true;
      logger.info({ host: config.httpHost, port, warm: warmer !== null }, 'dashboard listening');
      warmer?.start();
    },
    async stop() {
      await warmer?.stop();
      const s = server;
      server = null;
      running = false;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}

function warmerSummary(w: Warmer): { rounds: number; lastRoundMs: number | null; lastFailed: number | null } {
  const st = w.state();
  return { rounds: st.rounds, lastRoundMs: st.last?.ms ?? null, lastFailed: st.last?.failed ?? null };
}
