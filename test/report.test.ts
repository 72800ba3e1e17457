/**
 * The funders' report rendered from a known year of history (2025, written as the aggregator
 * writes it) on the real ClickHouse: every chart present, its numbers equal to the tables and
 * to the history, its reading computed, the HTML self-contained, and the PDF printed by
 * headless Chromium with one page per section (pdfinfo).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '@parsl-usage/ops/internal/report-cli';
import { fetchReportHistory, fetchReportInput } from '@parsl-usage/ops/internal/report-fetch';
import { buildCharts } from '@parsl-usage/ops/internal/report-charts';
import { renderHtml, reportPages } from '@parsl-usage/ops/internal/report-html';
import { periodsFor } from '@parsl-usage/ops/internal/report';
import { ChangeLog, facts, release, type WorkflowFacts } from './analytics-support.js';
import { CH_USERS, clickhouse, clickhouseUrl, freshDatabase } from './setup/env.js';

const YEAR = 2025;
const HOSTILE = '<img src=x onerror=alert(1)>&"';
const month = (i: number): string => `${YEAR}-${String(i + 1).padStart(2, '0')}`;
/** Releases on the 3rd of every month. */
const releaseDay = (i: number): string => `${month(i)}-03`;

/** Month i has 4 + 2i runs; 3.12 overtakes 3.11 in June; half the runs are on the month's release. */
function history(): WorkflowFacts[] {
  const out: WorkflowFacts[] = [];
  for (let i = 0; i < 12; i++) {
    const n = 4 + 2 * i;
    for (let k = 0; k < n; k++) {
      const day = `${month(i)}-${String(10 + (k % 15)).padStart(2, '0')}`;
      const level = k % 3 === 0 ? 3 : 1;
      const rel = k % 2 === 0 || i === 0 ? releaseDay(i) : releaseDay(i - 1);
      out.push(
        facts(`w-${i}-${k}`, {
          day,
          tracking_level: level,
          status: level === 3 ? (k % 6 === 0 ? 'completed' : 'running') : 'launched',
          has_closure: level === 3 && k % 6 === 0 ? 1 : 0,
          app_count: level === 3 && k % 6 === 0 ? 10 : 0,
          python_minor: k < n * (i >= 5 ? 0.7 : 0.3) ? '3.12' : '3.11',
          project_name: k % 4 === 0 ? `proj${k % 8}` : '',
          executors: level === 3 ? ['HighThroughputExecutor'] : [],
          providers: level === 3 ? [k % 2 ? 'SlurmProvider' : 'LocalProvider'] : [],
          ...release(rel, day),
        }),
      );
    }
  }
  // A hostile project name: it must reach the page as text, never as markup.
  out.push(
    facts('w-hostile', {
      day: `${month(10)}-20`,
      project_name: HOSTILE,
      ...release(releaseDay(10), `${month(10)}-20`),
    }),
  );
  return out;
}

/** Runs of month i (the hostile run adds one to November). */
const runsIn = (i: number): number => 4 + 2 * i + (i === 10 ? 1 : 0);

