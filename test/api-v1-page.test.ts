/**
 * The dashboard's own page reads the public API: in Chromium, every figure it fetches comes from
 * /api/v1 (the CSV download links alone stay on /api/<panel>.csv), and every answer is a 200.
 */
import { describe, expect, it } from 'vitest';
import { dashboardInBrowser } from './dashboard-in-browser.js';

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
  const dash = dashboardInBrowser('apiv1p');

  it.each([1280, 375])('at %i px: every panel from /api/v1, all ready', async (width) => {
    const page = await dash.newPage(width);
    const answers: string[] = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) answers.push(`${r.status()} ${u.pathname}`);
    });
    try {
      await page.goto(dash.pageUrl);
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
