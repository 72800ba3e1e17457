import { describe, expect, it } from 'vitest';
import type { Chart, ReportCharts } from './report-charts.js';
import type { MonthFigures, ReportHistory } from './report-history.js';
import { esc, renderHtml, reportPages } from './report-html.js';
import { periodsFor, type ReportInput } from './report.js';
import { totals } from './report.fixture.js';

describe('esc', () => {
  it.each([
    ['plain', 'plain'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['a & b', 'a &amp; b'],
    ['"quoted"', '&quot;quoted&quot;'],
    // The ampersand goes first: an entity in the input is shown, not interpreted.
    ['&lt;', '&amp;lt;'],
    ["it's", "it's"],
    ['', ''],
  ])('%j', (s, want) => {
    expect(esc(s)).toBe(want);
  });
});

function input(spec: { month: string } | { year: string }, over: Partial<ReportInput> = {}): ReportInput {
  const { period, previous } = periodsFor(spec);
  return {
    period,
    previous,
    totals: totals(1200, { apps: 150_000, appFails: 1500 }),
    previousTotals: totals(1000, { apps: 0, appFails: 1875 }),
    pythonVersions: [
      { name: '3.12', runs: 600 },
      { name: '', runs: 300 },
    ],
    parslVersions: [{ name: '2026.10.06', runs: 700 }],
    platforms: [{ name: 'Linux & "friends"', runs: 1100 }],
    components: [],
    componentRuns: 1000,
    leaderboard: [{ project: '<img src=x onerror=alert(1)>', runs: 50, points: 100 }],
    generatedAt: '2026-11-01T00:00:00.000Z',
    ...over,
  };
}

/** Charts as the page gets them: their SVG is placed as it is, their words escaped. */
const chart = (id: string, title = id, reading = `${id} reading`): Chart => ({
  id,
  title,
  reading,
  data: {},
  svg: `<svg data-stub="${id}"></svg>`,
});

const month = (m: string, runs: number): MonthFigures => ({
  month: m,
  runs,
  launched: 0,
  running: 0,
  unfinished: 0,
  completed: runs,
  closureOnly: 0,
  apps: 0,
  appFails: 0,
  points: 0,
  namedProjects: 0,
});

function charts(months: MonthFigures[] = []): ReportCharts {
  return {
    months,
    runs: chart('runs-per-month', 'Runs <per> month', 'Runs grew by 20 % & more'),
    python: chart('python-shares'),
    parsl: chart('parsl-shares'),
    components: [chart('executors'), chart('providers'), chart('launchers')],
    adoption: chart('release-adoption'),
    age: chart('installation-age'),
    leaderboard: chart('leaderboard'),
  };
}

const history: ReportHistory = {
  months: [],
  monthly: [],
  python: [],
  parsl: [],
  installAge: [],
  dayRelease: [],
};

const sections = (html: string): number => html.split('<section class="page">').length - 1;

describe('renderHtml', () => {
  it.each([
    ['a month', { month: '2026-10' }, 5],
    ['a year', { year: '2026' }, 6],
  ] as const)('%s: one page per section, as reportPages says', (_, spec, pages) => {
    const i = input(spec);
    const months = 'year' in spec ? [month('2026-01', 3), month('2026-02', 5)] : [];
    expect(reportPages(i)).toBe(pages);
    expect(sections(renderHtml(i, history, charts(months)))).toBe(pages);
  });

  it('escapes every text it did not make', () => {
    const html = renderHtml(input({ month: '2026-10' }), history, charts());
    expect(html).not.toContain('<img');
    expect(html).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html).toContain('<td>Linux &amp; &quot;friends&quot;</td>');
    expect(html).toContain(
      '<h3>Runs &lt;per&gt; month</h3><p class="reading">Runs grew by 20 % &amp; more</p>',
    );
  });

  it('places each chart as a figure, its SVG as it is', () => {
    const html = renderHtml(input({ month: '2026-10' }), history, charts());
    for (const id of ['runs-per-month', 'python-shares', 'executors', 'launchers', 'leaderboard'])
      expect(html).toMatch(
        new RegExp(
          `<figure id="${id}" data-chart="${id}"><figcaption>.*?</figcaption><svg data-stub="${id}"></svg></figure>`,
        ),
      );
  });

  it('tells the totals with their change against the period before', () => {
    const html = renderHtml(input({ month: '2026-10' }), history, charts());
    expect(html).toContain('<th></th><th>2026-10</th><th>2026-09</th><th>change</th>');
    expect(html).toContain('<tr><td>Workflow runs</td><td>1,200</td><td>1,000</td><td>+20.0 %</td></tr>');
    // Nothing to compare with: no percentage.
    expect(html).toContain('<tr><td>Apps run</td><td>150,000</td><td>0</td><td>n/a</td></tr>');
    expect(html).toContain('<tr><td>Apps failed</td><td>1,500</td><td>1,875</td><td>-20.0 %</td></tr>');
  });

  it('shows shares of the period\'s runs, a value not sent as "(none)"', () => {
    const html = renderHtml(input({ month: '2026-10' }), history, charts());
    expect(html).toContain('<tr><td>3.12</td><td>600</td><td>50.0 %</td></tr>');
    expect(html).toContain('<tr><td>(none)</td><td>300</td><td>25.0 %</td></tr>');
  });

  it('says so where a period has nothing to list', () => {
    const empty = input(
      { month: '2026-10' },
      { totals: totals(0), pythonVersions: [], platforms: [{ name: 'Linux', runs: 3 }], leaderboard: [] },
    );
    const html = renderHtml(empty, history, charts());
    expect(html).toContain('<h3>Python, 2026-10</h3><p>No runs in this period.</p>');
    expect(html).toContain('No named projects in this period.');
    // No runs in the period: a share is not a number.
    expect(html).toContain('<tr><td>Linux</td><td>3</td><td>–</td></tr>');
  });

  it('is a whole page, stamped with its time', () => {
    const html = renderHtml(input({ month: '2026-10' }), history, charts());
    expect(
      html.startsWith(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Parsl usage, 2026-10</title>',
      ),
    ).toBe(true);
    expect(html).toContain('from 2026-10-01 to 2026-10-31 (UTC, by run day)');
    expect(html.endsWith('<footer>Generated 2026-11-01T00:00:00.000Z.</footer></main></body></html>\n')).toBe(
      true,
    );
  });

  it('a year ends with its months, one row each', () => {
    const html = renderHtml(
      input({ year: '2026' }),
      history,
      charts([month('2026-01', 3), month('2026-02', 1234)]),
    );
    expect(html).toContain('<h2>2026 month by month</h2><table class="trend">');
    expect(html).toContain('<tr><td>Jan 2026</td><td>3</td>');
    expect(html).toContain('<tr><td>Feb 2026</td><td>1,234</td>');
    expect(html).toContain('peak Feb 2026: 1,234');
  });
});
