/**
 * One HTTP request from the route table (routes.ts) to its answer: the method check, dispatch
 * by route, a 502 when the database cannot answer, and the count by route and status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { V1_ERROR_HEADERS, type V1Api } from './api-v1/handler.js';
import type { PanelApi } from './panel-api-handler.js';
import { PANELS } from './params.js';
import { send, sendJson } from './responses.js';
import { route, routeLabel, type Route } from './routes.js';
import type { StaticAsset } from './static-assets.js';
import { serveData } from './open-data/data-route.js';

export interface RequestHandlerOptions {
  logger: Logger;
  metrics: Metrics;
  /** /healthz's body; `healthy` decides 200 or 503 */
  health: () => { healthy: boolean };
  /** /metrics's text */
  metricsText: () => Promise<string>;
  api: PanelApi;
  /** the public API, /api/v1/... (it answers its own methods: OPTIONS for CORS) */
  v1: V1Api;
  assets: { readonly paths: ReadonlySet<string>; get(path: string): StaticAsset | undefined };
  /** the open-data export's directory, served under /data/; unset: /data/ answers 404 */
  dataDir?: string;
}

/** The server's request listener. */
export function requestHandler(
  o: RequestHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const r = route(req.url, o.assets.paths);
    dispatch(o, req, res, r)
      .catch((err: unknown) => {
        o.logger.error({ err, url: req.url }, 'request failed');
        if (!res.headersSent)
          sendJson(
            res,
            502,
            { error: 'the database could not answer; try again later' },
            r.kind === 'v1' ? V1_ERROR_HEADERS : {},
          );
        else res.end();
        return 502;
      })
      .then((status) => {
        o.metrics.inc('dashboard_http_requests_total', 'HTTP requests by route and status', 1, {
          route: routeLabel(r),
          status: String(status),
        });
      })
      .catch(() => {});
  };
}

/** Answers one request; resolves to the HTTP status sent. */
async function dispatch(
  o: RequestHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  r: Route,
): Promise<number> {
  if (r.kind === 'bad-target') {
    sendJson(res, 400, { error: r.reason });
    return 400;
  }
  if (r.kind === 'v1') return o.v1(req, res, r.target, r.search);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'only GET' }, { allow: 'GET, HEAD' });
    return 405;
  }
  switch (r.kind) {
    case 'health': {
      const body = o.health();
      const status = body.healthy ? 200 : 503;
      sendJson(res, status, body);
      return status;
    }
    case 'metrics':
      send(res, 200, 'text/plain; version=0.0.4', await o.metricsText());
      return 200;
    case 'no-panel':
      sendJson(res, 404, { error: `no panel ${r.panel}; panels: ${PANELS.join(', ')}` });
      return 404;
    case 'api':
      return o.api(res, r.panel, r.csv, r.search);
    case 'static': {
      const asset = o.assets.get(r.path);
      if (!asset) break;
      send(res, 200, asset.type, asset.body, { 'cache-control': 'public, max-age=300' });
      return 200;
    }
    case 'data':
      return serveData(res, o.dataDir, req.url ?? '', req.headers['if-none-match']);
    case 'not-found':
      break;
  }
  sendJson(res, 404, { error: 'not found' });
  return 404;
}
