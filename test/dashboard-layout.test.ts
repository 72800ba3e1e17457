/**
 * The dashboard page's layout in Debian's chromium (driven by playwright-core) against the
 * fixture history, at 1400 px and at 375 px wide: every table either fits the content box of its
 * card, or sits in a box of that card that scrolls sideways and, scrolled to its end, shows the
 * table's last column whole (issue 28, item 5: "failure rate" and "app fails" were cut off).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { chromium, type Browser } from 'playwright-core';
import { clickhouse, freshDatabase } from './setup/env.js';
import { CHROMIUM_LAUNCH } from '@parsl-usage/kit/chromium';
import { END, fixture, FROM, insertHistory, startDashboard, type RunningDashboard } from './dashboard-support.js';

/** One table as the page lays it out (widths in CSS px). */
interface TableFit {
  card: string;
  /** width of the card's content box */
  cardContent: number;
  /** the table's own width (its border box) */
  table: number;
  /** the scrolling box around the table: its visible width and its scrollable width */
  box: { overflowX: string; clientWidth: number; scrollWidth: number } | null;
  /** the table's right edge is inside the card's content box */
  fits: boolean;
  /** the table's last header is whole inside the box (and the box inside the card), before and after scrolling to the end */
  lastVisible: boolean;
  lastVisibleScrolled: boolean;
  lastHeader: string;
}

// Runs in the page: a function, not a string (the page's CSP forbids eval). The test program has
// no DOM types, so the page side is typed loosely here.
/* eslint-disable @typescript-eslint/no-explicit-any */
const MEASURE = (): TableFit[] => {
  const g = globalThis as any;
  const doc = g.document;
  const EPS = 0.5;
  const contentBox = (el: any): { left: number; right: number } => {
    const r = el.getBoundingClientRect();
    const cs = g.getComputedStyle(el);
    const left = r.left + el.clientLeft + parseFloat(cs.paddingLeft);
    return { left, right: r.left + el.clientLeft + el.clientWidth - parseFloat(cs.paddingRight) };
  };
  const visibleBox = (el: any): { left: number; right: number } => {
    const r = el.getBoundingClientRect();
    return { left: r.left + el.clientLeft, right: r.left + el.clientLeft + el.clientWidth };
  };
  const inside = (a: { left: number; right: number }, b: { left: number; right: number }): boolean =>
    a.left >= b.left - EPS && a.right <= b.right + EPS;
  return [...doc.querySelectorAll('table')].map((table: any) => {
    const card = table.closest('section');
    const name = card.dataset.dimension ?? card.dataset.panel;
    const cardBox = contentBox(card);
    const tr = table.getBoundingClientRect();
    let box: any = null;
    for (let el = table.parentElement; el && el !== card; el = el.parentElement) {
      const ox = g.getComputedStyle(el).overflowX;
      if (ox === 'auto' || ox === 'scroll') {
        box = el;
        break;
      }
    }
    const heads = table.querySelectorAll('thead th');
    const last = heads[heads.length - 1];
    const lastShown = (): boolean => {
      const lr = last.getBoundingClientRect();
      // the header whole inside the visible part of the scrolling box (if any), which is itself inside the card
      const view = box ? visibleBox(box) : cardBox;
      return inside(lr, view) && inside(view, cardBox);
    };
    const lastVisible = lastShown();
    let lastVisibleScrolled = lastVisible;
    if (box && box.scrollWidth > box.clientWidth) {
      const before = box.scrollLeft;
      box.scrollLeft = box.scrollWidth;
      lastVisibleScrolled = lastShown();
      box.scrollLeft = before;
    }
    return {
      card: name,
      cardContent: Math.round(cardBox.right - cardBox.left),
      table: Math.round(tr.width),
      box: box
        ? {
            overflowX: g.getComputedStyle(box).overflowX,
            clientWidth: box.clientWidth,
            scrollWidth: box.scrollWidth,
          }
        : null,
      fits: inside(tr, cardBox),
      lastVisible,
      lastVisibleScrolled,
      lastHeader: last ? last.textContent : '',
    };
  });
};
const ALL_READY = (): boolean =>
  [...(globalThis as any).document.querySelectorAll('[data-panel]')].every(
    (s: any) => s.dataset.state === 'ready',
  );
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('dashboard tables fit their cards or scroll inside them', () => {
  let admin: ClickHouseClient;
  let d: RunningDashboard;
  let browser: Browser;

  beforeAll(async () => {
    const db = await freshDatabase('dashl');
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

  it.each([1400, 375])('at %i px wide', async (width) => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    try {
      await page.goto(`${d.base}/?from=${FROM}&to=${END}&granularity=week&top=8`);
      await page.waitForFunction(ALL_READY, undefined, { timeout: 30_000 });
      const tables = await page.evaluate(MEASURE);
      console.log(
        `${width} px:\n` +
          tables
            .map(
              (t) =>
                `  ${t.card}: card ${t.cardContent}, table ${t.table}, box ${t.box ? `${t.box.clientWidth}/${t.box.scrollWidth} ${t.box.overflowX}` : '-'}, fits ${t.fits}, last "${t.lastHeader}" visible ${t.lastVisible}/${t.lastVisibleScrolled}`,
            )
            .join('\n'),
      );
      // release health, 6 dimensions, adoption, leaderboard
      expect(tables.length).toBe(9);
      for (const t of tables) {
        const scrolls =
          t.box !== null &&
          t.box.scrollWidth > t.box.clientWidth &&
          (t.box.overflowX === 'auto' || t.box.overflowX === 'scroll');
        expect(t.fits || (scrolls && t.lastVisibleScrolled), JSON.stringify(t)).toBe(true);
      }
    } finally {
      await page.close();
    }
  });
});
