/**
 * The dashboard's own page reads the public API: in Chromium, every figure it fetches comes from
 * /api/v1 (the CSV download links alone stay on /api/<panel>.csv), and every answer is a 200.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_LAUNCH } from '@parsl-usage/kit/chromium';
import { clickhouse, freshDatabase } from './setup/env.js';
import {
  END,
  fixture,
  FROM,
  insertHistory,
  startDashboard,
  type RunningDashboard,
} from './dashboard-support.js';

type Doc = {
  querySelectorAll(sel: string): Iterable<{ dataset: Record<string, string | undefined> }>;
  querySelector(sel: string): { hidden: boolean; textContent: string | null } | null;
};
// Functions, not strings: the page's CSP forbids eval.
const SETTLED = (): boolean => {
  const d = (globalThis as unknown as { document: Doc }).document;
  return [...d.querySelectorAll('[data-panel]')].every((s) => s.dataset.state !== 'loading');
};
const STATES = (): string[] => {
  const d = (globalThis as unknown as { document: Doc }).document;
  return [...d.querySelectorAll('[data-panel]')].map(
    (s) => `${s.dataset.dimension ?? s.dataset.panel}:${s.dataset.state}`,
  );
};

describe('the page uses the public API', () => {
  let admin: ClickHouseClient;
  let d: RunningDashboard;
  let browser: Browser;

  beforeAll(async () => {
    const db = await freshDatabase('apiv1p');
    admin = clickhouse('admin');
    await insertHistory(admin, db, fixture());
    d = await startDashboard(admin, db);
    browser = await chromium.launch(CHROMIUM_LAUNCH);
  });
  afterAll(async () => {
    await browser?.close();
    await d?.app.stop();
    await admin?.close();
  });

  it.each([1280, 375])('at %i px: every panel from /api/v1, all ready', async (width) => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const answers: string[] = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) answers.push(`${r.status()} ${u.pathname}`);
    });
    try {
      await page.goto(`${d.base}/?from=${FROM}&to=${END}&granularity=week&top=8`);
      await page.waitForFunction(SETTLED, undefined, { timeout: 30_000 });
      const states = await page.evaluate(STATES);
      expect(states.filter((s) => !s.endsWith(':ready'))).toEqual([]);
      expect(answers).toHaveLength(14);
      expect(answers.filter((a) => !/^200 \/api\/v1\/[a-z/-]+$/.test(a))).toEqual([]);
      expect(new Set(answers).size).toBe(14);
      const csv = await page.locator('[data-dimension="platform"] [data-csv]').getAttribute('href');
      expect(csv).toMatch(/^\/api\/dimension\.csv\?/);
    } finally {
      await page.close();
    }
  });
});
