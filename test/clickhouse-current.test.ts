/**
 * The production SQL on current ClickHouse: every migration of infra/clickhouse/migrations, and
 * every view over a varied history, give on ClickHouse 26.9 (chDB, in process) exactly the rows
 * they give on the 18.16 server of the test run.
 *
 * The history is written on 18.16 the aggregator's way (retraction + new version per change):
 * the cookbook fixture, random runs against releases dated on every weekday kind (Parsl dates
 * its releases on Mondays; the views must not depend on it), closure-first runs that move to
 * their launch day, corrected closures, Parsl CI runs, non-date versions, plus bulk from
 * kit/src/rollup-history.ts (5 years of weekly releases). workflow_changes is exported as
 * RowBinary; test/support/chdb-run.py applies the migrations in chDB (read from the directory at
 * run time), loads the rows so that the materialized views fire, applies the migrations a second
 * time, and prints every view, rollup and table. This test then reads the same on 18.16 and
 * compares, object by object.
 *
 * The venv comes from ensure_chdb_venv in infra/scripts/setup-host.sh (cached under
 * $PARSL_USAGE_CACHE, default /var/cache/parsl-usage; chdb and chdb-core pinned there). The test
 * does not build it: without it, it fails and says how to make it.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { STATE_COLUMNS } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import { loadViewDefinitions } from '@parsl-usage/aggregator/internal/repair/view-definitions';
import {
  diffQuery,
  insertDiffStatement,
  insertMissingVersionsStatement,
  missingVersionsQuery,
  replicationBacklogQuery,
  storedRowsQuery,
  type DiffRow,
  type OffsetRange,
} from '@parsl-usage/aggregator/internal/repair/view-repair-sql';
import { generateChunkSql } from '@parsl-usage/kit/rollup-history';
import { clickhouse, freshDatabase, MIGRATIONS_DIR, REPO_ROOT, SETUP_CACHE } from './setup/env.js';
import {
  addDays,
  ChangeLog,
  cookbookHistory,
  daysAgo,
  mixedHistory,
  mondayOf,
  writeHistory,
} from './analytics-support.js';

const run = promisify(execFile);
const SETUP_HOST = join(REPO_ROOT, 'infra/scripts/setup-host.sh');
const VENV = join(SETUP_CACHE, 'chdb-venv');
const SCRIPT = join(REPO_ROOT, 'test/support/chdb-run.py');

/** Runs of the random history and of the bulk generator (the whole test takes 10 to 30 s). */
const RANDOM_RUNS = 2_000;
const BULK_RUNS = 8_000;
/** Views every history of this test must fill (each one is also compared, as every other view). */
const MAIN_VIEWS = [
  'workflows',
  'workflows_current',
  'daily_workflows',
  'dimensions_daily',
  'components_daily',
  'leaderboard',
  'leaderboard_all_time',
  'installation_age_daily',
  'execution_time_histogram',
  'release_adoption',
  'release_adoption_calendar_weekly',
  'release_weeks_to_half',
];

/** The versions ensure_chdb_venv pins (read from setup-host.sh, so that they are set in one place). */
function pinnedVersions(): { chdb: string; core: string } {
  const text = readFileSync(SETUP_HOST, 'utf8');
  const chdb = /^CHDB_VENV_VERSION=(\S+)$/m.exec(text)?.[1];
  const core = /^CHDB_CORE_VERSION=(\S+)$/m.exec(text)?.[1];
  if (!chdb || !core) throw new Error(`${SETUP_HOST} pins no CHDB_VENV_VERSION / CHDB_CORE_VERSION`);
  return { chdb, core };
}

/** Release days on a Wednesday, Sunday, Monday, Friday and Tuesday, oldest first, all in the past. */
function releaseDays(): string[] {
  return [
    addDays(mondayOf(daysAgo(230)), 2),
    addDays(mondayOf(daysAgo(150)), 6),
    mondayOf(daysAgo(100)),
    addDays(mondayOf(daysAgo(45)), 4),
    addDays(mondayOf(daysAgo(12)), 1),
  ];
}

