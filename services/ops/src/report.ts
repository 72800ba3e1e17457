/**
 * Funders' report: the figures of one calendar month or year against the period before.
 * Pure: builds the SQL (over the analyst views of 003-analyst-views.sql) and renders the
 * query results as Markdown and CSV; report-cli.ts runs the queries.
 */
import { SQL_IDENTIFIER } from '@parsl-usage/common';

export interface Period {
  /** '2026-10' or '2026' */
  label: string;
  /** first day, 'YYYY-MM-DD' */
  start: string;
  /** first day after the period, 'YYYY-MM-DD' */
  end: string;
}

export interface Totals {
  runs: number;
  /** runs whose closure arrived (completed + closure_only) */
  runsWithClosure: number;
  unfinished: number;
  apps: number;
  appFails: number;
  points: number;
  namedProjects: number;
}

export interface Count {
  name: string;
  runs: number;
}

export interface ComponentCount {
  kind: 'executor' | 'provider' | 'launcher';
  component: string;
  runs: number;
}

export interface ProjectScore {
  project: string;
  runs: number;
  points: number;
}

export interface ReportInput {
  period: Period;
  previous: Period;
  totals: Totals;
  previousTotals: Totals;
  pythonVersions: Count[];
  parslVersions: Count[];
  platforms: Count[];
  components: ComponentCount[];
  /** runs at tracking level 2 or 3: the runs that report components */
  componentRuns: number;
  leaderboard: ProjectScore[];
  /** ISO timestamp of the report */
  generatedAt: string;
}

