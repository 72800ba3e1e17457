import { describe, expect, it } from 'vitest';
import { growthPct, periodsFor, renderReport, reportQueries, type ReportInput } from './report.js';
import { parseReportArgs } from './report-cli.js';
import { totals } from './report.fixture.js';

const zeroTotals = totals(0);

function input(over: Partial<ReportInput> = {}): ReportInput {
  const { period, previous } = periodsFor({ month: '2026-10' });
  return {
    period,
    previous,
    totals: {
      runs: 1200,
      runsWithClosure: 400,
      unfinished: 20,
      apps: 150_000,
      appFails: 1500,
      points: 1600,
      namedProjects: 12,
    },
    previousTotals: {
      runs: 1000,
      runsWithClosure: 300,
      unfinished: 25,
      apps: 100_000,
      appFails: 2000,
      points: 1300,
      namedProjects: 10,
    },
    pythonVersions: [
      { name: '3.12', runs: 600 },
      { name: '3.11', runs: 400 },
    ],
    parslVersions: [{ name: '2026.10.06', runs: 700 }],
    platforms: [{ name: 'Linux', runs: 1100 }],
    components: [
      { kind: 'executor', component: 'HighThroughputExecutor', runs: 800 },
      { kind: 'provider', component: 'SlurmProvider', runs: 300 },
    ],
    componentRuns: 1000,
    leaderboard: [
      { project: 'climate|sim', runs: 50, points: 100 },
      { project: 'bio', runs: 60, points: 90 },
    ],
    generatedAt: '2026-11-01T00:00:00.000Z',
    ...over,
  };
}

describe('periodsFor', () => {
  it.each([
    [{ month: '2026-10' }, ['2026-10', '2026-10-01', '2026-11-01'], ['2026-09', '2026-09-01', '2026-10-01']],
    [{ month: '2026-12' }, ['2026-12', '2026-12-01', '2027-01-01'], ['2026-11', '2026-11-01', '2026-12-01']],
    [{ month: '2026-01' }, ['2026-01', '2026-01-01', '2026-02-01'], ['2025-12', '2025-12-01', '2026-01-01']],
    [{ year: '2026' }, ['2026', '2026-01-01', '2027-01-01'], ['2025', '2025-01-01', '2026-01-01']],
  ])('%o', (spec, cur, prev) => {
    const { period, previous } = periodsFor(spec);
    expect([period.label, period.start, period.end]).toEqual(cur);
    expect([previous.label, previous.start, previous.end]).toEqual(prev);
  });

  it.each([{ month: '2026-13' }, { month: '2026-1' }, { month: "2026-10'; DROP" }, { year: '26' }])(
    'rejects %o',
    (spec) => {
      expect(() => periodsFor(spec)).toThrow(/must be/);
    },
  );
});

describe('growthPct', () => {
  it.each([
    [1200, 1000, 20],
    [1000, 1200, -16.7],
    [5, 0, null],
    [0, 0, null],
    [1000, 1000, 0],
  ])('%d vs %d -> %s', (cur, prev, want) => {
    expect(growthPct(cur, prev)).toBe(want);
  });
});

describe('reportQueries', () => {
  it('bounds every query by the period and reads only the analyst views', () => {
    const q = reportQueries('parsl_usage', periodsFor({ year: '2026' }).period);
    for (const sql of Object.values(q)) {
      expect(sql).toContain(`day >= toDate('2026-01-01') AND day < toDate('2027-01-01')`);
      for (const m of sql.matchAll(/parsl_usage\.([a-z_]+)/g))
        expect(m[1]).not.toMatch(/^(rollup_|workflow)/);
    }
  });

  it.each(['parsl_usage; DROP TABLE x', '1db', ''])('rejects database %j', (db) => {
    expect(() => reportQueries(db, periodsFor({ year: '2026' }).period)).toThrow(/identifier/);
  });
});

