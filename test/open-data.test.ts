/**
 * The daily open-data files (services/dashboard/src/open-data) against real ClickHouse 18.16:
 * a generated history (fast-check, fixed seed) is inserted as the aggregator inserts it, then
 *  - the files read back (Parquet with pyarrow from PyPI, CSV with a plain RFC 4180 reader)
 *    equal the rollups, read here with their own SQL;
 *  - the manifest's sha256, byte and row counts and schemas match the files;
 *  - the K rule holds against the history itself: a project is named in a day's file exactly
 *    when at least K distinct runs used it that day, the rest is one "other" row;
 *  - the open day is not exported; a closed day's files are never rewritten by a later export;
 *  - after forget-project an export with a reason no longer holds the project anywhere, and
 *    the manifest records each replaced file's earlier sha256 as withdrawn;
 *  - /data/ serves the files read-only and refuses traversal (400/404);
 *  - `npm run export`'s built CLI writes the same files.
 * The pyarrow venv comes from ensure_pyarrow_venv (infra/scripts/setup-host.sh, pinned there).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { Metrics } from '@parsl-usage/common';
import { createApp, type DashboardApp } from '@parsl-usage/dashboard/internal/app';
import { clickhouseQuery } from '@parsl-usage/dashboard/internal/clickhouse-query';
import { dayOf } from '@parsl-usage/dashboard/internal/dates';
import { exportOpenData, type ExportResult } from '@parsl-usage/dashboard/internal/open-data/export-run';
import type { Manifest } from '@parsl-usage/dashboard/internal/open-data/manifest';
import { ROLLUP_FILES } from '@parsl-usage/dashboard/internal/open-data/rollup-files';
import { forgetProject } from '@parsl-usage/ops/internal/forget-project-run';
import { ChangeLog, daysAgo, facts, writeHistory, type WorkflowFacts } from './analytics-support.js';
import {
  CH_USERS,
  clickhouse,
  clickhouseUrl,
  freshDatabase,
  MIGRATIONS_DIR,
  REPO_ROOT,
  SETUP_CACHE,
} from './setup/env.js';

const run = promisify(execFile);
const K = 5;
const GONE = 'gone lab';
/** a day on which every run is the forgotten project's: its files go, replaced by nothing */
const ONLY_GONE_AGO = 47;
const PYTHON = join(SETUP_CACHE, 'pyarrow-venv', 'bin', 'python');
const TODAY = dayOf(Date.now());
const FORMULA = /^[=+\-@\t\r]/;

/** Runs over 46 days and today: a few busy projects, ones near K, many tiny ones, test runs. */
function generatedHistory(): WorkflowFacts[][] {
  const projects = [
    'big',
    'big',
    'big',
    'mid',
    GONE,
    GONE,
    '=cmd|calc',
    '',
    '',
    't1',
    't2',
    't3',
    't4',
    'other',
  ];
  const runArb = fc.record({
    ago: fc.integer({ min: 0, max: 45 }),
    project: fc.constantFrom(...projects),
    level: fc.constantFrom(1, 3),
    closes: fc.boolean(),
    test: fc.integer({ min: 0, max: 9 }).map((n) => (n === 0 ? 1 : 0)),
    python: fc.constantFrom('3.10', '3.11', '3.12'),
    executor: fc.constantFrom('HighThroughputExecutor', 'ThreadPoolExecutor'),
    exec: fc.integer({ min: 0, max: 5_000 }),
    apps: fc.integer({ min: 0, max: 50 }),
  });
  const [runs] = fc.sample(fc.array(runArb, { minLength: 1_500, maxLength: 1_500 }), {
    seed: 28,
    numRuns: 1,
  });
  const out: WorkflowFacts[][] = (runs ?? []).map((r, i) => {
    const day = daysAgo(r.ago);
    const first = facts(`od-${i}`, {
      day,
      project_name: r.project,
      tracking_level: r.level,
      status: r.level === 3 ? 'running' : 'launched',
      is_test: r.test,
      python_minor: r.python,
      executors: r.level === 3 ? [r.executor] : [],
      executors_len: r.level === 3 ? 1 : 0,
      install_age_days: r.ago * 3,
    });
    if (r.level !== 3 || !r.closes) return [first];
    const closed = {
      ...first,
      status: 'completed' as const,
      has_closure: 1,
      app_count: r.apps,
      execution_time: r.exec,
    };
    return [first, closed];
  });
  for (let i = 0; i < 6; i++)
    out.push([facts(`od-only-${i}`, { day: daysAgo(ONLY_GONE_AGO), project_name: GONE })]);
  return out;
}

