/**
 * The report as one self-contained HTML page (inline CSS and SVG, nothing fetched), laid out
 * for A4: each section starts a page, so the PDF has a known number of pages (reportPages).
 * Pure.
 */
import { buildCharts, sparkline, type Chart, type ReportCharts } from './report-charts.js';
import type { MonthFigures, ReportHistory } from './report-history.js';
import { monthName, peakReading, shortMonth } from './report-readings.js';
import { growthPct, lastDay, type Count, type ReportInput, type Totals } from './report.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

function share(part: number, whole: number): string {
  return whole === 0 ? '–' : `${(Math.round((1000 * part) / whole) / 10).toFixed(1)} %`;
}

function growth(cur: number, prev: number): string {
  const g = growthPct(cur, prev);
  return g === null ? 'n/a' : `${g > 0 ? '+' : ''}${g.toFixed(1)} %`;
}

function table(head: string[], rows: string[][], cls = ''): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function figure(c: Chart): string {
  return (
    `<figure id="${c.id}" data-chart="${c.id}"><figcaption><h3>${esc(c.title)}</h3>` +
    `<p class="reading">${esc(c.reading)}</p></figcaption>${c.svg}</figure>`
  );
}

type Headline = { key: keyof Totals; label: string; short: string; month: (m: MonthFigures) => number };

const HEADLINES: Headline[] = [
  { key: 'runs', label: 'Workflow runs', short: 'runs', month: (m) => m.runs },
  {
    key: 'runsWithClosure',
    label: 'Runs that reported their end (level 3)',
    short: 'reported their end',
    month: (m) => m.completed + m.closureOnly,
  },
  {
    key: 'unfinished',
    label: 'Level-3 runs that never reported their end',
    short: 'never reported their end',
    month: (m) => m.unfinished,
  },
  { key: 'apps', label: 'Apps run', short: 'apps run', month: (m) => m.apps },
  { key: 'appFails', label: 'Apps failed', short: 'apps failed', month: (m) => m.appFails },
  { key: 'points', label: 'Leaderboard points', short: 'points', month: (m) => m.points },
  { key: 'namedProjects', label: 'Named projects', short: 'named projects', month: (m) => m.namedProjects },
];

function totalsTable(input: ReportInput): string {
  const { period, previous, totals, previousTotals: pt } = input;
  const rows = HEADLINES.map(({ key, label }) => [
    esc(label),
    int(totals[key]),
    int(pt[key]),
    growth(totals[key], pt[key]),
  ]);
  return table(['', esc(period.label), esc(previous.label), 'change'], rows, 'totals');
}

function monthlyTable(months: MonthFigures[]): string {
  const rows = months.map((m) => [
    esc(monthName(m.month)),
    int(m.runs),
    int(m.completed + m.closureOnly),
    int(m.unfinished),
    int(m.running),
    int(m.launched),
  ]);
  return table(['month', 'runs', 'completed', 'unfinished', 'running', 'launched only'], rows, 'monthly');
}

function countTable(what: string, rows: Count[], total: number): string {
  if (rows.length === 0) return `<p>No runs in this period.</p>`;
  return table(
    [esc(what), 'runs', 'share'],
    rows.map((r) => [esc(r.name || '(none)'), int(r.runs), share(r.runs, total)]),
  );
}

function yearTrend(months: MonthFigures[]): string {
  const head = ['month', ...HEADLINES.map((h) => esc(h.short))];
  const spark = ['', ...HEADLINES.map((h) => sparkline(months.map(h.month)))];
  const peaks = ['', ...HEADLINES.map((h) => esc(peakReading(months, h.month)))];
  const rows = months.map((m) => [esc(shortMonth(m.month)), ...HEADLINES.map((h) => int(h.month(m)))]);
  return table(head, [spark, peaks, ...rows], 'trend');
}

const CSS = `
@page { size: A4; margin: 12mm 14mm; }
* { box-sizing: border-box; }
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; font-size: 10.5px; color: #222; margin: 0; }
main { max-width: 690px; margin: 0 auto; }
section.page + section.page { break-before: page; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 10px 0 4px; border-bottom: 1px solid #bbb; }
h3 { font-size: 12px; margin: 6px 0 0; } p { margin: 2px 0 6px; }
p.reading { font-style: italic; color: #333; }
figure { margin: 4px 0 8px; break-inside: avoid; } figure svg { display: block; }
table { border-collapse: collapse; margin: 4px 0 8px; break-inside: avoid; }
th, td { padding: 1px 6px; border-bottom: 1px solid #e2e2e2; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f0f0f0; }
.pair { display: flex; gap: 24px; } .pair > div { flex: 1; }
table.trend { width: 100%; } table.trend th { font-size: 9.5px; vertical-align: bottom; }
table.trend td { font-size: 9.5px; white-space: nowrap; } table.trend svg { width: 76px; height: 24px; }
table.board td:nth-child(2), table.board th:nth-child(2) { text-align: left; }
footer { margin-top: 8px; color: #666; font-size: 9px; }
`;

/** Pages of the PDF: one per section. */
export function reportPages(input: ReportInput): number {
  return isYear(input) ? 6 : 5;
}

function isYear(input: ReportInput): boolean {
  return /^\d{4}$/.test(input.period.label);
}

export function renderHtml(
  input: ReportInput,
  history: ReportHistory,
  charts: ReportCharts = buildCharts(input, history),
): string {
  const { period, previous, totals } = input;
  const sections: string[] = [];
  sections.push(
    `<h1>Parsl usage, ${esc(period.label)}</h1>` +
      `<p>Opt-in usage statistics of Parsl runs from ${period.start} to ${lastDay(period)} (UTC, by run day), ` +
      `compared with ${esc(previous.label)}. Parsl's own test runs are left out.</p>` +
      `<h2>Totals</h2>${totalsTable(input)}${figure(charts.runs)}${monthlyTable(charts.months)}`,
  );
  sections.push(
    `<h2>Python and Parsl versions</h2>${figure(charts.python)}${figure(charts.parsl)}` +
      `<div class="pair"><div><h3>Python, ${esc(period.label)}</h3>${countTable('Python', input.pythonVersions, totals.runs)}</div>` +
      `<div><h3>Parsl, ${esc(period.label)}</h3>${countTable('Parsl', input.parslVersions, totals.runs)}</div></div>`,
  );
  sections.push(
    `<h2>Executors, providers and launchers</h2><p>Share of the ${int(input.componentRuns)} runs that report ` +
      `their configuration (tracking level 2 and 3); a run may use several.</p>${charts.components.map(figure).join('')}`,
  );
  sections.push(`<h2>Releases and installations</h2>${figure(charts.adoption)}${figure(charts.age)}`);
  const board = input.leaderboard.map((p, i) => [String(i + 1), esc(p.project), int(p.runs), int(p.points)]);
  sections.push(
    `<h2>Projects and platforms</h2>${figure(charts.leaderboard)}` +
      `<div class="pair"><div>${board.length ? table(['#', 'project', 'runs', 'points'], board, 'board') : '<p>No named projects in this period.</p>'}</div>` +
      `<div>${countTable('platform', input.platforms, totals.runs)}</div></div>`,
  );
  if (isYear(input)) sections.push(`<h2>${esc(period.label)} month by month</h2>${yearTrend(charts.months)}`);
  const body = sections.map((s) => `<section class="page">\n${s}\n</section>`).join('\n');
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Parsl usage, ${esc(period.label)}</title>` +
    `<style>${CSS}</style></head><body><main>\n${body}\n` +
    `<footer>Generated ${esc(input.generatedAt)}.</footer></main></body></html>\n`
  );
}
