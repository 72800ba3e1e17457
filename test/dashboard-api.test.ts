/**
 * The dashboard's JSON API against a fixture history in real ClickHouse.
 *
 * Access: the analyst user may only read the database named parsl_usage, and every test gets a
 * fresh database, so the main suite connects the dashboard as admin to its fresh database; the
 * last block starts a private ClickHouse with the working tree's users.d, creates the real
 * parsl_usage with the migrations, and connects the dashboard as analyst, as deployed.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { addDays, daysBetween, type IsoDay } from '@parsl-usage/dashboard/internal/dates';
import { bucketMiddle } from '@parsl-usage/dashboard/internal/histogram';
import { PANELS } from '@parsl-usage/dashboard/internal/params';
import { sqlFor } from '@parsl-usage/dashboard/internal/queries';
import type { RunFacts } from '@parsl-usage/kit/demo-history';
import { clickhouse, freshDatabase, MIGRATIONS_DIR } from './setup/env.js';
import {
  ChangeLog,
  startPrivateClickHouse,
  writeHistory,
  type PrivateClickHouse,
} from './analytics-support.js';
import {
  counted,
  countBy,
  END,
  fixture,
  FROM,
  insertHistory,
  INSERTED_AT_MS,
  SILENT_FROM,
  startDashboard,
  TODAY,
  type RunningDashboard,
} from './dashboard-support.js';

type Json = {
  columns: string[];
  rows: (string | number | boolean | null)[][];
  chart: Record<string, unknown>;
  summary?: Record<string, unknown>;
  error?: string;
  parameter?: string;
};

const history = fixture();
const runs = counted(history);
const range = `from=${FROM}&to=${END}`;

async function get(d: RunningDashboard, path: string): Promise<{ status: number; body: Json; type: string }> {
  const res = await fetch(`${d.base}${path}`);
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return {
    status: res.status,
    body: type.startsWith('application/json') ? (JSON.parse(text) as Json) : ({ text } as never),
    type,
  };
}

/** column `name` of a table answer as a map from its first column */
function column(body: Json, key: string, name: string): Map<string, unknown> {
  const k = body.columns.indexOf(key);
  const c = body.columns.indexOf(name);
  return new Map(body.rows.map((r) => [String(r[k]), r[c]]));
}

const monday = (day: string): string => {
  const dow = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
  return addDays(day as IsoDay, -dow);
};