type Cell = string | number | boolean;
interface ReadBack {
  columns: Array<[string, string]>;
  rows: Array<Record<string, Cell>>;
}

/** Every Parquet file under dir, read by pyarrow: schema and rows (dates as YYYY-MM-DD). */
async function readParquet(dir: string): Promise<Record<string, ReadBack>> {
  const script = `
import json, os, sys, pyarrow.parquet as pq
root = sys.argv[1]; out = {}
for d in sorted(os.listdir(root)):
    if not os.path.isdir(os.path.join(root, d)): continue
    for f in sorted(os.listdir(os.path.join(root, d))):
        if not f.endswith('.parquet'): continue
        t = pq.read_table(os.path.join(root, d, f))
        out[d + '/' + f] = {'columns': [[x.name, str(x.type)] for x in t.schema], 'rows': t.to_pylist()}
print(json.dumps(out, default=str))`;
  const { stdout } = await run(PYTHON, ['-c', script, dir], { maxBuffer: 512 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, ReadBack>;
}

/** RFC 4180: rows of cells (quoted cells may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (quoted || (c !== ',' && c !== '\r')) {
      cell += c;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++; // the \n of \r\n
    }
  }
  return rows;
}

const ARROW_TYPE = {
  date: 'date32[day]',
  string: 'string',
  int32: 'int32',
  int64: 'int64',
  double: 'double',
  boolean: 'bool',
};

/** What the test reads from a rollup for a day, with its own SQL: key columns and sums, nothing netting to 0. */
const ROLLUP_SQL: Record<string, { table: string; keys: string[]; sums: string[] }> = {
  runs: {
    table: 'rollup_daily',
    keys: [],
    sums: ['workflows', 'launched', 'running', 'completed', 'closure_only', 'points', 'apps', 'app_fails'],
  },
  exec_time: { table: 'rollup_exec_time', keys: ['bucket'], sums: ['workflows'] },
  dimension: {
    table: 'rollup_daily_dimension',
    keys: ['dimension', 'value', 'release_date'],
    sums: ['workflows', 'apps', 'app_fails'],
  },
  component: {
    table: 'rollup_daily_component',
    keys: ['kind', 'component'],
    sums: ['workflows', 'apps', 'app_fails'],
  },
  project: { table: 'rollup_daily_project', keys: ['project_name'], sums: ['workflows', 'points', 'apps'] },
  install_age: { table: 'rollup_daily_install_age', keys: ['age_days'], sums: ['workflows'] },
};

async function rollupRows(
  ch: ClickHouseClient,
  db: string,
  name: string,
): Promise<Array<Record<string, string>>> {
  const s = ROLLUP_SQL[name] as (typeof ROLLUP_SQL)[string];
  const keys = ['day', ...s.keys].map((k) => `toString(${k}) AS k_${k}`);
  const sums = s.sums.map((c) => `toString(sum(${c})) AS v_${c}`);
  const rs = await ch.query({
    query: `SELECT ${[...keys, ...sums].join(', ')} FROM ${db}.${s.table} WHERE is_test = 0 AND day < today()
            GROUP BY ${['day', ...s.keys].join(', ')} HAVING sum(workflows) != 0`,
    format: 'JSONEachRow',
  });
  // 18.16 writes the Date 1970-01-01 (release_date of a version that is not a date) as 0000-00-00
  return (await rs.json<Record<string, string>>()).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === '0000-00-00' ? '1970-01-01' : v])),
  );
}

