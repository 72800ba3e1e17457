/** /api/<panel>[.csv]: checks the parameters, answers from the cache, as JSON or as a CSV download. */
import type { ServerResponse } from 'node:http';
import type { Metrics } from '@parsl-usage/common';
import type { CacheOutcome } from './cache.js';
import { toCsv } from './csv.js';
import { dayOf } from './dates.js';
import type { CachedAnswer, PanelRequest } from './panel-answer-cache.js';
import { parsePanelParams, type Panel, type PanelParams } from './params.js';
import { send, sendJson } from './responses.js';

export interface PanelApiOptions {
  /** a panel's answer, through the cache */
  answer: (req: PanelRequest) => Promise<{ value: CachedAnswer; outcome: CacheOutcome }>;
  metrics: Metrics;
  /** how long browsers and proxies may keep an answer (the cache's own TTL) */
  cacheTtlMs: number;
  now: () => number;
}

/** Answers one API request; resolves to the HTTP status sent. */
export type PanelApi = (
  res: ServerResponse,
  panel: Panel,
  csv: boolean,
  search: URLSearchParams,
) => Promise<number>;

/** The download's name: the panel (and dimension) and the range, e.g. `headline-2026-01-01-2026-01-31.csv`. */
export function csvFileName(p: PanelParams): string {
  return `${p.panel}${p.panel === 'dimension' ? `-${p.dimension}` : ''}-${p.from}-${p.to}.csv`;
}

export function panelApi(o: PanelApiOptions): PanelApi {
  const { metrics } = o;
  return async (res, panel, csv, search) => {
    const parsed = parsePanelParams(panel, search, dayOf(o.now()));
    if (!parsed.ok) {
      metrics.inc('dashboard_params_rejected_total', 'API requests refused for a bad parameter', 1, {
        panel,
      });
      sendJson(res, 400, { error: parsed.message, parameter: parsed.parameter });
      return 400;
    }
    const { value, outcome } = await o.answer(parsed);
    metrics.inc('dashboard_cache_requests_total', 'API answers by cache outcome', 1, { outcome });
    const maxAge = { 'cache-control': `public, max-age=${Math.floor(o.cacheTtlMs / 1000)}` };
    if (csv) {
      value.csv ??= Buffer.from(toCsv(value.answer.columns, value.answer.rows));
      send(res, 200, 'text/csv; charset=utf-8', value.csv, {
        ...maxAge,
        'content-disposition': `attachment; filename="${csvFileName(parsed.params)}"`,
      });
    } else {
      send(res, 200, 'application/json; charset=utf-8', value.json, maxAge);
    }
    return 200;
  };
}
