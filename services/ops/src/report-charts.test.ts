import { describe, expect, it } from 'vitest';
import { buildCharts, sparkline, type Chart, type ReportCharts } from './report-charts.js';
import { trendWindow, type MonthFigures, type ReportHistory } from './report-history.js';
import { periodsFor, type ComponentCount, type ReportInput } from './report.js';
import { totals } from './report.fixture.js';

const { period, previous } = periodsFor({ month: '2026-11' });
const MONTHS = trendWindow(period).months;

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    period,
    previous,
    totals: totals(0),
    previousTotals: totals(0),
    pythonVersions: [],
    parslVersions: [],
    platforms: [],
    components: [],
    componentRuns: 0,
    leaderboard: [],
    generatedAt: '2026-12-01T00:00:00.000Z',
    ...over,
  };
}

function history(over: Partial<ReportHistory> = {}): ReportHistory {
  return { months: MONTHS, monthly: [], python: [], parsl: [], installAge: [], dayRelease: [], ...over };
}

const figures = (month: string, over: Partial<MonthFigures> = {}): MonthFigures => ({
  month,
  runs: 0,
  launched: 0,
  running: 0,
  unfinished: 0,
  completed: 0,
  closureOnly: 0,
  apps: 0,
  appFails: 0,
  points: 0,
  namedProjects: 0,
  ...over,
});

const allCharts = (c: ReportCharts): Chart[] => [
  c.runs,
  c.python,
  c.parsl,
  ...c.components,
  c.adoption,
  c.age,
  c.leaderboard,
];

