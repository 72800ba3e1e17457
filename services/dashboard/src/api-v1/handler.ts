/**
 * /api/v1/...: the public API's HTTP side. In order: CORS preflight, the method, the per-client
 * rate limit, the route, the parameters (400), then the answer through the panel cache, with
 * a strong ETag (304 on If-None-Match), Cache-Control and CORS on every answer. Metric labels
 * name only endpoints of the fixed table (endpoints.ts), never request text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '@parsl-usage/common';
import type { CacheOutcome } from '../cache.js';
import { dayOf } from '../dates.js';
import type { CachedAnswer, PanelRequest } from '../panel-answer-cache.js';
import { send, sendJson } from '../responses.js';
import { V1_ENDPOINTS, V1_PREFIX, type V1Endpoint } from './endpoints.js';
import { notModified, strongEtag } from './etag.js';
import { openApiDocument } from './openapi.js';
import { publicAnswer } from './public-answer.js';
import { parseV1Params } from './query-params.js';
import { clientKey, TokenBuckets } from './rate-limit.js';

export interface V1ApiOptions {
  /** a panel's answer, through the cache */
  answer: (req: PanelRequest) => Promise<{ value: CachedAnswer; outcome: CacheOutcome }>;
  metrics: Metrics;
  /** ms; how long browsers and proxies may keep an answer (the cache's own TTL) */
  cacheTtlMs: number;
  /** requests per minute per client address */
  ratePerMinute: number;
  now: () => number;
}

/** What the route table found under /api/v1: an endpoint, the document, or nothing. */
export type V1Target = V1Endpoint | 'openapi' | null;

export type V1Api = (
  req: IncomingMessage,
  res: ServerResponse,
  target: V1Target,
  search: URLSearchParams,
) => Promise<number>;

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'ETag, Retry-After',
};
/** Headers of an error answer (also the 502 that request-handler.ts sends when ClickHouse fails). */
export const V1_ERROR_HEADERS: Readonly<Record<string, string>> = { ...CORS, 'cache-control': 'no-store' };
const NO_STORE = V1_ERROR_HEADERS;
const PREFLIGHT = {
  ...CORS,
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'If-None-Match',
  'access-control-max-age': '86400', // s
  'cache-control': 'public, max-age=86400',
};
/** s the OpenAPI document may be kept: it changes only with a release of the service. */
const DOCUMENT_MAX_AGE_S = 3_600;
const JSON_TYPE = 'application/json; charset=utf-8';

interface Body {
  json: Buffer;
  etag: string;
}

/** 200 with the body, or 304 when the client holds it already. */
function sendCached(req: IncomingMessage, res: ServerResponse, b: Body, maxAgeS: number): number {
  const headers = { ...CORS, etag: b.etag, 'cache-control': `public, max-age=${maxAgeS}` };
  if (notModified(req.headers['if-none-match'], b.etag)) {
    res.writeHead(304, headers);
    res.end();
    return 304;
  }
  send(res, 200, JSON_TYPE, b.json, headers);
  return 200;
}

export function v1Api(o: V1ApiOptions): V1Api {
  const buckets = new TokenBuckets({ perMinute: o.ratePerMinute });
  const docJson = Buffer.from(JSON.stringify(openApiDocument()));
  const doc: Body = { json: docJson, etag: strongEtag(docJson) };
  // Every series exists from the start at 0: no request can add one.
  o.metrics.inc('dashboard_api_rate_limited_total', 'public API requests refused by the rate limit', 0);
  for (const e of V1_ENDPOINTS)
    o.metrics.inc(
      'dashboard_api_params_rejected_total',
      'public API requests refused for a bad parameter',
      0,
      {
        endpoint: e.path,
      },
    );
  const answer = endpointAnswerer(o);

  return async (req, res, target, search) => {
    const refused = refuseEarly(req, res, buckets, o);
    if (refused !== null) return refused;
    if (target === 'openapi') return sendCached(req, res, doc, DOCUMENT_MAX_AGE_S);
    if (target === null) {
      const endpoints = V1_ENDPOINTS.map((e) => `${V1_PREFIX}${e.path}`).join(', ');
      sendJson(
        res,
        404,
        { error: `no such endpoint; see ${V1_PREFIX}/openapi.json (${endpoints})` },
        NO_STORE,
      );
      return 404;
    }
    return answer(req, res, target, search);
  };
}

/**
 * What is answered before the route: the CORS preflight (204), a method other than GET, HEAD
 * and OPTIONS (405), a client over its rate (429). The status sent, or null to go on.
 */
function refuseEarly(
  req: IncomingMessage,
  res: ServerResponse,
  buckets: TokenBuckets,
  o: Pick<V1ApiOptions, 'metrics' | 'now'>,
): number | null {
  if (req.method === 'OPTIONS') {
    res.writeHead(204, PREFLIGHT);
    res.end();
    return 204;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'only GET, HEAD and OPTIONS' }, { ...NO_STORE, allow: 'GET, HEAD, OPTIONS' });
    return 405;
  }
  const taken = buckets.take(clientKey(req.socket.remoteAddress), o.now());
  if (!taken.ok) {
    o.metrics.inc('dashboard_api_rate_limited_total', 'public API requests refused by the rate limit');
    const error = `too many requests from this address; retry after ${taken.retryAfterS} s`;
    sendJson(res, 429, { error }, { ...NO_STORE, 'retry-after': String(taken.retryAfterS) });
    return 429;
  }
  return null;
}

/** An endpoint's answer: its parameters checked (400), then the panel through the cache. */
function endpointAnswerer(o: V1ApiOptions) {
  const { metrics } = o;
  // One public body per cached answer: a warm request hashes and serialises nothing.
  const bodies = new WeakMap<CachedAnswer, Body>();
  const maxAgeS = Math.floor(o.cacheTtlMs / 1000);
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    e: V1Endpoint,
    search: URLSearchParams,
  ): Promise<number> => {
    const parsed = parseV1Params(e, search, dayOf(o.now()));
    if (!parsed.ok) {
      metrics.inc(
        'dashboard_api_params_rejected_total',
        'public API requests refused for a bad parameter',
        1,
        {
          endpoint: e.path,
        },
      );
      sendJson(res, 400, { error: parsed.error, parameter: parsed.parameter }, NO_STORE);
      return 400;
    }
    const { value, outcome } = await o.answer(parsed.request);
    metrics.inc('dashboard_cache_requests_total', 'API answers by cache outcome', 1, { outcome });
    let body = bodies.get(value);
    if (!body) {
      const json = Buffer.from(JSON.stringify(publicAnswer(e, value.answer)));
      body = { json, etag: strongEtag(json) };
      bodies.set(value, body);
    }
    return sendCached(req, res, body, maxAgeS);
  };
}
