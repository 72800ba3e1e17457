import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { V1_ENDPOINTS } from './api-v1/endpoints.js';
import { PANELS } from './params.js';
import { route, routeLabel } from './routes.js';

const STATIC = new Set(['/', '/app.js', '/style.css']);

describe('route', () => {
  it.each([
    ['/healthz', 'health', '/healthz'],
    ['/metrics', 'metrics', '/metrics'],
    ['/api/headline', 'api', '/api/headline'],
    ['/api/headline.csv?from=2026-01-01', 'api', '/api/headline.csv'],
    ['/api/headlinexxxxxxxx', 'no-panel', 'other'],
    ['/api/nope', 'no-panel', 'other'],
    [`/api/headline${'x'.repeat(6_000)}`, 'not-found', 'other'],
    ['/api/v1/headline?from=2026-01-01', 'v1', '/api/v1/headline'],
    ['/api/v1/versions/python', 'v1', '/api/v1/versions/python'],
    ['/api/v1/components/executors', 'v1', '/api/v1/components/executors'],
    ['/api/v1/openapi.json', 'v1', '/api/v1/openapi.json'],
    ['/api/v1/nope', 'v1', 'other'],
    ['/api/v1', 'v1', 'other'],
    [`/api/v1/headline${'x'.repeat(6_000)}`, 'v1', 'other'],
    ['/api/v1/headline/', 'v1', 'other'],
    ['/api/v10/headline', 'not-found', 'other'],
    ['/', 'static', '/'],
    ['/app.js?v=1', 'static', '/app.js'],
    ['/etc/passwd', 'not-found', 'other'],
    ['/%2e%2e/x', 'not-found', 'other'],
    ['http://127.0.0.1:8080/api/headline', 'api', '/api/headline'],
    // the probe's request line: GET http://[::1 HTTP/1.1
    ['http://[::1', 'bad-target', 'other'],
    ['//evil.example/api/headline', 'bad-target', 'other'],
    ['*', 'bad-target', 'other'],
    ['example.org:443', 'bad-target', 'other'],
    ['ftp://x/', 'bad-target', 'other'],
  ])('%s -> %s, labelled %s', (target, kind, label) => {
    const r = route(target, STATIC);
    expect(r.kind).toBe(kind);
    expect(routeLabel(r)).toBe(label);
  });

  it('property: any target gets one of a fixed set of labels', () => {
    const labels = new Set([
      '/healthz',
      '/metrics',
      'other',
      ...STATIC,
      ...PANELS.flatMap((p) => [`/api/${p}`, `/api/${p}.csv`]),
      ...V1_ENDPOINTS.map((e) => `/api/v1${e.path}`),
      '/api/v1/openapi.json',
      '/data/',
    ]);
    const target = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ maxLength: 100 }).map((s) => `/api/${s}`),
      fc.string({ maxLength: 100 }).map((s) => `/api/v1/${s}`),
      fc.string({ maxLength: 100 }).map((s) => `/data/${s}`),
      fc
        .constantFrom(...V1_ENDPOINTS.map((e) => e.path))
        .chain((p) => fc.string({ maxLength: 50 }).map((s) => `/api/v1${p}${s}`)),
      fc.constantFrom(...PANELS).chain((p) => fc.string({ maxLength: 50 }).map((s) => `/api/${p}${s}`)),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
    );
    fc.assert(
      fc.property(target, (t) => {
        expect(labels.has(routeLabel(route(t, STATIC)))).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });
});
