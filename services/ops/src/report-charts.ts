/**
 * The report's charts: each one's data (kept, so tests can hold it against the tables), its
 * one-sentence reading and its SVG. No I/O.
 */
import type { MonthCount, MonthFigures, ReportHistory } from './report-history.js';
import {
  adoptionReading,
  ageReading,
  componentsReading,
  leaderboardReading,
  runsReading,
  sharesReading,
} from './report-readings.js';
import {
  adoptionCurves,
  ageBuckets,
  AGE_UNKNOWN,
  byReleaseQuarter,
  fillMonths,
  medianAge,
  shareSeries,
  type ShareSeries,
} from './report-series.js';
import { renderSvg, type ChartOption } from './report-svg.js';
import type { ComponentCount, ReportInput } from './report.js';

export interface Chart {
  id: string;
  title: string;
  reading: string;
  /** what is drawn, by series name */
  data: Record<string, (number | string)[]>;
  svg: string;
}

const WIDTH = 680; // px: A4 at 96 dpi less the margins

function monthTick(month: string): string {
  const names = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
  return `${names[Number(month.slice(5, 7)) - 1] ?? month} ${month.slice(2, 4)}`;
}

/** Drawn in place of an empty chart, so that every chart keeps its place. */
function nothing(rows: number): ChartOption {
  const textStyle = { fontSize: 11, fontWeight: 'normal', color: '#888' } as const;
  return rows > 0 ? {} : { title: { text: 'none reported', left: 'center', top: 'middle', textStyle } };
}

const GRID = { left: 56, right: 16, top: 36, bottom: 28, containLabel: false };
const LEGEND = { top: 0, left: 'center', itemWidth: 14, itemHeight: 9, itemGap: 18 } as const;

/** Launched-only runs (levels 1 and 2) are the normal case, not a warning: a quiet colour. */
const STATUS_COLOURS = {
  completed: '#3465a4',
  unfinished: '#e07b24',
  running: '#4e9a06',
  'launched only': '#a9bcd0',
};

function runsChart(months: MonthFigures[]): Chart {
  const data = {
    month: months.map((m) => m.month),
    completed: months.map((m) => m.completed + m.closureOnly),
    unfinished: months.map((m) => m.unfinished),
    running: months.map((m) => m.running),
    'launched only': months.map((m) => m.launched),
    total: months.map((m) => m.runs),
  };
  const stacks = ['completed', 'unfinished', 'running', 'launched only'] as const;
  const shown = stacks.filter((k) => k !== 'running' || data.running.some((n) => n > 0));
  const option: ChartOption = {
    legend: LEGEND,
    grid: GRID,
    xAxis: { type: 'category', data: data.month.map(monthTick), axisLabel: { interval: 0 } },
    yAxis: { type: 'value' },
    series: shown.map((k) => ({
      name: k,
      type: 'bar',
      stack: 'runs',
      data: data[k],
      barMaxWidth: 36,
      color: STATUS_COLOURS[k],
    })),
  };
  return {
    id: 'runs-per-month',
    title: 'Runs per month',
    reading: runsReading(months),
    data,
    svg: renderSvg(option, WIDTH, 260),
  };
}

function sharesChart(id: string, title: string, what: string, s: ShareSeries): Chart {
  const option: ChartOption = {
    legend: LEGEND,
    grid: GRID,
    xAxis: { type: 'category', data: s.months.map(monthTick), axisLabel: { interval: 0 } },
    yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value} %' } },
    series: s.names.map((name, i) => ({
      name,
      type: 'bar',
      stack: 'share',
      data: s.shares[i] ?? [],
      barMaxWidth: 36,
    })),
  };
  const data: Chart['data'] = { month: s.months, total: s.totals };
  s.names.forEach((n, i) => (data[n] = s.shares[i] ?? []));
  return { id, title, reading: sharesReading(s, what), data, svg: renderSvg(option, WIDTH, 230) };
}

function componentChart(kind: 'executor' | 'provider' | 'launcher', input: ReportInput): Chart {
  const rows: ComponentCount[] = input.components.filter((c) => c.kind === kind).slice(0, 5);
  const base = input.componentRuns;
  const share = rows.map((r) => (base ? Math.round((1000 * r.runs) / base) / 10 : 0));
  const option: ChartOption = {
    grid: { left: 210, right: 56, top: 8, bottom: 24 },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value} %' } },
    yAxis: {
      type: 'category',
      inverse: true,
      data: rows.map((r) => r.component),
      axisLabel: { width: 200, overflow: 'truncate' },
    },
    series: [
      {
        type: 'bar',
        data: share,
        barMaxWidth: 18,
        label: { show: true, position: 'right', formatter: '{c} %' },
      },
    ],
    ...nothing(rows.length),
  };
  return {
    id: `${kind}s`,
    title: `${kind[0]?.toUpperCase()}${kind.slice(1)}s`,
    reading: componentsReading(kind, rows, base),
    data: { component: rows.map((r) => r.component), runs: rows.map((r) => r.runs), share },
    svg: renderSvg(option, WIDTH, 40 + 28 * Math.max(rows.length, 1)),
  };
}

