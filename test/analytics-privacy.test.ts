/**
 * Privacy commands against ClickHouse 18.16: forgetting a project (forget-project-run.ts)
 * removes every row of its workflows from events, workflow_changes and workflow_versions, its
 * name from every rollup and view, and leaves every rollup equal to the same figures over
 * the remaining workflows (workflow_versions FINAL), also while other workflows are inserted
 * concurrently. Raw-event retention (retention-run.ts) drops whole expired months of events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventRow } from '@parsl-usage/schemas';
import { forgetProject } from '@parsl-usage/ops/internal/forget-project-run';
import { migrationStatements, rollupViews, workTables } from '@parsl-usage/ops/internal/forget-project';
import { applyRetention } from '@parsl-usage/ops/internal/retention-run';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clickhouse, freshDatabase, MIGRATIONS_DIR } from './setup/env.js';
import {
  ChangeLog,
  cookbookHistory,
  daysAgo,
  facts,
  release,
  writeHistory,
  type WorkflowFacts,
} from './analytics-support.js';

/** Quote, backslash and non-ASCII: the name must survive quoting into every statement. */
const FORGOTTEN = `o'brien \\ lab ü`;
const OTHERS = ['alpha', 'beta', 'gamma', 'delta'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Runs of several projects (and unnamed ones) over 90 days, so that several months are
 * touched: level-1 launches, level-3 running -> completed, and closure-first runs whose first
 * version has no project name (the closure came first) and then move to the launch day.
 */
function history(n: number, seed: number, prefix: string): WorkflowFacts[][] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: WorkflowFacts[][] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i}`;
    const ago = 1 + Math.floor(r() * 90);
    const day = daysAgo(ago);
    const project = pick([FORGOTTEN, FORGOTTEN, ...OTHERS, '']);
    const rel = release(daysAgo(ago + Math.floor(r() * 200)), day);
    const base: Partial<WorkflowFacts> = {
      day,
      project_name: project,
      python_minor: pick(['3.10', '3.11', '3.12']),
      platform: pick(['Linux', 'Darwin']),
      is_test: r() < 0.1 ? 1 : 0,
      ...rel,
    };
    const kind = r();
    if (kind < 0.4) {
      out.push([facts(id, { ...base, tracking_level: 1 })]);
      continue;
    }
    const comps = {
      executors: [pick(['HighThroughputExecutor', 'ThreadPoolExecutor'])],
      providers: [pick(['SlurmProvider', 'LocalProvider'])],
      launchers: r() < 0.5 ? ['SrunLauncher'] : [],
    };
    const closed = {
      status: 'completed' as const,
      has_closure: 1,
      app_count: Math.floor(r() * 500),
      app_fails: Math.floor(r() * 5),
      execution_time: Math.exp(r() * 10),
    };
    if (kind < 0.8) {
      const launch = facts(id, { ...base, ...comps, tracking_level: 3, status: 'running' });
      out.push(r() < 0.8 ? [launch, { ...launch, ...closed }] : [launch]);
    } else {
      const closureDay = daysAgo(ago - 1);
      const first = facts(id, {
        ...base,
        ...comps,
        ...closed,
        tracking_level: 3,
        status: 'closure_only',
        has_launch: 0,
        day: closureDay,
        project_name: '',
        launch_received_at: '1970-01-01 00:00:00',
      });
      out.push([
        first,
        {
          ...first,
          ...closed,
          has_launch: 1,
          day,
          project_name: project,
          launch_received_at: `${day} 12:00:00`,
        },
      ]);
    }
  }
  return out;
}

async function rows(client: ClickHouseClient, query: string): Promise<string[]> {
  const rs = await client.query({ query, format: 'TabSeparated' });
  const text = await rs.text();
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

const BUCKET = `toUInt8(if(execution_time < 1, 0, least(160, 1 + toUInt32(floor(4 * log2(least(execution_time, 1e12)))))))`;
const AGE = `toInt16(if(install_age_days < 0, -1, least(install_age_days, 3650)))`;

/** [name, rollup query, the same over workflow_versions FINAL]: as test/analytics-rollups.test.ts checks them. */
function equalities(db: string): Array<[string, string, string]> {
  const st = (w: (x: string) => string): string =>
    `${w(`status = 'launched'`)}, ${w(`status = 'running'`)}, ${w(`status = 'completed'`)}, ${w(`status = 'closure_only'`)}, ${w('points')}, ${w('app_count')}, ${w('app_fails')}`;
  const out: Array<[string, string, string]> = [
    [
      'rollup_daily',
      `SELECT day, is_test, sum(workflows) AS n, sum(launched), sum(running), sum(completed), sum(closure_only), sum(points), sum(apps), sum(app_fails)
       FROM ${db}.rollup_daily GROUP BY day, is_test HAVING n != 0 ORDER BY day, is_test`,
      `SELECT day, is_test, count(), ${st((x) => `sum(toInt64(${x}))`)} FROM ${db}.workflow_versions FINAL GROUP BY day, is_test ORDER BY day, is_test`,
    ],
    [
      'rollup_exec_time',
      `SELECT day, is_test, bucket, sum(workflows) AS n FROM ${db}.rollup_exec_time GROUP BY day, is_test, bucket HAVING n != 0 ORDER BY day, is_test, bucket`,
      `SELECT day, is_test, ${BUCKET} AS b, count() FROM ${db}.workflow_versions FINAL WHERE has_closure = 1 AND execution_time >= 0 GROUP BY day, is_test, b ORDER BY day, is_test, b`,
    ],
    [
      'rollup_daily_project',
      `SELECT project_name, day, is_test, sum(workflows) AS n, sum(points), sum(apps) FROM ${db}.rollup_daily_project
       GROUP BY project_name, day, is_test HAVING n != 0 ORDER BY project_name, day, is_test`,
      `SELECT project_name, day, is_test, count(), sum(points), sum(app_count) FROM ${db}.workflow_versions FINAL WHERE project_name != ''
       GROUP BY project_name, day, is_test ORDER BY project_name, day, is_test`,
    ],
    [
      'rollup_daily_install_age',
      `SELECT day, is_test, age_days, sum(workflows) AS n FROM ${db}.rollup_daily_install_age GROUP BY day, is_test, age_days HAVING n != 0 ORDER BY day, is_test, age_days`,
      `SELECT day, is_test, ${AGE} AS a, count() FROM ${db}.workflow_versions FINAL GROUP BY day, is_test, a ORDER BY day, is_test, a`,
    ],
    [
      'rollup_project',
      `SELECT project_name, is_test, sum(workflows) AS n, sum(points), sum(apps) FROM ${db}.rollup_project
       GROUP BY project_name, is_test HAVING n != 0 ORDER BY project_name, is_test`,
      `SELECT project_name, is_test, count(), sum(points), sum(app_count) FROM ${db}.workflow_versions FINAL WHERE project_name != ''
       GROUP BY project_name, is_test ORDER BY project_name, is_test`,
    ],
    [
      'rollup_weekly_release',
      `SELECT week, parsl_version, release_date, is_test, sum(workflows) AS n FROM ${db}.rollup_weekly_release
       GROUP BY week, parsl_version, release_date, is_test HAVING n != 0 ORDER BY week, parsl_version, release_date, is_test`,
      `SELECT toMonday(day) AS week, parsl_version, parsl_release_date, is_test, count() FROM ${db}.workflow_versions FINAL
       GROUP BY week, parsl_version, parsl_release_date, is_test ORDER BY week, parsl_version, parsl_release_date, is_test`,
    ],
  ];
  for (const dim of ['python_minor', 'parsl_version', 'platform', 'tracking_level', 'protocol']) {
    const rd = dim === 'parsl_version' ? 'parsl_release_date' : `toDate('1970-01-01')`;
    out.push([
      `rollup_daily_dimension ${dim}`,
      `SELECT day, is_test, value, release_date, sum(workflows) AS n, sum(apps), sum(app_fails) FROM ${db}.rollup_daily_dimension
       WHERE dimension = '${dim}' GROUP BY day, is_test, value, release_date HAVING n != 0 ORDER BY day, is_test, value, release_date`,
      `SELECT day, is_test, toString(${dim}) AS v, ${rd} AS rd, count(), sum(app_count), sum(app_fails) FROM ${db}.workflow_versions FINAL
       GROUP BY day, is_test, v, rd ORDER BY day, is_test, v, rd`,
    ]);
  }
  for (const [kind, column] of [
    ['executor', 'executors'],
    ['provider', 'providers'],
    ['launcher', 'launchers'],
  ] as const) {
    out.push([
      `rollup_daily_component ${kind}`,
      `SELECT day, is_test, component, sum(workflows) AS n, sum(apps), sum(app_fails) FROM ${db}.rollup_daily_component
       WHERE kind = '${kind}' GROUP BY day, is_test, component HAVING n != 0 ORDER BY day, is_test, component`,
      `SELECT day, is_test, c, count(), sum(app_count), sum(app_fails) FROM ${db}.workflow_versions FINAL ARRAY JOIN arrayDistinct(${column}) AS c
       GROUP BY day, is_test, c ORDER BY day, is_test, c`,
    ]);
  }
  return out;
}

async function expectRollupsEqualWorkflows(client: ClickHouseClient, db: string): Promise<void> {
  for (const [name, rollup, final] of equalities(db)) {
    const a = await rows(client, rollup);
    const b = await rows(client, final);
    expect(a.length, name).toBeGreaterThan(0);
    expect(a, name).toEqual(b);
  }
}

/** One events row per +1 change row (as the aggregator writes one per message), raw JSON naming the project. */
async function writeEvents(client: ClickHouseClient, db: string): Promise<number> {
  const changes = await rows(
    client,
    `SELECT kafka_partition, kafka_offset, workflow_id, has_closure, project_name, day FROM ${db}.workflow_changes WHERE sign = 1`,
  );
  const events: EventRow[] = changes.map((l) => {
    const [p, o, id, closure, project, day] = l.split('\t') as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    // TabSeparated escapes \ and '; unescape to get the stored value back
    const name = project.replace(/\\(.)/g, '$1');
    return {
      kafka_partition: Number(p),
      kafka_offset: o,
      kafka_index: 0,
      received_at: `${day} 12:00:00`,
      workflow_id: id,
      phase: closure === '1' ? 'closure' : 'launch',
      protocol: 'v1',
      tracking_level: 3,
      parsl_version: '',
      python_version: '',
      platform: 'Linux',
      project_name: name,
      raw: JSON.stringify({ correlator: id, project_name: name }),
      inserted_at: `${day} 12:00:01`,
    };
  });
  await client.insert({ table: `${db}.events`, values: events, format: 'JSONEachRow' });
  return events.length;
}

describe('forget a project', () => {
  let db: string;
  let client: ClickHouseClient;
  let log: ChangeLog;
  let forgottenIds: string[];
  let othersBefore: string[];

  beforeAll(async () => {
    db = await freshDatabase('h_privacy');
    client = clickhouse('admin');
    log = new ChangeLog(client, `${db}.workflow_changes`);
    await writeHistory(log, [...cookbookHistory(), ...history(300, 7, 'p')], 100);
    await writeEvents(client, db);
    forgottenIds = log
      .workflows()
      .filter((w) => w.project_name === FORGOTTEN)
      .map((w) => w.workflow_id)
      .sort();
    othersBefore = await rows(
      client,
      `SELECT project_name, runs, points FROM ${db}.leaderboard ORDER BY project_name`,
    );
  });

  afterAll(async () => {
    await client?.close();
  });

  it('the fixture has the project in every table, closure-first runs, and several months', async () => {
    expect(forgottenIds.length).toBeGreaterThan(50);
    for (const t of ['workflow_changes', 'workflow_versions', 'events', 'rollup_daily_project']) {
      const [n] = await rows(
        client,
        `SELECT count() FROM ${db}.${t} WHERE project_name = 'o\\'brien \\\\ lab ü'`,
      );
      expect(Number(n), t).toBeGreaterThan(0);
    }
    // rows of the project's runs that do not carry its name (their closure came first)
    const [unnamed] = await rows(
      client,
      `SELECT count() FROM ${db}.workflow_changes WHERE project_name = '' AND workflow_id IN ('${forgottenIds.join("','")}')`,
    );
    expect(Number(unnamed)).toBeGreaterThan(0);
    const [months] = await rows(client, `SELECT uniqExact(toYYYYMM(day)) FROM ${db}.workflow_changes`);
    expect(Number(months)).toBeGreaterThanOrEqual(3);
    await expectRollupsEqualWorkflows(client, db);
  });

  it('the views it reads are the ones the server has', async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const texts = await Promise.all(files.map((f) => readFile(join(MIGRATIONS_DIR, f), 'utf8')));
    const views = rollupViews(migrationStatements(texts, db), db);
    const rs = await client.query({
      query: `SELECT name, create_table_query FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView' AND name != 'workflow_versions_mv' ORDER BY name`,
      format: 'JSONEachRow',
    });
    const server = await rs.json<{ name: string; create_table_query: string }>();
    expect(views.map((v) => v.view).sort()).toEqual(server.map((s) => s.name));
    // The server re-formats a view's text: make it format ours too, as a scratch view into a
    // scratch copy of the rollup, and compare the two stored texts with the names swapped.
    for (const v of views) {
      await client.command({ query: `CREATE TABLE ${db}.chk_${v.target} AS ${db}.${v.target}` });
      await client.command({
        query: `CREATE MATERIALIZED VIEW ${db}.chk_${v.view} TO ${db}.chk_${v.target} AS ${v.select}`,
      });
      const rs2 = await client.query({
        query: `SELECT create_table_query FROM system.tables WHERE database = '${db}' AND name = 'chk_${v.view}'`,
        format: 'JSONEachRow',
      });
      const [mine] = await rs2.json<{ create_table_query: string }>();
      await client.command({ query: `DROP TABLE ${db}.chk_${v.view}` });
      await client.command({ query: `DROP TABLE ${db}.chk_${v.target}` });
      const theirs = server.find((s) => s.name === v.view)?.create_table_query;
      expect(mine?.create_table_query.replaceAll('.chk_', '.'), v.view).toBe(theirs);
    }
  });

  it('forgets it while other workflows keep arriving', async () => {
    // Concurrent inserts of other projects (new runs and closures of running ones) must be
    // neither lost nor counted twice.
    const concurrent = history(120, 99, 'c').map((h) =>
      h.map((f) => ({ ...f, project_name: f.project_name === FORGOTTEN ? 'delta' : f.project_name })),
    );
    const running = log.workflows().filter((w) => w.status === 'running' && w.project_name !== FORGOTTEN);
    const forget = forgetProject({
      client,
      database: db,
      project: FORGOTTEN,
      migrationsDir: MIGRATIONS_DIR,
      mutationTimeoutMs: 60_000,
    });
    const inserts = (async () => {
      for (let i = 0; i < concurrent.length; i += 10) {
        await log.put(...concurrent.slice(i, i + 10).map((h) => h[0] as WorkflowFacts));
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const w of running.slice(0, 20))
        await log.put({ ...w, status: 'completed', has_closure: 1, app_count: 3, execution_time: 12 });
    })();
    const [result] = await Promise.all([forget, inserts]);
    expect(result.workflows).toBe(forgottenIds.length);
    expect(result.rollupsCompensated.length).toBe(8);
    expect(result.monthsOptimized.length).toBeGreaterThanOrEqual(3);
    expect(result.leftovers).toEqual({
      workflow_changes: 0,
      workflow_versions: 0,
      events: 0,
      rollup_daily_project: 0,
      rollup_project: 0,
    });
  });

  it('no row of its workflows is left in the row tables', async () => {
    const ids = `('${forgottenIds.join("','")}')`;
    for (const t of ['workflow_changes', 'workflow_versions', 'events']) {
      const [n] = await rows(client, `SELECT count() FROM ${db}.${t} WHERE workflow_id IN ${ids}`);
      expect(Number(n), t).toBe(0);
    }
    const [raw] = await rows(client, `SELECT count() FROM ${db}.events WHERE position(raw, 'brien') > 0`);
    expect(raw).toBe('0');
    // work tables are gone
    const wt = workTables(FORGOTTEN);
    const [left] = await rows(
      client,
      `SELECT count() FROM system.tables WHERE database = '${db}' AND name IN ('${wt.ids}', '${wt.rows}')`,
    );
    expect(left).toBe('0');
  });

  it('no table and no view mentions it', async () => {
    const objects = await rows(
      client,
      `SELECT name FROM system.tables WHERE database = '${db}' AND engine != 'MaterializedView' ORDER BY name`,
    );
    expect(objects.length).toBeGreaterThan(25);
    for (const name of objects) {
      const text = (await rows(client, `SELECT * FROM ${db}.${name}`)).join('\n');
      expect(text.includes('brien'), name).toBe(false);
    }
  });

  it('every rollup still equals the remaining workflows, concurrent inserts included', async () => {
    const [n] = await rows(
      client,
      `SELECT count() FROM ${db}.workflow_versions FINAL WHERE workflow_id LIKE 'c%'`,
    );
    expect(Number(n)).toBe(120);
    await expectRollupsEqualWorkflows(client, db);
  });

  it('other projects are untouched (apart from what arrived meanwhile)', async () => {
    // other projects got runs during the forget: compare with the remaining workflows
    const after = await rows(
      client,
      `SELECT project_name, runs, points FROM ${db}.leaderboard ORDER BY project_name`,
    );
    const fromWorkflows = await rows(
      client,
      `SELECT project_name, count(), sum(points) FROM ${db}.workflows WHERE is_test = 0 AND project_name != '' GROUP BY project_name ORDER BY project_name`,
    );
    expect(after).toEqual(fromWorkflows);
    const names = (ls: string[]): string[] => ls.map((l) => l.split('\t')[0] ?? '');
    expect(names(othersBefore)).toContain(`o\\'brien \\\\ lab ü`);
    expect(names(after).filter((n) => n.includes('brien'))).toEqual([]);
    expect(names(after)).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma', 'delta']));
  });

  it('refuses to run over the work tables of an interrupted run', async () => {
    const wt = workTables('alpha');
    await client.command({
      query: `CREATE TABLE ${db}.${wt.ids} (workflow_id String) ENGINE = MergeTree() ORDER BY workflow_id`,
    });
    await expect(
      forgetProject({ client, database: db, project: 'alpha', migrationsDir: MIGRATIONS_DIR }),
    ).rejects.toThrow(/interrupted/);
    const [alpha] = await rows(
      client,
      `SELECT count() FROM ${db}.workflow_changes WHERE project_name = 'alpha'`,
    );
    expect(Number(alpha)).toBeGreaterThan(0);
    await client.command({ query: `DROP TABLE ${db}.${wt.ids}` });
  });
});