describe('dashboard API over a fixture history', () => {
  let admin: ClickHouseClient;
  let d: RunningDashboard;
  let db: string;

  beforeAll(async () => {
    db = await freshDatabase('dash');
    admin = clickhouse('admin');
    await insertHistory(admin, db, history);
    d = await startDashboard(admin, db);
  });
  afterAll(async () => {
    await d?.app.stop();
    await admin?.close();
  });

  it('fixture sanity: runs, releases that send nothing, Parsl test runs left out', () => {
    expect(runs.length).toBeGreaterThan(1_000);
    expect(runs.some((w) => w.parsl_release_date >= SILENT_FROM)).toBe(false);
    expect(history.flat().some((w) => w.is_test === 1)).toBe(true);
  });

  it('headline: the totals the fixture implies', async () => {
    const { status, body } = await get(d, `/api/headline?${range}`);
    expect(status).toBe(200);
    const apps = runs.reduce((s, w) => s + w.app_count, 0);
    const fails = runs.reduce((s, w) => s + w.app_fails, 0);
    const weekAgo = addDays(TODAY, -7);
    expect(body.summary).toMatchObject({
      runs: runs.length,
      completed: runs.filter((w) => w.status === 'completed').length,
      unfinished: runs.filter((w) => w.status === 'running' && w.day < weekAgo).length,
      running: runs.filter((w) => w.status === 'running' && w.day >= weekAgo).length,
      launched: runs.filter((w) => w.status === 'launched').length,
      apps,
      app_fails: fails,
      points: runs.reduce((s, w) => s + w.points, 0),
      projects: new Set(runs.map((w) => w.project_name).filter(Boolean)).size,
      last_day: END,
    });
    expect(body.summary?.failure_rate).toBeCloseTo(fails / apps, 4);
    expect(Math.abs(Date.parse(String(body.summary?.last_inserted_at)) - INSERTED_AT_MS)).toBeLessThanOrEqual(
      1_000,
    );
    // "last updated" comes from the change rows and the daily totals, not from `events`,
    // which this fixture leaves empty (as after a load of workflows alone)
    const events = await admin.query({
      query: `SELECT count() AS n FROM ${db}.events`,
      format: 'JSONEachRow',
    });
    expect(await events.json()).toEqual([{ n: '0' }]);
  });

  it('workflows over time: launched, completed, unfinished per week', async () => {
    const { body } = await get(d, `/api/workflows?${range}&granularity=week`);
    const byWeek = (pred: (w: RunFacts) => boolean) => countBy(runs.filter(pred), (w) => monday(w.day));
    const weekAgo = addDays(TODAY, -7);
    for (const [name, pred] of [
      ['workflows', () => true],
      ['launched', (w: RunFacts) => w.status === 'launched'],
      ['completed', (w: RunFacts) => w.status === 'completed'],
      ['unfinished', (w: RunFacts) => w.status === 'running' && w.day < weekAgo],
    ] as const) {
      const got = column(body, 'period', name);
      const want = byWeek(pred);
      for (const [week, n] of got) expect([name, week, n]).toEqual([name, week, want.get(week) ?? 0]);
      expect([...got.values()].reduce((s: number, n) => s + Number(n), 0)).toBe(
        [...want.values()].reduce((s, n) => s + n, 0),
      );
    }
  });

  it('month granularity sums to the same total', async () => {
    const { body } = await get(d, `/api/workflows?${range}&granularity=month`);
    expect(body.rows.every((r) => String(r[0]).endsWith('-01'))).toBe(true);
    expect(body.rows.reduce((s, r) => s + Number(r[1]), 0)).toBe(runs.length);
  });

  it.each([
    ['python_minor', (w: RunFacts) => w.python_minor],
    ['parsl_version', (w: RunFacts) => w.parsl_version],
    ['platform', (w: RunFacts) => w.platform],
    ['tracking_level', (w: RunFacts) => String(w.tracking_level)],
    ['executor', (w: RunFacts) => w.executors[0] ?? null],
    ['provider', (w: RunFacts) => w.providers[0] ?? null],
    ['launcher', (w: RunFacts) => w.launchers[0] ?? null],
  ] as const)('dimension %s: ranked counts', async (dimension, key) => {
    const { status, body } = await get(
      d,
      `/api/dimension?${range}&granularity=month&top=3&dimension=${dimension}`,
    );
    expect(status).toBe(200);
    const want = countBy(runs, key);
    const got = column(body, dimension, 'runs');
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    const ranked = body.rows.map((r) => Number(r[2]));
    expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
    const series = body.chart.series as { label: string }[];
    expect(series.slice(0, 3).map((s) => s.label)).toEqual(body.rows.slice(0, 3).map((r) => r[1]));
  });

  it('python versions: shares per period add up to 1', async () => {
    const { body } = await get(d, `/api/dimension?${range}&granularity=week&top=2&dimension=python_minor`);
    const series = body.chart.series as { label: string; shares: number[] }[];
    expect(series.map((s) => s.label)).toContain('other');
    const periods = body.chart.periods as string[];
    for (let i = 0; i < periods.length; i++)
      expect(series.reduce((s, x) => s + (x.shares[i] ?? 0), 0)).toBeCloseTo(1, 3);
  });

  it('apps and failure rate per month', async () => {
    const { body } = await get(d, `/api/apps?${range}&granularity=month`);
    const month = (w: RunFacts) => `${w.day.slice(0, 7)}-01`;
    for (const r of body.rows) {
      const inMonth = runs.filter((w) => month(w) === r[0]);
      const apps = inMonth.reduce((s, w) => s + w.app_count, 0);
      const fails = inMonth.reduce((s, w) => s + w.app_fails, 0);
      expect(r.slice(0, 4)).toEqual([r[0], inMonth.length, apps, fails]);
      expect(Number(r[4])).toBeCloseTo(fails / apps, 4);
    }
  });

  it('execution time: histogram count and quantiles within their bucket', async () => {
    const { body } = await get(d, `/api/exec-time?${range}`);
    const times = runs
      .filter((w) => w.has_closure === 1 && w.execution_time >= 0)
      .map((w) => w.execution_time)
      .sort((a, b) => a - b);
    expect(body.summary?.runs).toBe(times.length);
    const bucket = (s: number) => (s < 1 ? 0 : Math.min(160, 1 + Math.floor(4 * Math.log2(s))));
    const exactMedian = times[Math.ceil(0.5 * times.length) - 1] as number;
    expect(body.summary?.p50_s).toBeCloseTo(bucketMiddle(bucket(exactMedian)), 3);
    const exactP90 = times[Math.ceil(0.9 * times.length) - 1] as number;
    expect(body.summary?.p90_s).toBeCloseTo(bucketMiddle(bucket(exactP90)), 3);
  });

  it('installation age: known/unknown runs and the median in days', async () => {
    const { body } = await get(d, `/api/install-age?${range}`);
    const ages = runs
      .filter((w) => w.install_age_days >= 0)
      .map((w) => w.install_age_days)
      .sort((a, b) => a - b);
    expect(body.summary).toMatchObject({
      runs_known_age: ages.length,
      runs_unknown_age: runs.length - ages.length,
      median_days: ages[Math.ceil(0.5 * ages.length) - 1],
      p90_days: ages[Math.ceil(0.9 * ages.length) - 1],
    });
    const weeks = countBy(runs, (w) =>
      String(w.install_age_days < 0 ? -1 : Math.floor(w.install_age_days / 7)),
    );
    expect(Object.fromEntries(column(body, 'age_weeks', 'runs'))).toEqual(Object.fromEntries(weeks));
  });

  it('release adoption: shares and days to half of the newest releases', async () => {
    const { body } = await get(d, `/api/adoption?${range}&granularity=day&top=5`);
    const releases = body.chart.releases as {
      release: string;
      daysToHalf: number | null;
      points: [number, number | null][];
    }[];
    const seen = [
      ...new Set(runs.map((w) => w.parsl_release_date).filter((r) => r !== '1970-01-01' && r >= FROM)),
    ].sort();
    expect(releases.map((r) => r.release)).toEqual(seen.slice(-5).map((r) => r.replaceAll('-', '.')));
    for (const rel of releases) {
      const date = rel.release.replaceAll('.', '-');
      let half: number | null = null;
      for (let a = 0; a <= daysBetween(date as IsoDay, END) && half === null; a++) {
        const day = addDays(date as IsoDay, a);
        const onDay = runs.filter((w) => w.day === day);
        const newer = onDay.filter((w) => w.parsl_release_date >= date).length;
        if (onDay.length > 0 && newer / onDay.length >= 0.5) half = a;
        const point = rel.points.find((p) => p[0] === a);
        if (onDay.length > 0) expect(point?.[1]).toBeCloseTo(newer / onDay.length, 4);
      }
      expect([rel.release, rel.daysToHalf]).toEqual([rel.release, half]);
    }
  });

  it('release health: flags the releases that send nothing (issue #4038)', async () => {
    const { body } = await get(d, `/api/release-health?from=${addDays(END, -60)}&to=${END}`);
    // the fixture releases weekly from 84 days before its first day; the first silent one:
    let due = addDays(FROM, -84);
    while (due < SILENT_FROM) due = addDays(due, 7);
    const name = due.replaceAll('-', '.');
    const status = column(body, 'release', 'status');
    expect(status.get(name)).toBe('missing');
    expect(column(body, 'release', 'seen').get(name)).toBe(false);
    expect(column(body, 'release', 'own_runs').get(name)).toBe(0);
    // every release that did send data is healthy
    const flagged = [...status].filter(([, s]) => s === 'missing' || s === 'collapsed').map(([r]) => r);
    expect(flagged).toEqual([name]);
    expect(body.summary?.flagged).toBe(1);
  });

  it('release health sees nothing wrong before the silence', async () => {
    const before = addDays(SILENT_FROM, -1);
    const { body } = await get(d, `/api/release-health?from=${addDays(before, -60)}&to=${before}`);
    expect(body.rows.filter((r) => r[7] === 'missing' || r[7] === 'collapsed')).toEqual([]);
    expect(body.rows.filter((r) => r[7] === 'ok').length).toBeGreaterThan(3);
  });

  it('leaderboard: points per named project', async () => {
    const { body } = await get(d, `/api/leaderboard?${range}&top=50`);
    const points = new Map<string, number>();
    for (const w of runs)
      if (w.project_name) points.set(w.project_name, (points.get(w.project_name) ?? 0) + w.points);
    expect(Object.fromEntries(column(body, 'project', 'points'))).toEqual(Object.fromEntries(points));
    const top1 = await get(d, `/api/leaderboard?${range}&top=1`);
    expect(top1.body.rows).toHaveLength(1);
    expect(top1.body.rows[0]?.[2]).toBe(Math.max(...points.values()));
  });

  it('leaderboard: the top projects first, then their days, equals grouping every project by day', async () => {
    const sql = sqlFor(db);
    const ranges: Array<{ from: IsoDay; to: IsoDay }> = [
      { from: FROM, to: END },
      { from: END, to: END },
      { from: addDays(END, -6), to: END },
      { from: addDays(FROM, 30), to: addDays(FROM, 60) },
      { from: addDays(END, 1), to: addDays(END, 40) }, // nothing in it
    ];
    const read = async (q: string) =>
      (await admin.query({ query: q, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    let compared = 0;
    let cut = 0; // cases where `top` left projects out
    for (const r of ranges)
      for (const top of [1, 3, 8, 50]) {
        const fast = await read(sql.leaderboard(r, top));
        expect(fast, `${r.from}..${r.to} top ${top}`).toEqual(await read(sql.leaderboardEveryDay(r, top)));
        compared += fast.length;
        if (fast.length === top) cut++;
      }
    expect(compared).toBeGreaterThan(40);
    expect(cut).toBeGreaterThan(3);
  });

  it('CSV download carries the same table, with formulas neutralised', async () => {
    const json = await get(d, `/api/leaderboard?${range}&top=50`);
    const res = await fetch(`${d.base}/api/leaderboard.csv?${range}&top=50`);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(json.body.columns.join(','));
    expect(lines).toHaveLength(json.body.rows.length + 1);
    expect(lines.some((l) => l.includes("'=cmd|calc"))).toBe(true);
  });

  it('serves repeated and concurrent identical requests from one computation', async () => {
    const path = `/api/dimension?from=${addDays(END, -30)}&to=${END}&granularity=day&top=4&dimension=platform`;
    const before = d.queries.length;
    const all = await Promise.all(Array.from({ length: 20 }, () => get(d, path)));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(d.queries.length - before).toBe(1);
    // same parameters in another order and spelled with defaults: same cache entry
    await get(
      d,
      `/api/dimension?dimension=platform&top=4&granularity=day&to=${END}&from=${addDays(END, -30)}`,
    );
    expect(d.queries.length - before).toBe(1);
  });

  it.each([
    ['/api/workflows?from=2026-02-30', 'from'],
    ['/api/workflows?to=tomorrow', 'to'],
    [`/api/workflows?from=${END}&to=${FROM}`, 'from'],
    ['/api/workflows?from=2000-01-01&to=2020-01-01', 'from'],
    ['/api/workflows?granularity=hour', 'granularity'],
    ['/api/dimension?dimension=os_release', 'dimension'],
    ['/api/dimension', 'dimension'],
    ['/api/leaderboard?top=0', 'top'],
    ['/api/leaderboard?top=51', 'top'],
    ['/api/headline?granularity=day', 'granularity'],
  ])('%s is a 400 naming %s', async (path, parameter) => {
    const before = d.queries.length;
    const { status, body } = await get(d, path);
    expect(status).toBe(400);
    expect(body.parameter).toBe(parameter);
    expect(body.error).toContain(parameter);
    expect(d.queries.length).toBe(before);
  });

  const INJECTIONS = [
    "'; DROP TABLE x; --",
    '1 OR 1=1',
    'python_minor) UNION SELECT',
    "2025-01-01') UNION SELECT name FROM system.tables --",
    '2025-01-01\u0000',
    '２０２５-０１-０１',
    'python_minör',
    '😀',
    '\u202epython_minor',
    'x'.repeat(5_000),
    '',
    ' 10',
    '10 ',
  ];
  const PARAMS = ['from', 'to', 'granularity', 'top', 'dimension'] as const;
  it('no injection string in any parameter of any panel reaches SQL', async () => {
    const before = d.queries.length;
    let checked = 0;
    for (const panel of PANELS)
      for (const name of PARAMS)
        for (const evil of INJECTIONS) {
          const qs = new URLSearchParams({ dimension: 'python_minor' });
          qs.set(name, evil);
          if (panel !== 'dimension') qs.delete('dimension');
          if (panel !== 'dimension' && name === 'dimension') qs.set('dimension', evil);
          const { status, body } = await get(d, `/api/${panel}?${qs.toString()}`);
          expect([panel, name, evil.slice(0, 30), status]).toEqual([panel, name, evil.slice(0, 30), 400]);
          expect(body.parameter).toBe(name);
          checked++;
        }
    // arrays via repeated parameters
    for (const name of PARAMS) {
      const { status, body } = await get(
        d,
        `/api/dimension?dimension=python_minor&${name}=week&${name}=${encodeURIComponent("'; DROP TABLE x; --")}`,
      );
      expect(status).toBe(400);
      expect(body.parameter).toBe(name);
      checked++;
    }
    expect(checked).toBe(9 * 5 * INJECTIONS.length + 5);
    expect(d.queries.length).toBe(before);
    expect(d.metrics.get('dashboard_clickhouse_queries_total', { result: 'ok' })).toBe(d.queries.length);
  });

  it('unknown panels and methods are refused', async () => {
    expect((await get(d, '/api/tables')).status).toBe(404);
    expect((await fetch(`${d.base}/api/headline`, { method: 'POST' })).status).toBe(405);
  });

  it('/healthz and /metrics', async () => {
    const h = await get(d, '/healthz');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ healthy: true });
    const m = await (await fetch(`${d.base}/metrics`)).text();
    expect(m).toMatch(/^dashboard_clickhouse_queries_total\{result="ok"\} [1-9]\d*$/m);
    expect(m).toMatch(/^dashboard_cache_requests_total\{outcome="hit"\} [1-9]\d*$/m);
    expect(m).toMatch(/^dashboard_http_requests_total\{route="\/api\/headline",status="200"\} 1$/m);
    expect(m).toMatch(/^dashboard_params_rejected_total\{panel="dimension"\} \d+$/m);
    // the release-health panel, as metrics for the "a release went silent" alert
    expect(m).toMatch(/^dashboard_release_health_up 1$/m);
    expect(m).toMatch(/^dashboard_release_health_flagged \d+$/m);
  });

  it('hostile request targets: 400 for a malformed one, and no request adds a metric label', async () => {
    const raw = (requestLine: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const sock = connect(Number(new URL(d.base).port), '127.0.0.1');
        let got = '';
        sock.on('data', (b: Buffer) => (got += b.toString()));
        sock.on('end', () => resolve(got.split('\r\n')[0] ?? ''));
        sock.on('error', reject);
        sock.write(`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`);
      });
    // The probe's request line, which used to answer 502 with a stack trace in the log.
    expect(await raw('GET http://[::1 HTTP/1.1')).toBe('HTTP/1.1 400 Bad Request');
    expect(await raw('GET //evil.example/api/headline HTTP/1.1')).toBe('HTTP/1.1 400 Bad Request');
    const before = await (await fetch(`${d.base}/metrics`)).text();
    for (let i = 1; i <= 200; i++)
      expect((await get(d, `/api/headline${'x'.repeat(i * 30)}`)).status).toBe(404);
    const after = await (await fetch(`${d.base}/metrics`)).text();
    const labels = (text: string) => new Set(text.match(/route="[^"]*"/g));
    expect([...labels(after)].filter((l) => !labels(before).has(l))).toEqual([]);
    expect(after.length).toBeLessThan(before.length + 200);
  });
});

describe('headline when the change rows carry no insert time', () => {
  let admin: ClickHouseClient;
  let d: RunningDashboard;

  beforeAll(async () => {
    const db = await freshDatabase('dashni');
    admin = clickhouse('admin');
    // without inserted_at, 18.16 stores 0 in it (not its DEFAULT now()); events stays empty
    await writeHistory(new ChangeLog(admin, `${db}.workflow_changes`), history.slice(-200), 5_000);
    d = await startDashboard(admin, db);
  });
  afterAll(async () => {
    await d?.app.stop();
    await admin?.close();
  });

  it('still has the newest run day, and no insert time rather than 1970', async () => {
    const { status, body } = await get(d, `/api/headline?${range}`);
    expect(status).toBe(200);
    const newest = history
      .slice(-200)
      .map((v) => (v[v.length - 1] as RunFacts).day)
      .sort()
      .pop();
    expect(body.summary?.runs).toBeGreaterThan(0);
    expect(body.summary?.last_day).toBe(newest);
    const at = body.summary?.last_inserted_at;
    // 18.16 stores 0; a current server may fill the DEFAULT: either no time or a real one
    if (at !== null) expect(Date.parse(at as string)).toBeGreaterThan(Date.parse('2020-01-01'));
  });
});

describe('dashboard as the analyst user on a real parsl_usage database', () => {
  let ch: PrivateClickHouse;
  let d: RunningDashboard;

  beforeAll(async () => {
    ch = await startPrivateClickHouse();
    const admin = ch.client('admin');
    await applyMigrations(admin, { database: 'parsl_usage', dir: MIGRATIONS_DIR });
    await insertHistory(admin, 'parsl_usage', history);
    d = await startDashboard(ch.client('analyst'), 'parsl_usage');
  });
  afterAll(async () => {
    await d?.app.stop();
    await ch?.stop();
  });

  it('answers every panel as analyst with the same figures', async () => {
    const panels = [
      'headline',
      'workflows',
      'apps',
      'dimension?dimension=python_minor',
      'dimension?dimension=executor',
      'exec-time',
      'install-age',
      'adoption',
      'leaderboard',
      'release-health',
    ];
    for (const p of panels) {
      const { status } = await get(d, `/api/${p}${p.includes('?') ? '&' : '?'}${range}`);
      expect([p, status]).toEqual([p, 200]);
    }
    const { body } = await get(d, `/api/headline?${range}`);
    expect(body.summary?.runs).toBe(runs.length);
  });
});