describe('renderReport', () => {
  it.each([
    ['totals with growth', '| Workflow runs | 1,200 | 1,000 | +20.0 % |'],
    ['falling figures', '| Apps failed | 1,500 | 2,000 | -25.0 % |'],
    ['shares of all runs', '| 3.12 | 600 | 50.0 % |'],
    ['component shares of level 2/3 runs', '| HighThroughputExecutor | 800 | 80.0 % |'],
    ['a kind with nothing reported', '| (none reported) | 0 | – |'],
    ['leaderboard rank, escaped pipe', '| 1 | climate\\|sim | 50 | 100 |'],
    ['period header', '# Parsl usage, 2026-10'],
    [
      'period in words',
      "Opt-in usage statistics of Parsl runs from 2026-10-01 to 2026-10-31 (UTC, by run day), compared with 2026-09. Parsl's own test runs are left out.",
    ],
  ])('markdown: %s', (_what, line) => {
    expect(renderReport(input()).markdown.split('\n')).toContain(line);
  });

  it.each([
    ['header', 'section,item,value,previous_value,change_pct'],
    ['totals', 'totals,runs,1200,1000,20'],
    ['falling figure', 'totals,unfinished,20,25,-20'],
    ['a pipe needs no quoting', 'leaderboard_points,climate|sim,100,,'],
    ['component', 'executor,HighThroughputExecutor,800,,'],
    ['snake_case items', 'totals,runs_with_closure,400,300,33.3'],
  ])('csv: %s', (_what, line) => {
    expect(renderReport(input()).csv.split('\n')).toContain(line);
  });

  it('quotes CSV fields with commas and quotes', () => {
    const { csv } = renderReport(input({ leaderboard: [{ project: 'a,"b"', runs: 1, points: 2 }] }));
    expect(csv.split('\n')).toContain('leaderboard_points,"a,""b""",2,,');
  });

  it('an empty period renders without NaN and says so', () => {
    const r = renderReport(
      input({
        totals: zeroTotals,
        previousTotals: zeroTotals,
        pythonVersions: [],
        parslVersions: [],
        platforms: [],
        components: [],
        componentRuns: 0,
        leaderboard: [],
      }),
    );
    expect(r.markdown).not.toMatch(/NaN|Infinity|undefined/);
    expect(r.markdown).toContain('No named projects in this period.');
    expect(r.markdown).toContain('| Workflow runs | 0 | 0 | n/a |');
    expect(r.csv).toContain('totals,runs,0,0,\n');
  });
});

describe('parseReportArgs', () => {
  const env = {
    CLICKHOUSE_URL: 'http://127.0.0.1:8123',
    CLICKHOUSE_USER: 'analyst',
    CLICKHOUSE_PASSWORD: 'pw',
  };

  it('takes a month', () => {
    const o = parseReportArgs(['--month', '2026-10', '--out', '/tmp/r'], env);
    expect([o.period.label, o.previous.label, o.out, o.clickhouse.database]).toEqual([
      '2026-10',
      '2026-09',
      '/tmp/r',
      'parsl_usage',
    ]);
  });

  it.each([
    [{}, ['analyst', 'analyst-dev-password']],
    [{ CLICKHOUSE_USER: '', CLICKHOUSE_PASSWORD: '' }, ['analyst', 'analyst-dev-password']],
    [{ CLICKHOUSE_USER: 'ro', CLICKHOUSE_PASSWORD: 'secret' }, ['ro', 'secret']],
  ])('reads as analyst with the local dev password unless told otherwise (%o)', (e, user) => {
    const o = parseReportArgs(['--year', '2026', '--out', 'x'], e);
    expect([o.clickhouse.username, o.clickhouse.password]).toEqual(user);
  });

  it.each([
    [['--month', '2026-10'], /--out DIR is required/],
    [['--month', '2026-13', '--out', 'x'], /--month must be YYYY-MM/],
    [['--year', '26', '--out', 'x'], /--year must be YYYY/],
    [['--month', '2026-10', '--year', '2026', '--out', 'x'], /exactly one of --month and --year/],
    [['--out', 'x'], /exactly one of --month and --year/],
    [['--week', '3', '--out', 'x'], /Unknown option '--week'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseReportArgs(argv, env)).toThrow(message);
  });

  it.each([
    [{ CLICKHOUSE_URL: 'not a url' }, /CLICKHOUSE_URL must be a URL/],
    [{ CLICKHOUSE_DATABASE: 'x; DROP' }, /CLICKHOUSE_DATABASE must be an SQL identifier/],
  ])('rejects environment %o', (bad, message) => {
    expect(() => parseReportArgs(['--year', '2026', '--out', 'x'], { ...env, ...bad })).toThrow(message);
  });
});
