import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { FakeResponse } from './fake-response.fixture.js';
import type { CachedAnswer, PanelRequest } from './panel-answer-cache.js';
import { csvFileName, panelApi } from './panel-api-handler.js';
import type { Panel, PanelParams } from './params.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');

function cached(req: PanelRequest): CachedAnswer {
  const answer = {
    panel: req.params.panel,
    params: {},
    columns: ['day', 'runs'],
    rows: [['2026-12-01', 3]],
    chart: {},
    generatedAt: new Date(NOW).toISOString(),
  };
  return { answer, json: Buffer.from(JSON.stringify(answer)), csv: undefined };
}

describe('csvFileName', () => {
  const p = (panel: Panel, dimension: PanelParams['dimension'] = 'python_minor'): PanelParams => ({
    panel,
    from: '2026-01-01' as PanelParams['from'],
    to: '2026-01-31' as PanelParams['to'],
    granularity: 'week',
    top: 10,
    dimension,
  });
  it.each([
    [p('headline'), 'headline-2026-01-01-2026-01-31.csv'],
    [p('release-health'), 'release-health-2026-01-01-2026-01-31.csv'],
    [p('dimension', 'platform'), 'dimension-platform-2026-01-01-2026-01-31.csv'],
    [p('dimension'), 'dimension-python_minor-2026-01-01-2026-01-31.csv'],
  ])('%o -> %s', (params, name) => {
    expect(csvFileName(params)).toBe(name);
  });
});

describe('panelApi', () => {
  it.each<{ panel: Panel; csv: boolean; search: string; status: number; type: string; disposition?: string }>(
    [
      { panel: 'headline', csv: false, search: '', status: 200, type: 'application/json; charset=utf-8' },
      {
        panel: 'headline',
        csv: true,
        search: 'from=2026-11-01&to=2026-11-30',
        status: 200,
        type: 'text/csv; charset=utf-8',
        disposition: 'attachment; filename="headline-2026-11-01-2026-11-30.csv"',
      },
      {
        panel: 'dimension',
        csv: true,
        search: 'dimension=platform&to=2026-11-30&from=2026-11-01',
        status: 200,
        type: 'text/csv; charset=utf-8',
        disposition: 'attachment; filename="dimension-platform-2026-11-01-2026-11-30.csv"',
      },
      {
        panel: 'leaderboard',
        csv: false,
        search: 'top=99',
        status: 400,
        type: 'application/json; charset=utf-8',
      },
      {
        panel: 'headline',
        csv: true,
        search: 'granularity=day',
        status: 400,
        type: 'application/json; charset=utf-8',
      },
      { panel: 'dimension', csv: false, search: '', status: 400, type: 'application/json; charset=utf-8' },
    ],
  )('$panel csv=$csv ?$search -> $status', async ({ panel, csv, search, status, type, disposition }) => {
    const metrics = new Metrics();
    const asked: string[] = [];
    const api = panelApi({
      answer: (req) => {
        asked.push(req.key);
        return Promise.resolve({ value: cached(req), outcome: 'miss' });
      },
      metrics,
      cacheTtlMs: 60_000,
      now: () => NOW,
    });
    const out = new FakeResponse();
    await expect(api(out.res, panel, csv, new URLSearchParams(search))).resolves.toBe(status);
    expect(out.status).toBe(status);
    expect(out.headers['content-type']).toBe(type);
    expect(out.headers['x-content-type-options']).toBe('nosniff');
    expect(out.headers['content-disposition']).toBe(disposition);
    if (status === 200) {
      expect(asked).toHaveLength(1);
      expect(out.headers['cache-control']).toBe('public, max-age=60');
      expect(metrics.get('dashboard_cache_requests_total', { outcome: 'miss' })).toBe(1);
      expect(out.body).toBe(
        csv
          ? 'day,runs\r\n2026-12-01,3\r\n'
          : JSON.stringify(cached({ params: { panel } } as PanelRequest).answer),
      );
    } else {
      expect(asked).toEqual([]);
      expect(metrics.get('dashboard_params_rejected_total', { panel })).toBe(1);
      expect(JSON.parse(out.body)).toHaveProperty('parameter');
    }
  });

  it('makes the CSV once and keeps it beside the answer', async () => {
    const value = cached({ params: { panel: 'headline' } } as PanelRequest);
    const api = panelApi({
      answer: () => Promise.resolve({ value, outcome: 'hit' }),
      metrics: new Metrics(),
      cacheTtlMs: 60_000,
      now: () => NOW,
    });
    await api(new FakeResponse().res, 'headline', true, new URLSearchParams());
    const kept = value.csv;
    expect(kept).toBeInstanceOf(Buffer);
    await api(new FakeResponse().res, 'headline', true, new URLSearchParams());
    expect(value.csv).toBe(kept);
  });
});
