import type { IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { FakeResponse } from './fake-response.fixture.js';
import type { V1Api } from './api-v1/handler.js';
import type { PanelApi } from './panel-api-handler.js';
import { requestHandler, type RequestHandlerOptions } from './request-handler.js';

const JSON_TYPE = 'application/json; charset=utf-8';

function handlerWith(o: { healthy?: boolean; api?: PanelApi; v1?: V1Api } = {}) {
  const metrics = new Metrics();
  const opts: RequestHandlerOptions = {
    logger: pino({ level: 'silent' }),
    metrics,
    health: () => ({ healthy: o.healthy ?? true, running: true }),
    metricsText: () => Promise.resolve('# metrics\n'),
    api:
      o.api ??
      ((res) => {
        res.writeHead(200, { 'content-type': JSON_TYPE });
        res.end('{"panel":"headline"}');
        return Promise.resolve(200);
      }),
    v1:
      o.v1 ??
      ((_req, res) => {
        res.writeHead(200, { 'content-type': JSON_TYPE });
        res.end('{"endpoint":"/api/v1/headline"}');
        return Promise.resolve(200);
      }),
    assets: {
      paths: new Set(['/', '/static/gone.js']),
      get: (path) =>
        path === '/' ? { type: 'text/html; charset=utf-8', body: Buffer.from('<html>') } : undefined,
    },
  };
  return { handle: requestHandler(opts), metrics };
}

/** Sends one request and waits until it has been counted. */
async function request(
  h: ReturnType<typeof handlerWith>,
  method: string,
  url: string,
): Promise<{ out: FakeResponse; label: string; status: string }> {
  const out = new FakeResponse();
  h.handle({ method, url } as IncomingMessage, out.res);
  let counted: { label: string; status: string } | undefined;
  await vi.waitFor(async () => {
    const line = (await h.metrics.render())
      .split('\n')
      .find((l) => l.startsWith('dashboard_http_requests_total{'));
    const m = /route="([^"]*)",status="(\d+)"/.exec(line ?? '');
    if (!m) throw new Error('not counted yet');
    counted = { label: m[1] ?? '', status: m[2] ?? '' };
  });
  return { out, ...(counted as { label: string; status: string }) };
}

describe('requestHandler', () => {
  it.each([
    { method: 'GET', url: '/healthz', status: 200, label: '/healthz', type: JSON_TYPE },
    { method: 'HEAD', url: '/healthz', status: 200, label: '/healthz', type: JSON_TYPE },
    { method: 'GET', url: '/healthz', healthy: false, status: 503, label: '/healthz', type: JSON_TYPE },
    { method: 'GET', url: '/metrics', status: 200, label: '/metrics', type: 'text/plain; version=0.0.4' },
    {
      method: 'GET',
      url: '/api/headline?from=2026-01-01',
      status: 200,
      label: '/api/headline',
      type: JSON_TYPE,
    },
    { method: 'GET', url: '/api/nope', status: 404, label: 'other', type: JSON_TYPE },
    { method: 'POST', url: '/api/headline', status: 405, label: '/api/headline', type: JSON_TYPE },
    { method: 'DELETE', url: '/', status: 405, label: '/', type: JSON_TYPE },
    { method: 'GET', url: '/', status: 200, label: '/', type: 'text/html; charset=utf-8' },
    // a path of the table whose file was not loaded
    { method: 'GET', url: '/static/gone.js', status: 404, label: '/static/gone.js', type: JSON_TYPE },
    { method: 'GET', url: '/etc/passwd', status: 404, label: 'other', type: JSON_TYPE },
    // a malformed target is a 400 whatever the method
    { method: 'POST', url: '//evil.example/', status: 400, label: 'other', type: JSON_TYPE },
  ])('$method $url -> $status, counted as $label', async ({ method, url, healthy, status, label, type }) => {
    const h = handlerWith({ healthy });
    const got = await request(h, method, url);
    expect(got.out.status).toBe(status);
    expect(got.out.headers['content-type']).toBe(type);
    expect(got).toMatchObject({ label, status: String(status) });
    if (status === 405) expect(got.out.headers.allow).toBe('GET, HEAD');
  });

  it('the static files carry the security headers and a five-minute cache', async () => {
    const { out } = await request(handlerWith(), 'GET', '/');
    expect(out.body).toBe('<html>');
    expect(out.headers['cache-control']).toBe('public, max-age=300');
    expect(out.headers['content-security-policy']).toContain("default-src 'self'");
    expect(out.headers['referrer-policy']).toBe('no-referrer');
  });

  it.each([
    { when: 'before anything was sent', sentFirst: false, body: /database could not answer/ },
    // the 200 is on the wire: the answer is ended, no second status
    { when: 'after the headers went out', sentFirst: true, body: /^$/ },
  ])('a failing answer is a 502 $when', async ({ sentFirst, body }) => {
    const api: PanelApi = (res) => {
      if (sentFirst) res.writeHead(200, {});
      return Promise.reject(new Error('ClickHouse away'));
    };
    const got = await request(handlerWith({ api }), 'GET', '/api/headline');
    expect(got).toMatchObject({ label: '/api/headline', status: '502' });
    expect(got.out.status).toBe(sentFirst ? 200 : 502);
    expect(got.out.ended).toBe(true);
    expect(got.out.body).toMatch(body);
  });

  it('a failing public API answer is a 502 with CORS and no-store, labelled by its endpoint', async () => {
    const v1: V1Api = () => Promise.reject(new Error('ClickHouse away'));
    const got = await request(handlerWith({ v1 }), 'GET', '/api/v1/leaderboard');
    expect(got).toMatchObject({ label: '/api/v1/leaderboard', status: '502' });
    expect(got.out.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
    });
  });

  it('/api/v1 answers its own methods (OPTIONS reaches it), unknown paths are labelled other', async () => {
    const seen: string[] = [];
    const v1: V1Api = (req, res) => {
      seen.push(req.method ?? '');
      res.writeHead(204, {});
      res.end();
      return Promise.resolve(204);
    };
    // a handler each: `request` reads the first counted series
    const pre = await request(handlerWith({ v1 }), 'OPTIONS', '/api/v1/headline');
    expect(pre).toMatchObject({ label: '/api/v1/headline', status: '204' });
    expect(await request(handlerWith({ v1 }), 'GET', '/api/v1/nope')).toMatchObject({ label: 'other' });
    expect(seen).toEqual(['OPTIONS', 'GET']);
  });
});
