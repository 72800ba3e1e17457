/**
 * The dashboard page in Debian's chromium (driven by playwright-core) against the fixture
 * history: every panel renders, the headline totals and the top Python version show the
 * figures the fixture implies, the page asks no other host, and a full-page screenshot is
 * saved to test/artifacts/dashboard.png.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { chromium, type Browser } from 'playwright-core';
import { clickhouse, freshDatabase } from './setup/env.js';
import { CHROMIUM_LAUNCH } from '@parsl-usage/kit/chromium';
import {
  counted,
  countBy,
  END,
  fixture,
  FROM,
  insertHistory,
  startDashboard,
  type RunningDashboard,
} from './dashboard-support.js';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const history = fixture();
const runs = counted(history);
const fmt = new Intl.NumberFormat('en-US');
/** The little of the DOM the page-side functions use (the test program has no DOM types). */
interface El {
  dataset: Record<string, string | undefined>;
  tagName: string;
  className: string;
  width: number;
  getBoundingClientRect(): { right: number };
  closest(sel: string): unknown;
}
type Doc = { querySelectorAll(sel: string): Iterable<El>; documentElement: { scrollWidth: number } };
// Functions, not strings: the page's CSP forbids eval.
const ALL_READY = (): boolean => {
  const d = (globalThis as unknown as { document: Doc }).document;
  return [...d.querySelectorAll('[data-panel]')].every((s) => s.dataset.state === 'ready');
};

describe('dashboard page in chromium', () => {
  let admin: ClickHouseClient;
  let d: RunningDashboard;
  let browser: Browser;
  let db: string;

  beforeAll(async () => {
    db = await freshDatabase('dashb');
    admin = clickhouse('admin');
    await insertHistory(admin, db, history);
    d = await startDashboard(admin, db);
    browser = await chromium.launch(CHROMIUM_LAUNCH);
  });
  afterAll(async () => {
    await browser?.close();
    await d?.app.stop();
    await admin?.close();
  });

  it('renders every panel with the fixture figures and asks no other host', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${d.base}/?from=${FROM}&to=${END}&granularity=week&top=8`);
    const panels = page.locator('[data-panel]');
    const count = await panels.count();
    expect(count).toBe(14);
    await page.waitForFunction(ALL_READY, undefined, { timeout: 30_000 });
    // every chart drew something
    const canvases = await page.evaluate(() =>
      [...(globalThis as unknown as { document: Doc }).document.querySelectorAll('canvas')].map(
        (c) => c.width > 0,
      ),
    );
    expect(canvases.length).toBe(11);
    expect(canvases.every(Boolean)).toBe(true);

    const metric = (name: string) => page.locator(`[data-metric="${name}"]`).textContent();
    expect(await metric('runs')).toBe(fmt.format(runs.length));
    expect(await metric('completed')).toBe(fmt.format(runs.filter((w) => w.status === 'completed').length));
    expect(await metric('apps')).toBe(fmt.format(runs.reduce((s, w) => s + w.app_count, 0)));
    expect(await page.locator('#updated').textContent()).toContain(`newest run day ${END}`);

    const python = [...countBy(runs, (w) => w.python_minor)].sort((a, b) => b[1] - a[1]);
    const [topVersion, topRuns] = python[0] as [string, number];
    const firstRow = page.locator('[data-dimension="python_minor"] tbody tr').first().locator('td');
    expect(await firstRow.allTextContents()).toEqual(
      expect.arrayContaining(['1', topVersion, fmt.format(topRuns)]),
    );

    const health = await page.locator('[data-panel="release-health"] [data-flag]').textContent();
    expect(health).toContain('missing');

    const csv = await page.locator('[data-dimension="python_minor"] a.csv').getAttribute('href');
    expect(csv).toMatch(/^\/api\/dimension\.csv\?/);

    const origin = new URL(d.base).origin;
    expect(requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    expect(problems).toEqual([]);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${d.base}/?from=${FROM}&to=${END}`);
    await phone.waitForFunction(ALL_READY, undefined, { timeout: 30_000 });
    await phone.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });
    // readable on a phone: no element sticks out of the screen (tables scroll inside their box)
    const wide = await phone.evaluate(() =>
      [...(globalThis as unknown as { document: Doc }).document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > 391 && !e.closest('.table'))
        .map((e) => `${e.tagName}.${e.className}`),
    );
    expect(wide).toEqual([]);
    expect(
      await phone.evaluate(
        () => (globalThis as unknown as { document: Doc }).document.documentElement.scrollWidth,
      ),
    ).toBeLessThanOrEqual(390);
  });

  it('a single day draws markers on every line (one point has no line to show)', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${d.base}/?from=${END}&to=${END}&granularity=day&top=8`);
    await page.waitForFunction(ALL_READY, undefined, { timeout: 30_000 });
    // Chart.js's own view of each chart: the type and the marker radius of every line dataset
    const lines = await page.evaluate(() => {
      type Ds = { type?: string; pointRadius?: number; data: unknown[] };
      const g = globalThis as unknown as {
        Chart: { getChart(c: unknown): { config: { type: string }; data: { datasets: Ds[] } } | undefined };
        document: Doc;
      };
      return [...g.document.querySelectorAll('canvas')].flatMap((c) => {
        const chart = g.Chart.getChart(c);
        if (!chart) return [];
        return chart.data.datasets
          .filter((ds) => (ds.type ?? chart.config.type) === 'line')
          .map((ds) => ({ radius: ds.pointRadius, points: ds.data.length }));
      });
    });
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(l.radius, JSON.stringify(l)).toBeGreaterThan(0);
    expect(lines.some((l) => l.points === 1)).toBe(true);
    await page.close();
  });

  it('with the warmer, the page with its default controls is answered from memory only', async () => {
    // TTL 10 min: the next round (every half TTL) cannot start while the page loads
    const warm = await startDashboard(admin, db, { warm: true, cacheTtlMs: 600_000 });
    try {
      // the warmer's first round, as /healthz reports it
      let rounds = 0;
      for (let i = 0; i < 600 && rounds < 1; i++) {
        const h = (await (await fetch(`${warm.base}/healthz`)).json()) as { warmer: { rounds: number } };
        rounds = h.warmer.rounds;
        if (rounds < 1) await new Promise((r) => setTimeout(r, 50));
      }
      expect(rounds).toBeGreaterThanOrEqual(1);
      const computed = warm.queries.length;
      expect(computed).toBeGreaterThan(14);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${warm.base}/`); // no query string: the page's own defaults
      await page.waitForFunction(ALL_READY, undefined, { timeout: 30_000 });
      await page.close();
      expect(warm.queries.length).toBe(computed); // the page sent nothing to ClickHouse
      const m = await (await fetch(`${warm.base}/metrics`)).text();
      const outcome = (o: string): number =>
        Number(
          new RegExp(`^dashboard_cache_requests_total\\{outcome="${o}"\\} (\\S+)$`, 'm').exec(m)?.[1] ?? 0,
        );
      expect({ hit: outcome('hit'), miss: outcome('miss'), shared: outcome('shared') }).toEqual({
        hit: 14,
        miss: 0,
        shared: 0,
      });
    } finally {
      await warm.app.stop();
    }
  });
});