function adoptionChart(input: ReportInput, h: ReportHistory): Chart {
  const curves = adoptionCurves(h.dayRelease, input.period);
  const option: ChartOption = {
    legend: LEGEND,
    grid: { ...GRID, bottom: 40 },
    xAxis: { type: 'value', name: 'days since release', nameLocation: 'middle', nameGap: 24, min: 0 },
    yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value} %' } },
    series: curves.map((c) => ({
      name: c.release,
      type: 'line',
      symbolSize: 5,
      data: c.points.map((p) => [p.days, p.share]),
    })),
  };
  const data: Chart['data'] = {};
  for (const c of curves) data[c.release] = c.points.map((p) => p.share);
  return {
    id: 'release-adoption',
    title: "Adoption of the period's releases (share of runs on the release or newer)",
    reading: adoptionReading(curves),
    data,
    svg: renderSvg(option, WIDTH, 250),
  };
}

function ageChart(input: ReportInput, h: ReportHistory): Chart {
  const buckets = ageBuckets(h.installAge);
  const unknown = buckets.find((b) => b.label === AGE_UNKNOWN)?.runs ?? 0;
  const total = buckets.reduce((n, b) => n + b.runs, 0);
  const option: ChartOption = {
    grid: { ...GRID, top: 16 },
    xAxis: { type: 'category', data: buckets.map((b) => b.label), axisLabel: { interval: 0 } },
    yAxis: { type: 'value' },
    series: [
      {
        type: 'bar',
        data: buckets.map((b) => b.runs),
        barMaxWidth: 44,
        label: { show: true, position: 'top' },
      },
    ],
  };
  return {
    id: 'installation-age',
    title: 'Installation age (run day − release day of the Parsl used)',
    reading: ageReading(medianAge(h.installAge), unknown, total || input.totals.runs),
    data: { bucket: buckets.map((b) => b.label), runs: buckets.map((b) => b.runs) },
    svg: renderSvg(option, WIDTH, 230),
  };
}

function leaderboardChart(input: ReportInput): Chart {
  const b = input.leaderboard;
  const option: ChartOption = {
    grid: { left: 180, right: 64, top: 8, bottom: 24 },
    xAxis: { type: 'value' },
    yAxis: {
      type: 'category',
      inverse: true,
      data: b.map((p) => p.project),
      axisLabel: { width: 170, overflow: 'truncate' },
    },
    series: [
      {
        type: 'bar',
        data: b.map((p) => p.points),
        barMaxWidth: 18,
        label: { show: true, position: 'right' },
      },
    ],
    ...nothing(b.length),
  };
  return {
    id: 'leaderboard',
    title: 'Leaderboard (points: 2 per level-3 run, else 1)',
    reading: leaderboardReading(b, input.totals.points),
    data: { project: b.map((p) => p.project), points: b.map((p) => p.points), runs: b.map((p) => p.runs) },
    svg: renderSvg(option, WIDTH, 40 + 26 * Math.max(b.length, 1)),
  };
}

export interface ReportCharts {
  months: MonthFigures[];
  runs: Chart;
  python: Chart;
  parsl: Chart;
  components: Chart[];
  adoption: Chart;
  age: Chart;
  leaderboard: Chart;
}

/** Runs that did not send the value show as such, not as an empty name. */
function notSent(rows: MonthCount[]): MonthCount[] {
  return rows.map((r) => (r.name === '' ? { ...r, name: '(not sent)' } : r));
}

export function buildCharts(input: ReportInput, h: ReportHistory): ReportCharts {
  const months = fillMonths(h.months, h.monthly);
  return {
    months,
    runs: runsChart(months),
    python: sharesChart(
      'python-shares',
      'Python versions (share of runs per month)',
      'Python version',
      shareSeries(h.months, notSent(h.python), 5),
    ),
    parsl: sharesChart(
      'parsl-shares',
      'Parsl releases in use, by release quarter (share of runs per month)',
      'Parsl version',
      shareSeries(h.months, byReleaseQuarter(h.parsl), 6, true),
    ),
    components: (['executor', 'provider', 'launcher'] as const).map((k) => componentChart(k, input)),
    adoption: adoptionChart(input, h),
    age: ageChart(input, h),
    leaderboard: leaderboardChart(input),
  };
}

/** A small line for the year's trend table. */
export function sparkline(values: number[]): string {
  return renderSvg(
    {
      grid: { left: 2, right: 2, top: 4, bottom: 4 },
      xAxis: { type: 'category', show: false, boundaryGap: false, data: values.map((_, i) => i) },
      yAxis: { type: 'value', show: false, min: 0 },
      series: [
        {
          type: 'line',
          data: values,
          symbol: 'none',
          lineStyle: { width: 1.5 },
          areaStyle: { opacity: 0.15 },
        },
      ],
    },
    150,
    30,
  );
}