export interface Report {
  markdown: string;
  csv: string;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const YEAR = /^(\d{4})$/;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** The period named by `--month YYYY-MM` or `--year YYYY`, and the one before it. */
export function periodsFor(spec: { month: string } | { year: string }): { period: Period; previous: Period } {
  if ('month' in spec) {
    const m = MONTH.exec(spec.month);
    if (!m) throw new Error(`month must be YYYY-MM, got ${JSON.stringify(spec.month)}`);
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const month = (yy: number, mm: number): Period => {
      const ny = mm === 12 ? yy + 1 : yy;
      const nm = mm === 12 ? 1 : mm + 1;
      return { label: `${yy}-${pad2(mm)}`, start: `${yy}-${pad2(mm)}-01`, end: `${ny}-${pad2(nm)}-01` };
    };
    return { period: month(y, mo), previous: mo === 1 ? month(y - 1, 12) : month(y, mo - 1) };
  }
  const m = YEAR.exec(spec.year);
  if (!m) throw new Error(`year must be YYYY, got ${JSON.stringify(spec.year)}`);
  const y = Number(m[1]);
  const year = (yy: number): Period => ({ label: String(yy), start: `${yy}-01-01`, end: `${yy + 1}-01-01` });
  return { period: year(y), previous: year(y - 1) };
}

const IDENT = SQL_IDENTIFIER;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The report's queries for a period. 18.16 has no query parameters, so values are
 * interpolated: only a checked identifier and checked dates ever reach the SQL.
 */
export function reportQueries(database: string, p: Period) {
  if (!IDENT.test(database))
    throw new Error(`database must be an identifier, got ${JSON.stringify(database)}`);
  if (!DAY.test(p.start) || !DAY.test(p.end)) throw new Error(`bad period ${JSON.stringify(p)}`);
  const db = database;
  const where = `day >= toDate('${p.start}') AND day < toDate('${p.end}')`;
  const top = (view: string, col: string, limit: number): string =>
    `SELECT ${col} AS name, sum(workflows) AS runs FROM ${db}.${view} WHERE ${where} GROUP BY name ORDER BY runs DESC, name ASC LIMIT ${limit}`;
  return {
    totals:
      `SELECT sum(workflows) AS runs, sum(completed) + sum(closure_only) AS runs_with_closure, sum(unfinished) AS unfinished_runs, ` +
      `sum(apps) AS app_count, sum(app_fails) AS app_fail_count, sum(points) AS point_count, ` +
      `(SELECT uniqExact(project_name) FROM ${db}.leaderboard_daily WHERE ${where}) AS named_projects ` +
      `FROM ${db}.daily_workflows WHERE ${where}`,
    pythonVersions: top('python_versions_daily', 'python_minor', 10),
    parslVersions: top('parsl_versions_daily', 'parsl_version', 10),
    platforms: top('platforms_daily', 'platform', 10),
    components:
      `SELECT kind, component, sum(workflows) AS runs FROM ${db}.components_daily WHERE ${where} ` +
      `GROUP BY kind, component ORDER BY kind ASC, runs DESC, component ASC`,
    componentRuns: `SELECT sum(workflows) AS runs FROM ${db}.tracking_levels_daily WHERE ${where} AND tracking_level IN ('2', '3')`,
    leaderboard:
      `SELECT project_name AS project, sum(runs) AS run_count, sum(points) AS point_count FROM ${db}.leaderboard_daily ` +
      `WHERE ${where} GROUP BY project ORDER BY point_count DESC, run_count DESC, project ASC LIMIT 10`,
  };
}

/** Change in percent, one decimal; null when there is nothing to compare with. */
export function growthPct(current: number, previous: number): number | null {
  if (previous === 0) return null;
  return Math.round((1000 * (current - previous)) / previous) / 10;
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '–' : `${(Math.round((1000 * part) / whole) / 10).toFixed(1)} %`;
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtGrowth(g: number | null): string {
  if (g === null) return 'n/a';
  return `${g > 0 ? '+' : ''}${g.toFixed(1)} %`;
}

/** Markdown table cell: a pipe or newline in a project name must not break the table. */
function cell(s: string): string {
  return (s === '' ? '(none)' : s)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const TOTAL_ROWS: { key: keyof Totals; csv: string; label: string }[] = [
  { key: 'runs', csv: 'runs', label: 'Workflow runs' },
  { key: 'runsWithClosure', csv: 'runs_with_closure', label: 'Runs that reported their end (level 3)' },
  { key: 'unfinished', csv: 'unfinished', label: 'Level-3 runs that never reported their end' },
  { key: 'apps', csv: 'apps', label: 'Apps run' },
  { key: 'appFails', csv: 'app_fails', label: 'Apps failed' },
  { key: 'points', csv: 'points', label: 'Leaderboard points' },
  { key: 'namedProjects', csv: 'named_projects', label: 'Named projects' },
];

/** The last day of a period, 'YYYY-MM-DD'. */
export function lastDay(p: Period): string {
  return new Date(Date.parse(`${p.end}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

const TOP_COMPONENTS = 5;

export function renderReport(input: ReportInput): Report {
  return { markdown: reportMarkdown(input), csv: reportCsv(input) };
}

function reportMarkdown(input: ReportInput): string {
  const { period, previous, totals, previousTotals } = input;
  const md: string[] = [];
  md.push(`# Parsl usage, ${period.label}`, '');
  md.push(
    `Opt-in usage statistics of Parsl runs from ${period.start} to ${lastDay(period)} (UTC, by run day), ` +
      `compared with ${previous.label}. Parsl's own test runs are left out.`,
    '',
  );
  md.push(
    '## Totals',
    '',
    `| | ${period.label} | ${previous.label} | change |`,
    '| --- | ---: | ---: | ---: |',
  );
  for (const { key, label } of TOTAL_ROWS) {
    md.push(
      `| ${label} | ${fmtInt(totals[key])} | ${fmtInt(previousTotals[key])} | ${fmtGrowth(growthPct(totals[key], previousTotals[key]))} |`,
    );
  }
  md.push('');
  countsSection(md, 'Python versions', 'Python', input.pythonVersions, totals.runs);
  countsSection(md, 'Parsl versions', 'Parsl', input.parslVersions, totals.runs);
  countsSection(md, 'Platforms', 'platform', input.platforms, totals.runs);
  componentsSection(md, input);
  leaderboardSection(md, input);
  md.push(`_Generated ${input.generatedAt}._`, '');
  return md.join('\n');
}

function countsSection(md: string[], title: string, what: string, rows: Count[], runs: number): void {
  md.push(`## ${title}`, '');
  if (rows.length === 0) {
    md.push('No runs in this period.', '');
    return;
  }
  md.push(`| ${what} | runs | share |`, '| --- | ---: | ---: |');
  for (const r of rows) md.push(`| ${cell(r.name)} | ${fmtInt(r.runs)} | ${pct(r.runs, runs)} |`);
  md.push('');
}

function componentsSection(md: string[], input: ReportInput): void {
  md.push('## Components', '');
  md.push(
    `Share of the ${fmtInt(input.componentRuns)} runs that report their configuration (tracking level 2 and 3).`,
    '',
  );
  for (const kind of ['executor', 'provider', 'launcher'] as const) {
    const rows = input.components.filter((c) => c.kind === kind).slice(0, TOP_COMPONENTS);
    md.push(`| ${kind} | runs | share |`, '| --- | ---: | ---: |');
    if (rows.length === 0) md.push(`| (none reported) | 0 | – |`);
    for (const r of rows)
      md.push(`| ${cell(r.component)} | ${fmtInt(r.runs)} | ${pct(r.runs, input.componentRuns)} |`);
    md.push('');
  }
}

function leaderboardSection(md: string[], input: ReportInput): void {
  md.push('## Leaderboard', '');
  if (input.leaderboard.length === 0) {
    md.push('No named projects in this period.', '');
    return;
  }
  md.push('| # | project | runs | points |', '| ---: | --- | ---: | ---: |');
  input.leaderboard.forEach((p, i) =>
    md.push(`| ${i + 1} | ${cell(p.project)} | ${fmtInt(p.runs)} | ${fmtInt(p.points)} |`),
  );
  md.push('');
}

function reportCsv(input: ReportInput): string {
  const { totals, previousTotals } = input;
  const csv: string[] = ['section,item,value,previous_value,change_pct'];
  const line = (...f: (string | number | null)[]): void => {
    csv.push(f.map(csvField).join(','));
  };
  for (const { key, csv: item } of TOTAL_ROWS) {
    line('totals', item, totals[key], previousTotals[key], growthPct(totals[key], previousTotals[key]));
  }
  for (const r of input.pythonVersions) line('python_version', r.name, r.runs, null, null);
  for (const r of input.parslVersions) line('parsl_version', r.name, r.runs, null, null);
  for (const r of input.platforms) line('platform', r.name, r.runs, null, null);
  line('component_runs', 'level_2_3_runs', input.componentRuns, null, null);
  for (const r of input.components) line(r.kind, r.component, r.runs, null, null);
  for (const p of input.leaderboard) {
    line('leaderboard_points', p.project, p.points, null, null);
    line('leaderboard_runs', p.project, p.runs, null, null);
  }
  return csv.join('\n') + '\n';
}