/** Rows as tab-separated lines. */
async function rows(client: ClickHouseClient, query: string): Promise<string[]> {
  const text = await (await client.query({ query, format: 'TabSeparated' })).text();
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

async function jsonRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

interface Collected {
  query: string;
  rows: string[];
}

/** What test/support/chdb-run.py writes. */
interface ChdbResult {
  chdb_version: string;
  server_version: string;
  timezone: string;
  today: string;
  migration_files: string[];
  failures: Array<{ run: number; file: string; index: number; statement: string; error: string }>;
  first_run: Array<{ file: string; statements: number; ok: number }>;
  second_run: Array<{ file: string; statements: number; ok: number }>;
  second_run_changes: Array<{ object: string; before: unknown; after: unknown }>;
  workflow_changes_rows: number;
  views: Record<string, Collected>;
  rollups: Record<string, Collected>;
  tables: Record<string, Collected>;
  materialized_views: string[];
  query_errors: Array<{ object: string; query: string; error: string }>;
  /** the view repair's reads (--extra) and writes (--statements) */
  extra: Record<string, Collected>;
  statement_errors: Array<{ statement: string; error: string }>;
  timings_s: Record<string, number>;
}

/** The one difference of text that is not a difference of value: 18.16 prints Date 0 and DateTime 0 as zeros. */
function normalise1816(line: string): string {
  return line.replace(/(?<![\d-])0000-00-00(?![\d-])/g, '1970-01-01');
}

const NUMBER = /^-?(\d+(\.\d*)?([eE][-+]?\d+)?|inf|nan)$/;
const INTEGER = /^-?\d+$/;

/** Two fields whose texts differ: equal only as floats (not both integers) within a relative 1e-9. */
function floatsClose(a: string, b: string): boolean {
  if (!NUMBER.test(a.replace(/^-nan$/, 'nan')) || !NUMBER.test(b.replace(/^-nan$/, 'nan'))) return false;
  if (INTEGER.test(a) && INTEGER.test(b)) return false;
  const x = Number(a.replace(/^-?nan$/, 'NaN').replace(/^(-?)inf$/, '$1Infinity'));
  const y = Number(b.replace(/^-?nan$/, 'NaN').replace(/^(-?)inf$/, '$1Infinity'));
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  if (x === y) return true;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

interface Comparison {
  rows1816: number;
  rowsChdb: number;
  /** rows equal only with the float tolerance */
  tolerant: number;
  only1816: string[];
  onlyChdb: string[];
}

/** Multisets of lines: equal text first; leftovers paired when every field is equal or a close float. */
function compareRows(a: string[], b: string[]): Comparison {
  const counts = new Map<string, number>();
  for (const l of b) counts.set(l, (counts.get(l) ?? 0) + 1);
  const leftA: string[] = [];
  for (const l of a) {
    const c = counts.get(l) ?? 0;
    if (c > 0) counts.set(l, c - 1);
    else leftA.push(l);
  }
  const leftB = [...counts].flatMap(([l, c]) => Array<string>(c).fill(l));
  const key = (l: string): string =>
    l
      .split('\t')
      .map((f) => (NUMBER.test(f.replace(/^-nan$/, 'nan')) ? '<n>' : f))
      .join('\t');
  const byKey = new Map<string, string[]>();
  for (const l of leftB) {
    const k = key(l);
    const list = byKey.get(k);
    if (list) list.push(l);
    else byKey.set(k, [l]);
  }
  const only1816: string[] = [];
  let tolerant = 0;
  for (const l of leftA) {
    const fa = l.split('\t');
    const cands = byKey.get(key(l)) ?? [];
    const i = cands.findIndex((c) => {
      const fb = c.split('\t');
      return fb.length === fa.length && fa.every((x, j) => x === fb[j] || floatsClose(x, fb[j]!));
    });
    if (i < 0) only1816.push(l);
    else {
      cands.splice(i, 1);
      tolerant += 1;
    }
  }
  return { rows1816: a.length, rowsChdb: b.length, tolerant, only1816, onlyChdb: [...byKey.values()].flat() };
}

/** A diff row of zeros with a made-up key: what the repair's insert looks like, changing no sum. */
function zeroRow(t: RollupTarget): DiffRow {
  const row: DiffRow = {};
  for (const k of t.keys) {
    const type = t.types.get(k) ?? 'String';
    row[k] = type === 'String' ? 'repair-check' : type === 'Date' ? '2026-01-05' : 0;
  }
  for (const sum of t.sums) row[sum] = '0';
  return row;
}

/**
 * The view repair's SQL (services/aggregator/src/repair/view-repair-sql.ts) over a slice of the history:
 * its reads, compared like the views, and its writes, which must run (they change no sum).
 */
async function repairSql(
  client: ClickHouseClient,
  db: string,
): Promise<{ extra: Record<string, string>; statements: string[] }> {
  const defs = await loadViewDefinitions(db, MIGRATIONS_DIR);
  const [first] = await jsonRows<{ p: number; lo: string }>(
    client,
    `SELECT kafka_partition AS p, toString(min(kafka_offset)) AS lo FROM ${db}.workflow_changes GROUP BY p ORDER BY p LIMIT 1`,
  );
  const range: OffsetRange = { partition: Number(first?.p ?? 0), from: BigInt(first?.lo ?? 0), to: 0n };
  range.to = range.from + 300n;
  const extra: Record<string, string> = {
    'repair:stored_rows': storedRowsQuery(db, range),
    'repair:missing_versions': missingVersionsQuery(db, range),
    'repair:replication_backlog': replicationBacklogQuery(db),
  };
  for (const t of defs.targets) extra[`repair:diff:${t.target}`] = diffQuery(db, t, range);
  const statements = [
    insertMissingVersionsStatement(db, defs.versions.select, STATE_COLUMNS, range),
    ...defs.targets.map((t) => insertDiffStatement(db, t, [zeroRow(t)])),
  ];
  return { extra, statements };
}

/** A SummingMergeTree summed by its sorting key: the query chdb-run.py builds, here from 18.16's columns. */
function rollupQuery(db: string, table: string, cols: Array<{ name: string; key: boolean }>): string {
  const keys = cols.filter((c) => c.key).map((c) => c.name);
  const sums = cols.filter((c) => !c.key).map((c) => c.name);
  return (
    `SELECT ${keys.join(', ')}, ${sums.map((s) => `sum(${s}) AS ${s}`).join(', ')} FROM ${db}.${table} ` +
    `GROUP BY ${keys.join(', ')} HAVING NOT (${sums.map((s) => `${s} = 0`).join(' AND ')})`
  );
}

describe('current ClickHouse (chDB) gives the rows of 18.16 for every view and rollup', () => {
  let db: string;
  let client: ClickHouseClient;
  let scratch: string;
  let chdb: ChdbResult;
  let tz1816: string;
  let today1816: string;
  /** Set when the venv is missing: every test then fails with it (a failing hook would only skip them). */
  let missingVenv: string | undefined;
  const ready = (): void => {
    if (missingVenv) throw new Error(missingVenv);
  };
  /** name -> engine on 18.16 */
  const objects1816 = new Map<string, string>();
  const releases = releaseDays();

  beforeAll(async () => {
    const pins = pinnedVersions();
    const python = join(VENV, 'bin/python');
    if (!existsSync(join(VENV, `.parsl-usage-ready-${pins.chdb}-${pins.core}`)) || !existsSync(python)) {
      missingVenv =
        `no chDB venv (chdb ${pins.chdb}, chdb-core ${pins.core}) at ${VENV}: run the host setup first, ` +
        `\`npm test\` (infra/scripts/test.sh runs setup_all) or just ` +
        `\`bash -c 'source infra/scripts/setup-host.sh && ensure_chdb_venv'\``;
      return;
    }
    db = await freshDatabase('chdb_current');
    client = clickhouse('admin');
    [tz1816 = '', today1816 = ''] = (await rows(client, 'SELECT timezone(), toString(today())'))[0]!.split(
      '\t',
    );

    // The history, on 18.16.
    const log = new ChangeLog(client, `${db}.workflow_changes`);
    await writeHistory(log, [...cookbookHistory(), ...mixedHistory(RANDOM_RUNS, 2026, releases)], 500);
    await client.command({ query: generateChunkSql(db, 0, BULK_RUNS) });

    // Export workflow_changes as it is, with its structure for chDB's file().
    scratch = await mkdtemp(join(tmpdir(), 'chdb-current-'));
    const cols = await jsonRows<{ name: string; type: string }>(
      client,
      `SELECT name, type FROM system.columns WHERE database = '${db}' AND table = 'workflow_changes'`,
    );
    await writeFile(join(scratch, 'structure'), cols.map((c) => `${c.name} ${c.type}`).join(', '));
    const exported = await client.exec({ query: `SELECT * FROM ${db}.workflow_changes FORMAT RowBinary` });
    await pipeline(exported.stream, createWriteStream(join(scratch, 'workflow_changes.rowbinary')));

    // The same, on current ClickHouse.
    const out = join(scratch, 'result.json');
    const repair = await repairSql(client, db);
    await writeFile(join(scratch, 'extra.json'), JSON.stringify(repair.extra));
    await writeFile(join(scratch, 'statements.json'), JSON.stringify(repair.statements));
    const { stdout } = await run(
      python,
      [
        SCRIPT,
        '--migrations',
        MIGRATIONS_DIR,
        '--database',
        db,
        '--rows',
        join(scratch, 'workflow_changes.rowbinary'),
        '--format',
        'RowBinary',
        '--structure',
        join(scratch, 'structure'),
        '--data-dir',
        join(scratch, 'chdb-data'),
        '--out',
        out,
        '--extra',
        join(scratch, 'extra.json'),
        '--statements',
        join(scratch, 'statements.json'),
      ],
      {
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
        // today() and DateTime text as on the 18.16 server
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/root',
          TZ: tz1816,
          PYTHONNOUSERSITE: '1',
        },
      },
    );
    console.log(stdout.trim());
    chdb = JSON.parse(await readFile(out, 'utf8')) as ChdbResult;

    for (const o of await jsonRows<{ name: string; engine: string }>(
      client,
      `SELECT name, engine FROM system.tables WHERE database = '${db}'`,
    )) {
      objects1816.set(o.name, o.engine);
    }
  }, 240_000);

  afterAll(async () => {
    await client?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('runs the pinned chDB, in the timezone and on the day of the 18.16 server', () => {
    ready();
    const pins = pinnedVersions();
    expect(chdb.chdb_version).toBe(pins.chdb);
    // chdb-core 26.9.0 is ClickHouse 26.9.x
    expect(chdb.server_version.split('.').slice(0, 2)).toEqual(pins.core.split('.').slice(0, 2));
    expect(chdb.timezone).toBe(tz1816);
    // views use today(): a run across midnight compares two different days (run it again)
    expect(chdb.today).toBe(today1816);
  });

  it('the history has what the views must handle', async () => {
    ready();
    const [line] = await rows(
      client,
      `SELECT
         countIf(sign = -1),
         arrayStringConcat(arraySort(groupUniqArray(toString(parsl_release_date))), ','),
         uniqExactIf(workflow_id, status = 'closure_only'),
         uniqExactIf(workflow_id, is_test = 1),
         uniqExactIf(parsl_version, parsl_release_date = toDate('1970-01-01')),
         uniqExactIf(workflow_id, install_age_days < -1)
       FROM ${db}.workflow_changes`,
    );
    const [retractions, releaseDates, closureFirst, testRuns, nonDateVersions, predating] = line!.split('\t');
    expect(Number(retractions)).toBeGreaterThan(1_000);
    // every release of the random history is in use; four of them are not on a Monday
    expect(releaseDates!.split(',')).toEqual(expect.arrayContaining(releases));
    expect(releases.filter((d) => mondayOf(d) !== d)).toHaveLength(4);
    expect(Number(closureFirst)).toBeGreaterThan(100);
    expect(Number(testRuns)).toBeGreaterThan(100);
    expect(Number(nonDateVersions)).toBeGreaterThanOrEqual(3); // 'dev', '1.2.0', ''
    expect(Number(predating)).toBeGreaterThan(10);
    // closure-first runs that moved to their launch day, and ones still waiting for it
    const [moved, waiting] = (
      await rows(
        client,
        `SELECT countIf(has_launch = 1), countIf(has_launch = 0) FROM ${db}.workflow_versions FINAL
         WHERE workflow_id IN (SELECT workflow_id FROM ${db}.workflow_changes WHERE status = 'closure_only')`,
      )
    )[0]!
      .split('\t')
      .map(Number);
    expect(moved).toBeGreaterThan(100);
    expect(waiting).toBeGreaterThan(20);
  });

  it('every migration applies on current ClickHouse, twice, and the second time changes nothing', async () => {
    ready();
    // the directory as it is now, not a copy
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect(chdb.migration_files).toEqual(files);
    expect(chdb.failures).toEqual([]);
    expect(chdb.first_run.map((m) => m.file)).toEqual(files);
    expect(chdb.second_run).toEqual(chdb.first_run);
    expect(chdb.second_run_changes).toEqual([]);
    expect(chdb.query_errors).toEqual([]);
    const [count] = await rows(client, `SELECT count() FROM ${db}.workflow_changes`);
    expect(chdb.workflow_changes_rows).toBe(Number(count));
  });

  it('the same views, rollups, materialized views and tables exist on both', () => {
    ready();
    const names = (engine: (e: string) => boolean): string[] =>
      [...objects1816]
        .filter(([, e]) => engine(e))
        .map(([n]) => n)
        .sort();
    expect(Object.keys(chdb.views).sort()).toEqual(names((e) => e === 'View'));
    expect(Object.keys(chdb.views).length).toBeGreaterThan(20);
    expect(chdb.materialized_views).toEqual(names((e) => e === 'MaterializedView'));
    expect(Object.keys(chdb.rollups).sort()).toEqual(names((e) => e === 'SummingMergeTree'));
    expect(Object.keys(chdb.rollups).length).toBeGreaterThanOrEqual(8);
    // schema_migrations is the migration runner's own table (the script applies the files directly)
    expect(Object.keys(chdb.tables).sort()).toEqual(
      names((e) => !['View', 'MaterializedView', 'SummingMergeTree'].includes(e)).filter(
        (n) => n !== 'schema_migrations',
      ),
    );
    for (const v of MAIN_VIEWS) expect(chdb.views[v]?.rows.length ?? 0, v).toBeGreaterThan(5);
    for (const [name, v] of Object.entries(chdb.views)) expect(v.rows.length, name).toBeGreaterThan(0);
    for (const [name, t] of Object.entries(chdb.rollups)) expect(t.rows.length, name).toBeGreaterThan(0);
  });

  /** Reads each object on 18.16 (with the query chDB answered, built independently here) and compares. */
  async function compareAll(
    collected: Record<string, Collected>,
    query1816: (name: string) => Promise<string>,
  ) {
    const report: string[] = [];
    const failures: string[] = [];
    for (const [name, c] of Object.entries(collected).sort(([a], [b]) => a.localeCompare(b))) {
      const q = await query1816(name);
      expect(q, name).toBe(c.query);
      const cmp = compareRows((await rows(client, q)).map(normalise1816), c.rows);
      report.push(`${name}: ${cmp.rows1816} rows (${cmp.tolerant} within float tolerance)`);
      if (cmp.only1816.length || cmp.onlyChdb.length)
        failures.push(
          `${name}: ${cmp.only1816.length} rows only on 18.16, ${cmp.onlyChdb.length} only on chDB (of ${cmp.rows1816} / ${cmp.rowsChdb})\n` +
            cmp.only1816
              .slice(0, 5)
              .map((l) => `  18.16: ${l}`)
              .join('\n') +
            '\n' +
            cmp.onlyChdb
              .slice(0, 5)
              .map((l) => `  chDB:  ${l}`)
              .join('\n'),
        );
    }
    console.log(report.join('\n'));
    expect(failures).toEqual([]);
  }

  it('every view gives the same rows', async () => {
    ready();
    await compareAll(chdb.views, (name) => Promise.resolve(`SELECT * FROM ${db}.${name}`));
  });

  it('every rollup summed by its key, and every table, holds the same rows', async () => {
    ready();
    await compareAll(chdb.rollups, async (name) => {
      const cols = await jsonRows<{ name: string; key: number }>(
        client,
        `SELECT name, is_in_sorting_key AS key FROM system.columns WHERE database = '${db}' AND table = '${name}'`,
      );
      return rollupQuery(
        db,
        name,
        cols.map((c) => ({ name: c.name, key: Number(c.key) === 1 })),
      );
    });
    await compareAll(chdb.tables, (name) => {
      const engine = objects1816.get(name);
      if (engine === 'ReplacingMergeTree') return Promise.resolve(`SELECT * FROM ${db}.${name} FINAL`);
      if (engine === 'MergeTree') return Promise.resolve(`SELECT * FROM ${db}.${name}`);
      return Promise.resolve(`SELECT count() FROM ${db}.${name}`);
    });
  });

  it("the view repair's SQL runs on current ClickHouse and reads what it reads on 18.16", async () => {
    ready();
    expect(chdb.statement_errors).toEqual([]);
    expect(chdb.extra['repair:stored_rows']?.rows.length).toBeGreaterThan(0);
    expect(Object.keys(chdb.extra).filter((n) => n.startsWith('repair:diff:')).length).toBe(8);
    await compareAll(chdb.extra, (name) => Promise.resolve(chdb.extra[name]?.query ?? ''));
  });
});
