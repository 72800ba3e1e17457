import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { FakeResponse } from '../fake-response.fixture.js';
import type { CachedAnswer, PanelRequest } from '../panel-answer-cache.js';
import { V1_BY_PATH } from './endpoints.js';
import { v1Api, type V1Target } from './handler.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');

function cached(req: PanelRequest): CachedAnswer {
  const answer = {
    panel: req.params.panel,
    params: { from: req.params.from, to: req.params.to },
    columns: ['metric', 'value'],
    rows: [['runs', 3]],
    chart: {},
    summary: { runs: 3, last_inserted_at: '2026-12-07T11:59:00.000Z' },
    generatedAt: new Date(NOW).toISOString(),
  };
  return { answer, json: Buffer.from(JSON.stringify(answer)), csv: undefined };
}

function api(ratePerMinute = 100) {
  const metrics = new Metrics();
  const store = new Map<string, CachedAnswer>();
  const v1 = v1Api({
    metrics,
    cacheTtlMs: 60_000,
    ratePerMinute,
    now: () => NOW,
    answer: (req) => {
      const value = store.get(req.key) ?? cached(req);
      store.set(req.key, value);
      return Promise.resolve({ value, outcome: 'hit' });
    },
  });
  const call = async (
    target: V1Target,
    qs = '',
    o: { method?: string; headers?: Record<string, string> } = {},
  ) => {
    const out = new FakeResponse();
    const req = {
      method: o.method ?? 'GET',
      headers: o.headers ?? {},
      socket: { remoteAddress: '192.0.2.1' },
    } as unknown as IncomingMessage;
    const status = await v1(req, out.res, target, new URLSearchParams(qs));
    return { status, out };
  };
  return { call, metrics };
}

const headline = V1_BY_PATH.get('/headline') ?? null;

describe('v1Api', () => {
  it('200 with a strong ETag, Cache-Control and CORS; the arrival time is a day', async () => {
    const { call } = api();
    const { status, out } = await call(headline);
    expect(status).toBe(200);
    expect(out.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'cache-control': 'public, max-age=60',
      etag: expect.stringMatching(/^"[\w-]{22}"$/) as unknown,
    });
    const body = JSON.parse(out.body) as Record<string, unknown>;
    expect(body).toEqual({
      endpoint: '/api/v1/headline',
      params: { from: '2025-12-08', to: '2026-12-07' },
      columns: ['metric', 'value'],
      rows: [['runs', 3]],
      chart: {},
      summary: { runs: 3, last_inserted_day: '2026-12-07' },
    });
  });

  it('304 on If-None-Match, with the same validators and no body', async () => {
    const { call } = api();
    const first = await call(headline);
    const etag = first.out.headers.etag ?? '';
    const again = await call(headline, '', { headers: { 'if-none-match': etag } });
    expect([again.status, again.out.body, again.out.headers.etag]).toEqual([304, '', etag]);
    expect(again.out.headers['cache-control']).toBe('public, max-age=60');
    expect((await call(headline, '', { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('400 with the parameter named, CORS and no-store, counted by endpoint', async () => {
    const { call, metrics } = api();
    const { status, out } = await call(headline, 'granularity=day');
    expect(status).toBe(400);
    expect(JSON.parse(out.body)).toMatchObject({ parameter: 'granularity' });
    expect(out.headers).toMatchObject({ 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
    expect(metrics.get('dashboard_api_params_rejected_total', { endpoint: '/headline' })).toBe(1);
  });

  it('429 with Retry-After once the bucket is empty; preflight is not counted', async () => {
    const { call, metrics } = api(2);
    expect((await call(headline)).status).toBe(200);
    expect((await call(null, '', { method: 'OPTIONS' })).status).toBe(204);
    expect((await call('openapi')).status).toBe(200);
    const refused = await call(headline);
    expect(refused.status).toBe(429);
    expect(refused.out.headers).toMatchObject({ 'retry-after': '30', 'access-control-allow-origin': '*' });
    expect(metrics.get('dashboard_api_rate_limited_total')).toBe(1);
  });

  it('OPTIONS preflight, 405 for other methods, 404 for unknown endpoints', async () => {
    const { call } = api();
    const pre = await call(headline, '', { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.out.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, HEAD, OPTIONS',
      'access-control-allow-headers': 'If-None-Match',
    });
    const post = await call(headline, '', { method: 'POST' });
    expect([post.status, post.out.headers.allow]).toEqual([405, 'GET, HEAD, OPTIONS']);
    const none = await call(null);
    expect([none.status, none.out.headers['cache-control']]).toEqual([404, 'no-store']);
  });

  it('serves the OpenAPI document with its own ETag', async () => {
    const { call } = api();
    const { status, out } = await call('openapi');
    expect(status).toBe(200);
    expect((JSON.parse(out.body) as { openapi: string }).openapi).toBe('3.1.0');
    expect(out.headers['cache-control']).toBe('public, max-age=3600');
    const again = await call('openapi', '', { headers: { 'if-none-match': out.headers.etag ?? '' } });
    expect(again.status).toBe(304);
  });
});