describe('raw event retention', () => {
  let db: string;
  let client: ClickHouseClient;
  const now = Date.parse('2026-11-26T18:00:00Z');

  beforeAll(async () => {
    db = await freshDatabase('h_retention');
    client = clickhouse('admin');
    const days = ['2026-06-15', '2026-08-31', '2026-09-01', '2026-09-30', '2026-10-15', '2026-11-20'];
    const events: EventRow[] = days.map((d, i) => ({
      kafka_partition: 0,
      kafka_offset: String(i + 1),
      kafka_index: 0,
      received_at: `${d} 23:59:59`,
      workflow_id: `e${i}`,
      phase: 'launch',
      protocol: 'v1',
      tracking_level: 1,
      parsl_version: '',
      python_version: '',
      platform: 'Linux',
      project_name: '',
      raw: '{}',
      inserted_at: `${d} 23:59:59`,
    }));
    await client.insert({ table: `${db}.events`, values: events, format: 'JSONEachRow' });
  });

  afterAll(async () => {
    await client?.close();
  });

  it('a dry run drops nothing', async () => {
    const r = await applyRetention({ client, database: db, days: 56, dryRun: true, nowMs: now });
    expect(r).toEqual({
      dropped: ['202606', '202608', '202609'],
      kept: ['202610', '202611'],
      unknown: [],
      rowsDropped: 4,
    });
    const [n] = await rows(client, `SELECT count() FROM ${db}.events`);
    expect(n).toBe('6');
  });

  it('drops the months that ended more than N days ago, and only those', async () => {
    // 56 days before 2026-11-26 18:00 is 2026-10-01 18:00: September has ended, October has not
    const r = await applyRetention({ client, database: db, days: 56, nowMs: now });
    expect(r.dropped).toEqual(['202606', '202608', '202609']);
    expect(await rows(client, `SELECT toString(received_at) FROM ${db}.events ORDER BY received_at`)).toEqual(
      ['2026-10-15 23:59:59', '2026-11-20 23:59:59'],
    );
    const again = await applyRetention({ client, database: db, days: 56, nowMs: now });
    expect(again.dropped).toEqual([]);
  });
});
