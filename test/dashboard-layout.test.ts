/**
 * The dashboard page's layout in Debian's chromium (driven by playwright-core) against the
 * fixture history, at 1400 px and at 375 px wide: every table either fits the content box of its
 * card, or sits in a box of that card that scrolls sideways and, scrolled to its end, shows the
 * table's last column whole (issue 28, item 5: "failure rate" and "app fails" were cut off). At
 * 1400 px every table shows all its columns without scrolling.
 */
import { describe, expect, it } from 'vitest';
import { dashboardInBrowser } from './dashboard-in-browser.js';

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

// Runs in the page: functions, not strings (the page's CSP forbids eval). The test program has
// no DOM types: the little of the DOM these use.
interface Edges {
  left: number;
  right: number;
}
interface El {
  parentElement: El | null;
  clientLeft: number;
  clientWidth: number;
  scrollWidth: number;
  scrollLeft: number;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  getBoundingClientRect(): Edges & { width: number };
  closest(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El> & Iterable<El>;
}
interface Win {
  document: { querySelectorAll(sel: string): Iterable<El> };
  getComputedStyle(el: El): { overflowX: string; paddingLeft: string; paddingRight: string };
}
const MEASURE = (): TableFit[] => {
  const g = globalThis as unknown as Win;
  const EPS = 0.5;
  const contentBox = (el: El): Edges => {
    const r = el.getBoundingClientRect();
    const cs = g.getComputedStyle(el);
    const left = r.left + el.clientLeft + parseFloat(cs.paddingLeft);
    return { left, right: r.left + el.clientLeft + el.clientWidth - parseFloat(cs.paddingRight) };
  };
  const visibleBox = (el: El): Edges => {
    const r = el.getBoundingClientRect();
    return { left: r.left + el.clientLeft, right: r.left + el.clientLeft + el.clientWidth };
  };
  const inside = (a: Edges, b: Edges): boolean => a.left >= b.left - EPS && a.right <= b.right + EPS;
  return [...g.document.querySelectorAll('table')].map((table) => {
    const card = table.closest('section') as El;
    const cardBox = contentBox(card);
    const tr = table.getBoundingClientRect();
    // the nearest box between the table and its card that scrolls sideways
    let box: El | null = null;
    for (let el = table.parentElement; el && el !== card; el = el.parentElement) {
      const ox = g.getComputedStyle(el).overflowX;
      if (ox === 'auto' || ox === 'scroll') {
        box = el;
        break;
      }
    }
    const heads = table.querySelectorAll('thead th');
    const last = heads[heads.length - 1] as El;
    // the last header whole inside the visible part of the scrolling box (if any), itself inside the card
    const lastShown = (): boolean => {
      const view = box ? visibleBox(box) : cardBox;
      return inside(last.getBoundingClientRect(), view) && inside(view, cardBox);
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
      card: card.dataset.dimension ?? card.dataset.panel ?? '?',
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
      lastHeader: last.textContent ?? '',
    };
  });
};
const ALL_READY = (): boolean =>
  [...(globalThis as unknown as Win).document.querySelectorAll('[data-panel]')].every(
    (s) => s.dataset.state === 'ready',
  );

/** the narrowest viewport at which every table must show all its columns unscrolled */
const DESKTOP = 1280;

describe('dashboard tables fit their cards or scroll inside them', () => {
  const dash = dashboardInBrowser('dashl');

  it.each([1400, 375])('at %i px wide', async (width) => {
    const page = await dash.newPage(width);
    try {
      await page.goto(dash.pageUrl);
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
      // On a desktop screen every column shows without scrolling: headless Chromium hides
      // scrollbars, and a table cut at its card's edge looked clipped ("failure rate", "app fails").
      if (width >= DESKTOP) {
        const cut = tables.filter((t) => !t.fits || !t.lastVisible);
        expect(cut.map((t) => `${t.card}: table ${t.table} px in a card of ${t.cardContent} px`)).toEqual([]);
      }
    } finally {
      await page.close();
    }
  });
});