describe('funders report (HTML, charts, PDF)', () => {
  let db: string;
  let out: string;

  beforeAll(async () => {
    db = await freshDatabase('report');
    out = await mkdtemp(join(tmpdir(), 'report-test-'));
    const admin = clickhouse('admin');
    try {
      await new ChangeLog(admin, `${db}.workflow_changes`).put(...history());
    } finally {
      await admin.close();
    }
  });

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  async function load(spec: { month: string } | { year: string }) {
    const { period, previous } = periodsFor(spec);
    const client = clickhouse('admin');
    try {
      const [input, hist] = await Promise.all([
        fetchReportInput(client, db, period, previous, new Date('2026-01-02T00:00:00Z')),
        fetchReportHistory(client, db, period),
      ]);
      return { input, hist, charts: buildCharts(input, hist) };
    } finally {
      await client.close();
    }
  }

  it('draws every chart from the same numbers as the tables', async () => {
    const { input, hist, charts } = await load({ month: `${YEAR}-11` });
    const html = renderHtml(input, hist, charts);
    const ids = [
      'runs-per-month',
      'python-shares',
      'parsl-shares',
      'executors',
      'providers',
      'launchers',
      'release-adoption',
      'installation-age',
      'leaderboard',
    ];
    for (const id of ids)
      expect(html).toMatch(new RegExp(`<figure id="${id}"[^>]*><figcaption>.*?</figcaption><svg `));

    // Runs per month: the history's counts, the stack adds up, the period's month is the totals table's.
    const runs = charts.runs.data;
    const months = runs.month ?? [];
    const totals = runs.total ?? [];
    // The twelve months up to the report's month: December 2024 (no runs) to November 2025.
    expect(months).toEqual([`${YEAR - 1}-12`, ...Array.from({ length: 11 }, (_, i) => month(i))]);
    expect(totals).toEqual([0, ...Array.from({ length: 11 }, (_, i) => runsIn(i))]);
    const stacked = months.map((_, m) =>
      ['completed', 'unfinished', 'running', 'launched only'].reduce((n, k) => n + Number(runs[k]?.[m]), 0),
    );
    expect(stacked).toEqual(totals);
    expect(totals[11]).toBe(input.totals.runs);
    expect(runs.unfinished?.[11]).toBe(input.totals.unfinished);
    expect(charts.runs.reading).toBe(
      'Runs grew by 525 % from 4 in January 2025 to 25 in November 2025; the busiest month was November 2025 with 25.',
    );
    expect(html).toContain(`<td>November 2025</td><td>${runsIn(10)}</td>`);

    expect(charts.python.reading).toBe(
      '3.12 overtook 3.11 in June 2025 and led in November 2025 with 68 % of runs.',
    );
    expect(charts.python.data.total).toEqual(totals);
    // Components: the drawn shares are runs / runs that report their configuration, as in the table.
    expect(charts.components[0]?.data.runs).toEqual(
      input.components.filter((c) => c.kind === 'executor').map((c) => c.runs),
    );
    expect(charts.components[0]?.data.share).toEqual([100]);
    expect(charts.components[2]?.reading).toBe('No run reported a launcher in this period.');
    // Installation age covers every run of the period; adoption curves start at the month's release.
    expect(charts.age.data.runs?.reduce((n, r) => Number(n) + Number(r), 0)).toBe(input.totals.runs);
    expect(Object.keys(charts.adoption.data)).toEqual(['2025.11.03']);
    expect(charts.adoption.reading).toMatch(/^2025\.11\.03 was the fastest to reach half of all runs/);
    expect(charts.leaderboard.data.points).toEqual(input.leaderboard.map((p) => p.points));

    expect(charts.leaderboard.data.project).toContain(HOSTILE);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;');
    // Self-contained: nothing fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|@import/i);
    expect(html).not.toMatch(/<[^>]*\s(src|href)=/i);
    expect(html.match(/url\((?!#)/g)).toBeNull();
  });

  it.each([
    [{ month: `${YEAR}-11` }, `parsl-usage-${YEAR}-11`],
    [{ year: String(YEAR) }, `parsl-usage-${YEAR}`],
  ])('writes Markdown, CSV, HTML and a PDF of one page per section (%o)', async (spec, base) => {
    const { period, previous } = periodsFor(spec);
    const files = await writeReport({
      period,
      previous,
      out,
      chromium: '/usr/bin/chromium',
      clickhouse: { url: clickhouseUrl(), ...CH_USERS.admin, database: db, logLevel: 'info' },
    });
    expect(files).toEqual(['md', 'csv', 'html', 'pdf'].map((e) => join(out, `${base}.${e}`)));
    const html = await readFile(join(out, `${base}.html`), 'utf8');
    const { input } = await load(spec);
    const info = execFileSync('pdfinfo', [join(out, `${base}.pdf`)], { encoding: 'utf8' });
    expect(info).toMatch(new RegExp(`^Pages:\\s+${reportPages(input)}$`, 'm'));
    if ('year' in spec) {
      expect(html).toContain(`<h2>${YEAR} month by month</h2>`);
      expect(html).toContain('peak Dec 2025: 26');
      expect(input.totals.runs).toBe(Array.from({ length: 12 }, (_, i) => runsIn(i)).reduce((a, b) => a + b));
    }
  });
});