/** The texts an SVG shows (legend, ticks, labels), entities as written. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? '');

describe('buildCharts', () => {
  it('with nothing reported, still draws every chart, each once, with a standalone SVG', () => {
    const c = buildCharts(input(), history());
    const charts = allCharts(c);
    expect(charts.map((x) => x.id)).toEqual([
      'runs-per-month',
      'python-shares',
      'parsl-shares',
      'executors',
      'providers',
      'launchers',
      'release-adoption',
      'installation-age',
      'leaderboard',
    ]);
    for (const x of charts) {
      expect(x.svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(x.svg).toContain('width="680"');
      expect(x.reading.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['executors', (c: ReportCharts) => c.components[0], 40 + 28],
    ['providers', (c: ReportCharts) => c.components[1], 40 + 28],
    ['launchers', (c: ReportCharts) => c.components[2], 40 + 28],
    ['leaderboard', (c: ReportCharts) => c.leaderboard, 40 + 26],
  ])('an empty %s chart says "none reported" and keeps one row of height', (_id, pick, height) => {
    const svg = pick(buildCharts(input(), history()))?.svg ?? '';
    expect(texts(svg)).toContain('none reported');
    expect(svg).toContain(`height="${height}"`);
  });

  it('fills the 12 trend months, the missing ones with zeros, oldest first', () => {
    const c = buildCharts(
      input(),
      history({ monthly: [figures(MONTHS[3] ?? '', { runs: 5, completed: 5 })] }),
    );
    expect(c.months.map((m) => m.month)).toEqual(MONTHS);
    expect(c.runs.data.month).toEqual(MONTHS);
    expect(c.runs.data.total).toEqual(MONTHS.map((_, i) => (i === 3 ? 5 : 0)));
  });

  it('ticks the months as "Mon YY"', () => {
    const c = buildCharts(input(), history());
    expect([MONTHS[0], MONTHS[11]]).toEqual(['2025-12', '2026-11']);
    const ticks = texts(c.runs.svg);
    expect(ticks).toContain('Dec 25');
    expect(ticks).toContain('Nov 26');
  });

  it.each([
    ['no month with a running run: no running series', 0, false],
    ['a month with a running run: the running series is drawn', 2, true],
  ])('%s', (_name, running, drawn) => {
    const m = figures(MONTHS[11] ?? '', { runs: 10, completed: 3, closureOnly: 1, launched: 4, running });
    const c = buildCharts(input(), history({ monthly: [m] }));
    // completed counts the runs whose only message was the closure.
    expect(c.runs.data.completed?.at(-1)).toBe(4);
    expect(c.runs.data['launched only']?.at(-1)).toBe(4);
    expect(c.runs.data.running?.at(-1)).toBe(running);
    const legend = texts(c.runs.svg);
    expect(legend).toContain('launched only');
    expect(legend.includes('running')).toBe(drawn);
  });

  it('draws at most five components of a kind, each as a share of the runs that report them', () => {
    const executors: ComponentCount[] = [400, 300, 200, 100, 50, 25].map((runs, i) => ({
      kind: 'executor',
      component: `E${i}`,
      runs,
    }));
    const provider: ComponentCount = { kind: 'provider', component: 'LocalProvider', runs: 1 };
    const c = buildCharts(input({ components: [...executors, provider], componentRuns: 3000 }), history());
    const [exec, prov, launch] = c.components;
    expect(exec?.title).toBe('Executors');
    expect(exec?.data).toEqual({
      component: ['E0', 'E1', 'E2', 'E3', 'E4'],
      runs: [400, 300, 200, 100, 50],
      share: [13.3, 10, 6.7, 3.3, 1.7],
    });
    expect(exec?.svg).toContain(`height="${40 + 28 * 5}"`);
    expect(prov?.data.component).toEqual(['LocalProvider']);
    expect(launch?.data).toEqual({ component: [], runs: [], share: [] });
  });

  it('a component share is 0, not NaN, when no run reported its configuration', () => {
    const rows: ComponentCount[] = [{ kind: 'launcher', component: 'SrunLauncher', runs: 3 }];
    const c = buildCharts(input({ components: rows, componentRuns: 0 }), history());
    expect(c.components[2]?.data.share).toEqual([0]);
  });

  it('names the Python version runs did not send "(not sent)", and shares each month in percent', () => {
    const [a, b] = [MONTHS[10] ?? '', MONTHS[11] ?? ''];
    const python = [
      { month: a, name: '3.12', runs: 3 },
      { month: a, name: '', runs: 1 },
      { month: b, name: '3.12', runs: 2 },
    ];
    const c = buildCharts(input(), history({ python }));
    expect(Object.keys(c.python.data).sort()).toEqual(['(not sent)', '3.12', 'month', 'total']);
    expect(c.python.data['3.12']?.slice(10)).toEqual([75, 100]);
    expect(c.python.data['(not sent)']?.slice(10)).toEqual([25, 0]);
    expect(c.python.data.total?.slice(9)).toEqual([0, 4, 2]);
  });

  it('groups Parsl versions by release quarter, newest first', () => {
    const m = MONTHS[11] ?? '';
    const parsl = [
      { month: m, name: '2026.01.05', runs: 1 },
      { month: m, name: '2026.10.13', runs: 1 },
      { month: m, name: '2026.11.02', runs: 2 },
    ];
    const c = buildCharts(input(), history({ parsl }));
    expect(Object.keys(c.parsl.data).filter((k) => k !== 'month' && k !== 'total')).toEqual([
      '2026 Q4',
      '2026 Q1',
    ]);
    expect(c.parsl.data['2026 Q4']?.at(-1)).toBe(75);
  });

  it('buckets installation ages, the unknown ones last', () => {
    const installAge = [
      { ageDays: 3, runs: 2 },
      { ageDays: 400, runs: 1 },
      { ageDays: -1, runs: 5 },
    ];
    const c = buildCharts(input(), history({ installAge }));
    expect(c.age.data.bucket?.at(-1)).toBe('unknown');
    expect(c.age.data.runs).toEqual([2, 0, 0, 0, 0, 1, 0, 5]);
  });

  it('escapes project names in the leaderboard SVG rather than placing them as markup', () => {
    const leaderboard = [{ project: '<img src=x onerror=alert(1)> & co', runs: 3, points: 6 }];
    const c = buildCharts(input({ leaderboard, totals: { ...totals(3), points: 6 } }), history());
    expect(c.leaderboard.data).toEqual({ project: [leaderboard[0]?.project], points: [6], runs: [3] });
    expect(c.leaderboard.svg).not.toContain('<img');
    expect(c.leaderboard.svg).toContain('&lt;img');
    expect(texts(c.leaderboard.svg)).not.toContain('none reported');
  });
});

describe('sparkline', () => {
  it.each([
    ['a trend', [1, 5, 3, 8]],
    ['an empty series', []],
    ['all zeros', [0, 0, 0]],
  ])('%s is a 150 x 30 px SVG with no axis text', (_name, values) => {
    const svg = sparkline(values);
    expect(svg).toMatch(/^<svg [^>]*width="150"[^>]*height="30"/);
    expect(texts(svg)).toEqual([]);
  });

  it('draws a line for a series, and none for an empty one', () => {
    // the stroked path: an empty series leaves it without a single point (d="")
    const line = /<path d="M[^"]+"[^>]*stroke-width="1.5"/;
    expect(sparkline([1, 5, 3, 8])).toMatch(line);
    expect(sparkline([])).not.toMatch(line);
    expect(sparkline([1, 5, 3, 8])).not.toBe(sparkline([8, 3, 5, 1]));
  });
});
