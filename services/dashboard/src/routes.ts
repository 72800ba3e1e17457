import { OPENAPI_PATH, V1_BY_PATH, V1_PREFIX } from './api-v1/endpoints.js';
import type { V1Target } from './api-v1/handler.js';
import { PANELS, type Panel } from './params.js';

/**
 * The dashboard's route table, read from the request target alone (pure). Everything a client
 * controls is checked here, before any handler runs: a target that is not a well-formed path
 * (or absolute URL) is a 400, and a metric label only ever names a route of this table, so no
 * request can grow /metrics.
 */
export type Route =
  | { kind: 'health' }
  | { kind: 'metrics' }
  | { kind: 'api'; panel: Panel; csv: boolean; search: URLSearchParams }
  | { kind: 'v1'; target: V1Target; search: URLSearchParams }
  | { kind: 'no-panel'; panel: string }
  | { kind: 'static'; path: string }
  | { kind: 'data'; path: string }
  | { kind: 'not-found' }
  | { kind: 'bad-target'; reason: string };

const BASE = 'http://dashboard.invalid';
const API = /^\/api\/([a-z-]{1,20})(\.csv)?$/;

/** Request target -> URL, or why not (origin-form "/path?query", or absolute-form). */
function parseTarget(target: string): URL | string {
  if (target.startsWith('/') && !target.startsWith('//')) {
    try {
      return new URL(target, BASE);
    } catch {
      return 'malformed request target';
    }
  }
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target);
    } catch {
      return 'malformed absolute URL in the request line';
    }
  }
  return 'the request target must be a path starting with /';
}

export function route(target: string | undefined, staticPaths: ReadonlySet<string>): Route {
  const url = parseTarget(target ?? '/');
  if (typeof url === 'string') return { kind: 'bad-target', reason: url };
  const path = url.pathname;
  if (path === '/healthz') return { kind: 'health' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path === V1_PREFIX || path.startsWith(`${V1_PREFIX}/`)) {
    const sub = path.slice(V1_PREFIX.length);
    const target = sub === OPENAPI_PATH ? 'openapi' : (V1_BY_PATH.get(sub) ?? null);
    return { kind: 'v1', target, search: url.searchParams };
  }
  const m = API.exec(path);
  if (m) {
    const panel = m[1] ?? '';
    if (!(PANELS as readonly string[]).includes(panel)) return { kind: 'no-panel', panel };
    return { kind: 'api', panel: panel as Panel, csv: m[2] !== undefined, search: url.searchParams };
  }
  if (staticPaths.has(path)) return { kind: 'static', path };
  if (path.startsWith('/data/')) return { kind: 'data', path }; // open-data/data-route.ts checks the rest
  return { kind: 'not-found' };
}

/** The metric label of a route: one of a fixed, small set of values. */
export function routeLabel(r: Route): string {
  switch (r.kind) {
    case 'health':
      return '/healthz';
    case 'metrics':
      return '/metrics';
    case 'api':
      return `/api/${r.panel}${r.csv ? '.csv' : ''}`;
    case 'v1':
      if (r.target === null) return 'other';
      return `${V1_PREFIX}${r.target === 'openapi' ? OPENAPI_PATH : r.target.path}`;
    case 'static':
      return r.path;
    case 'data':
      return '/data/';
    case 'no-panel':
    case 'not-found':
    case 'bad-target':
      return 'other';
  }
}