/** A row's identity and values as strings, for comparing rows read in two ways (SQL: k_/v_ names). */
function rowKey(name: string, r: Record<string, unknown>, fromSql = false): string {
  const s = ROLLUP_SQL[name] as (typeof ROLLUP_SQL)[string];
  const keys = ['day', ...s.keys].map((k) => String(r[fromSql ? `k_${k}` : k]));
  return [...keys, ...s.sums.map((c) => String(r[fromSql ? `v_${c}` : c]))].join('\u0001');
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** GET with the path sent exactly as given (fetch would resolve the dot segments first). */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function startDashboard(db: string, ch: ClickHouseClient, dataDir?: string): Promise<DashboardApp> {
  const app = createApp({
    config: {
      httpHost: '127.0.0.1',
      httpPort: 0,
      database: db,
      cacheTtlMs: 0,
      cacheMaxEntries: 10,
      unfinishedAfterDays: 7,
      dataDir,
    },
    logger: pino({ level: 'silent' }),
    query: clickhouseQuery(ch),
    metrics: new Metrics(),
  });
  await app.start();
  return app;
}

describe('daily open-data files', () => {
  const history = generatedHistory();
  let db: string;
  let admin: ClickHouseClient;
  let log: ChangeLog;
  let out: string;
  let first: ExportResult;
  let manifest: Manifest;
  let parquet: Record<string, ReadBack>;

  const exportNow = (withdraw?: string): Promise<ExportResult> =>
    exportOpenData({
      out,
      database: db,
      k: K,
      today: TODAY,
      query: clickhouseQuery(admin),
      ...(withdraw ? { withdraw } : {}),
    });
  const readManifest = async (): Promise<Manifest> =>
    JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;

  beforeAll(async () => {
    if (!existsSync(PYTHON))
      throw new Error(
        `no pyarrow venv at ${PYTHON}: run \`bash -c 'source infra/scripts/setup-host.sh && ensure_pyarrow_venv'\``,
      );
    db = await freshDatabase('open_data');
    admin = clickhouse('admin');
    log = new ChangeLog(admin, `${db}.workflow_changes`);
    await writeHistory(log, history, 500);
    out = await mkdtemp(join(tmpdir(), 'open-data-'));
    const t0 = performance.now();
    first = await exportNow();
    const ms = performance.now() - t0;
    manifest = await readManifest();
    process.stdout.write(
      `open-data export: ${first.daysComputed} days, ${first.written} files, ${history.length} runs in ${Math.round(ms)} ms\n`,
    );
    parquet = await readParquet(out);
  });

  afterAll(async () => {
    await admin?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('writes every closed day with runs, twelve files each, and not the open day', async () => {
    const days = new Set(
      log
        .workflows()
        .filter((w) => w.is_test === 0 && w.day < TODAY)
        .map((w) => w.day),
    );
    expect(days.size).toBeGreaterThanOrEqual(45);
    expect(new Set(manifest.files.map((f) => f.day))).toEqual(days);
    expect(manifest.files).toHaveLength(days.size * 12);
    expect(first.written).toBe(days.size * 12);
    expect(manifest.files.some((f) => f.day >= TODAY)).toBe(false);
    expect(log.workflows().some((w) => w.day === TODAY && w.is_test === 0)).toBe(true);
    expect(manifest.closed_through < TODAY).toBe(true);
    for (const f of ROLLUP_FILES)
      expect((await readdir(join(out, f.name))).every((n) => !n.startsWith(TODAY))).toBe(true);
  });

  it('the manifest: sha256, bytes, rows and schema of each file as it is on disk', async () => {
    for (const f of manifest.files) {
      const bytes = await readFile(join(out, f.path));
      expect(sha(bytes), f.path).toBe(f.sha256);
      expect(bytes.length, f.path).toBe(f.bytes);
      if (f.format === 'parquet') {
        const pq = parquet[f.path] as ReadBack;
        expect(pq.rows.length, f.path).toBe(f.rows);
        expect(pq.columns, f.path).toEqual(f.columns.map((c) => [c.name, ARROW_TYPE[c.type]]));
      } else {
        const csv = parseCsv(bytes.toString('utf8'));
        expect(csv[0], f.path).toEqual(f.columns.map((c) => c.name));
        expect(csv.length - 1, f.path).toBe(f.rows);
      }
    }
  });

  it('Parquet (pyarrow) and CSV read back equal to the rollups, rollup by rollup', async () => {
    for (const f of ROLLUP_FILES.filter((x) => x.name !== 'project')) {
      const want = (await rollupRows(admin, db, f.name)).map((r) => rowKey(f.name, r, true)).sort();
      const files = manifest.files.filter((m) => m.rollup === f.name && m.format === 'parquet');
      const got = files
        .flatMap((m) => (parquet[m.path] as ReadBack).rows.map((r) => rowKey(f.name, r)))
        .sort();
      expect(got, f.name).toEqual(want);
      expect(want.length, f.name).toBeGreaterThan(0);
      for (const m of files) {
        const csv = parseCsv(await readFile(join(out, m.path.replace(/parquet$/, 'csv')), 'utf8'));
        const header = csv[0] as string[];
        const rows = (parquet[m.path] as ReadBack).rows.map((r) =>
          header.map((h) => {
            const v = r[h] as Cell;
            return typeof v === 'string' && FORMULA.test(v) ? `'${v}` : String(v);
          }),
        );
        expect(
          csv.slice(1).map((r) => r.map((c, i) => (header[i]?.endsWith('_s') ? String(Number(c)) : c))),
          m.path,
        ).toEqual(rows);
      }
    }
  });

  it(`the K rule (K = ${K}) against the generated history: named iff >= K distinct runs that day`, () => {
    const runs = log.workflows().filter((w) => w.is_test === 0 && w.project_name !== '' && w.day < TODAY);
    const perDay = new Map<string, Map<string, Set<string>>>();
    for (const w of runs) {
      const day = perDay.get(w.day) ?? new Map<string, Set<string>>();
      day.set(w.project_name, (day.get(w.project_name) ?? new Set()).add(w.workflow_id));
      perDay.set(w.day, day);
    }
    let named = 0;
    let folded = 0;
    for (const [day, projects] of perDay) {
      const rows = (parquet[`project/${day}.parquet`] as ReadBack).rows;
      const shown = new Map(
        rows.filter((r) => r.is_other === false).map((r) => [r.project_name, r.workflows]),
      );
      const want = new Map([...projects].filter(([, ids]) => ids.size >= K).map(([p, ids]) => [p, ids.size]));
      expect(shown, day).toEqual(want);
      const small = [...projects.values()].filter((ids) => ids.size < K).reduce((s, ids) => s + ids.size, 0);
      const other = rows.filter((r) => r.is_other === true);
      expect(
        other.map((r) => r.workflows),
        day,
      ).toEqual(small > 0 ? [small] : []);
      named += want.size;
      folded += small > 0 ? 1 : 0;
    }
    // the history exercises both sides of the rule, a real project named "other" included
    expect(named).toBeGreaterThan(30);
    expect(folded).toBeGreaterThan(30);
    expect(
      Object.values(parquet).some((p) =>
        p.rows.some((r) => r.project_name === 'other' && r.is_other === false),
      ),
    ).toBe(true);
  });

  it('no workflow id and no time finer than a day in any file', async () => {
    for (const f of manifest.files) {
      const text = await readFile(join(out, f.path), 'latin1');
      expect(text.includes('od-'), f.path).toBe(false);
      // Parquet is binary: its values are checked through pyarrow below
      if (f.format === 'csv') expect(/\d{2}:\d{2}/.test(text), f.path).toBe(false);
    }
    for (const p of Object.values(parquet))
      for (const r of p.rows)
        for (const v of Object.values(r)) expect(/\d{2}:\d{2}|^od-/.test(String(v))).toBe(false);
    const types = new Set(manifest.files.flatMap((f) => f.columns.map((c) => c.type)));
    expect([...types].sort()).toEqual(['boolean', 'date', 'double', 'int32', 'int64', 'string']);
  });

  it('a second export rewrites nothing, even after a closed day changed', async () => {
    const before = await Promise.all(
      manifest.files.map((f) => stat(join(out, f.path)).then((s) => s.mtimeMs)),
    );
    const t0 = performance.now();
    const again = await exportNow();
    process.stdout.write(`open-data export with nothing to do: ${Math.round(performance.now() - t0)} ms\n`);
    expect(again).toMatchObject({ daysComputed: 0, written: 0, replaced: 0, withdrawn: 0 });
    // a late run on a closed day: that day's files stay as published
    await log.put(facts('od-late', { day: daysAgo(3), project_name: 'big' }));
    const late = await exportNow();
    expect(late).toMatchObject({ daysComputed: 0, written: 0, replaced: 0 });
    const after = await Promise.all(
      manifest.files.map((f) => stat(join(out, f.path)).then((s) => s.mtimeMs)),
    );
    expect(after).toEqual(before);
    expect((await readManifest()).files).toEqual(manifest.files);
  });

  it('--settle-days holds back the last days; a second export at once is refused (lock file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'open-data-settle-'));
    try {
      const r = await exportOpenData({
        out: dir,
        database: db,
        k: K,
        today: TODAY,
        query: clickhouseQuery(admin),
        settleDays: 10,
      });
      const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      expect(r.closedThrough).toBe(daysAgo(11));
      expect(m.closed_through).toBe(daysAgo(11));
      expect(Math.max(...m.files.map((f) => Date.parse(f.day)))).toBe(Date.parse(daysAgo(11)));
      expect(m.files.filter((f) => f.path.startsWith('project/'))).toEqual(
        manifest.files.filter((f) => f.path.startsWith('project/') && f.day <= daysAgo(11)),
      );
      // a withdrawal with a longer wait still covers the days already published, and keeps them
      const longer = await exportOpenData({
        out: dir,
        database: db,
        k: K,
        today: TODAY,
        query: clickhouseQuery(admin),
        settleDays: 12,
        withdraw: 'check',
      });
      expect(longer).toMatchObject({ written: 0, replaced: 0, withdrawn: 0, kept: m.files.length });
      expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({
        files: m.files,
        withdrawn: [],
      });
      await writeFile(join(dir, '.export.lock'), '1\n');
      await expect(
        exportOpenData({ out: dir, database: db, k: K, today: TODAY, query: clickhouseQuery(admin) }),
      ).rejects.toThrow(/another export is running/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('after forget-project, an export with a reason holds the project nowhere and records each withdrawal', async () => {
    const r = await forgetProject({
      client: admin,
      database: db,
      project: GONE,
      migrationsDir: MIGRATIONS_DIR,
    });
    expect(r.workflows).toBeGreaterThan(100);
    const without = await exportNow();
    expect(without.replaced).toBe(0);
    expect(without.drift.length).toBe(0); // no file was missing, so no day was read
    const reason = 'forget-project request 2026-28';
    const t0 = performance.now();
    const res = await exportNow(reason);
    process.stdout.write(
      `open-data export --withdraw (every day read again): ${Math.round(performance.now() - t0)} ms\n`,
    );
    const after = await readManifest();
    const parquetAfter = await readParquet(out);
    for (const f of after.files) {
      const text = await readFile(join(out, f.path), 'utf8');
      expect(text.includes(GONE), f.path).toBe(false);
    }
    expect(Object.values(parquetAfter).some((p) => p.rows.some((row) => row.project_name === GONE))).toBe(
      false,
    );
    // every file that changed is recorded with its earlier sha256, the day and the reason
    const earlier = new Map(manifest.files.map((f) => [f.path, f.sha256]));
    const changed = after.files.filter((f) => earlier.get(f.path) !== f.sha256);
    expect(changed.length).toBeGreaterThan(100);
    const gone = daysAgo(ONLY_GONE_AGO);
    expect(after.files.some((f) => f.day === gone)).toBe(false);
    expect(res.withdrawn).toBe(12);
    expect(res.replaced).toBe(changed.length);
    const recorded = new Map(after.withdrawn.map((w) => [w.path, w]));
    for (const f of [...changed, ...manifest.files.filter((m) => m.day === gone)]) {
      expect(recorded.get(f.path), f.path).toEqual({
        path: f.path,
        sha256: earlier.get(f.path),
        withdrawn_on: TODAY,
        reason,
        replaced_by: f.day === gone ? null : f.sha256,
      });
    }
    for (const f of manifest.files.filter((m) => m.day === gone))
      expect(existsSync(join(out, f.path)), f.path).toBe(false);
    expect(after.withdrawn).toHaveLength(changed.length + 12);
    // only the day whose runs were all the project's has no files any more
    expect(after.files.length).toBe(manifest.files.length - 12);
    manifest = after;
    parquet = parquetAfter;
  });

  it('/data/ serves the files read-only, refuses traversal, and answers 404 without a directory', async () => {
    const app = await startDashboard(db, admin, out);
    const none = await startDashboard(db, admin);
    try {
      const m = await rawGet(app.httpPort, '/data/manifest.json');
      expect(m.status).toBe(200);
      expect(m.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(m.headers['cache-control']).toContain('must-revalidate');
      expect(JSON.parse(m.body.toString('utf8'))).toEqual(manifest);
      const f = manifest.files.find((x) => x.format === 'parquet') as Manifest['files'][number];
      const p = await rawGet(app.httpPort, `/data/${f.path}`);
      expect(p.status).toBe(200);
      expect(p.headers['content-type']).toBe('application/vnd.apache.parquet');
      expect(p.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(p.headers.etag).toBe(`"${f.sha256}"`);
      expect(sha(p.body)).toBe(f.sha256);
      expect(
        (await rawGet(app.httpPort, `/data/${f.path}`, { 'if-none-match': `"${f.sha256}"` })).status,
      ).toBe(304);
      const c = await rawGet(app.httpPort, `/data/${f.path.replace(/parquet$/, 'csv')}`);
      expect(c.headers['content-type']).toBe('text/csv; charset=utf-8');
      for (const path of [
        '/data/../package.json',
        '/data/../../../../etc/passwd',
        '/data/%2e%2e/%2e%2e/etc/passwd',
        '/data/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
        '/data/runs/..%2f..%2fpackage.json',
        '/data/runs/..%5c..%5cpackage.json',
        '/data/runs/%2e%2e/manifest.json',
        '/data/.%2e/.%2e/etc/passwd',
        '/data//etc/passwd',
        '/data/runs/.tmp-1-1',
        `/data/runs/${TODAY}.csv`,
      ]) {
        const res = await rawGet(app.httpPort, path);
        expect([400, 404], path).toContain(res.status);
        expect(res.body.toString('utf8'), path).not.toContain('root:');
      }
      const post = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: app.httpPort, path: '/data/manifest.json', method: 'DELETE' },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(post).toBe(405);
      expect((await rawGet(none.httpPort, '/data/manifest.json')).status).toBe(404);
    } finally {
      await app.stop();
      await none.stop();
    }
  });

  it('`npm run export` (the built CLI) writes the same files with the dashboard environment', async () => {
    const cliOut = await mkdtemp(join(tmpdir(), 'open-data-cli-'));
    try {
      const env = {
        PATH: process.env.PATH ?? '',
        DASH_CLICKHOUSE_URL: clickhouseUrl(),
        DASH_CLICKHOUSE_USER: CH_USERS.admin.username,
        DASH_CLICKHOUSE_PASSWORD: CH_USERS.admin.password,
        DASH_CLICKHOUSE_DATABASE: db,
        DASH_PUBLIC_MIN_RUNS: String(K),
      };
      const cli = join(REPO_ROOT, 'services/dashboard/dist/open-data/export-cli.js');
      const code = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, '--out', cliOut], { env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (c) => resolve({ code: c, stdout, stderr }));
      });
      expect(code.code, code.stderr).toBe(0);
      expect(code.stdout).toMatch(/closed through \d{4}-\d{2}-\d{2}: \d+ days read/);
      const cliManifest = JSON.parse(await readFile(join(cliOut, 'manifest.json'), 'utf8')) as Manifest;
      expect(cliManifest.withdrawn).toEqual([]);
      expect(cliManifest.files).toEqual(manifest.files);
      const bad = await new Promise<number | null>((resolve) => {
        spawn(process.execPath, [cli], { env }).on('close', resolve);
      });
      expect(bad).toBe(2);
    } finally {
      await rm(cliOut, { recursive: true, force: true });
    }
  });
});
