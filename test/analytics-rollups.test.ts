/**
 * Every rollup (002, 006, 007) equals, row for row, the same figures computed over the
 * current workflows (`workflows FINAL`), and the daily totals equal the sign-sums of
 * workflow_changes, after a history of retract+add updates in which runs change status,
 * facts and day (closure_only -> completed moves a run to its launch day).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { clickhouse, freshDatabase, freshName, MIGRATIONS_DIR } from './setup/env.js';
import {
  ChangeLog,
  cookbookHistory,
  daysAgo,
  mixedHistory,
  mondayOf,
  writeHistory,
} from './analytics-support.js';

/** The rollup test's releases, on whatever weekdays today gives (mondayOf moves them for the Monday test below). */
const RELEASES = [daysAgo(200), daysAgo(90), daysAgo(25)];

/** Rows as tab-separated lines: the text form is the same on 18.16 and current releases. */
async function rows(client: ClickHouseClient, query: string): Promise<string[]> {
  const rs = await client.query({ query, format: 'TabSeparated' });
  const text = await rs.text();
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

const BUCKET = `toUInt8(if(execution_time < 1, 0, least(160, 1 + toUInt32(floor(4 * log2(least(execution_time, 1e12)))))))`;
const AGE = `toInt16(if(install_age_days < 0, -1, least(install_age_days, 3650)))`;

/** The weekly release rollup (007), summed, and the same figures from the current workflows. */
const weeklyReleaseRollup = (db: string): string =>
  `SELECT week, parsl_version, release_date, is_test, sum(workflows) AS n FROM ${db}.rollup_weekly_release
   GROUP BY week, parsl_version, release_date, is_test HAVING n != 0 ORDER BY week, parsl_version, release_date, is_test`;
const weeklyReleaseFinal = (db: string): string =>
  `SELECT toMonday(day) AS week, parsl_version, parsl_release_date, is_test, count() FROM ${db}.workflow_versions FINAL
   GROUP BY week, parsl_version, parsl_release_date, is_test ORDER BY week, parsl_version, parsl_release_date, is_test`;

/** Adoption by calendar week computed the plain way (every release against every week's versions) from the current workflows. */
const calendarAdoptionFinal = (db: string): string =>
  `SELECT release, release_date, toInt32(intDiv(week - toMonday(release_date), 7)) AS wk, runs, newer
   FROM (
     SELECT release, release_date, week, sum(n) AS runs, sumIf(n, vrd >= release_date) AS newer
     FROM (
       SELECT 1 AS k, toMonday(day) AS week, parsl_release_date AS vrd, count() AS n
       FROM ${db}.workflow_versions FINAL WHERE is_test = 0 GROUP BY week, vrd
     ) AS wv
     ALL INNER JOIN (
       SELECT DISTINCT 1 AS k, parsl_version AS release, parsl_release_date AS release_date
       FROM ${db}.workflow_versions FINAL WHERE is_test = 0 AND parsl_release_date > toDate('1970-01-01')
     ) AS rel USING k
     WHERE week >= toMonday(release_date)
     GROUP BY release, release_date, week
   ) ORDER BY release, release_date, wk`;
const calendarAdoptionView = (db: string): string =>
  `SELECT release, release_date, weeks_since_release, runs, newer_runs FROM ${db}.release_adoption_calendar_weekly
   ORDER BY release, release_date, weeks_since_release`;

describe('rollups equal the current workflows', () => {
  let db: string;
  let client: ClickHouseClient;
  let changes = 0;

  beforeAll(async () => {
    db = await freshDatabase('h3_rollups');
    client = clickhouse('admin');
    const log = new ChangeLog(client, `${db}.workflow_changes`);
    const history = [...cookbookHistory(), ...mixedHistory(400, 42, RELEASES)];
    changes = history.reduce((n, h) => n + h.length, 0);
    await writeHistory(log, history, 150);
  });

  afterAll(async () => {
    await client?.close();
  });

  it('the history has updates and moved days', async () => {
    const [updates] = await rows(client, `SELECT countIf(sign = -1) FROM ${db}.workflow_changes`);
    expect(Number(updates)).toBeGreaterThan(100);
    expect(changes).toBeGreaterThan(400);
    // a retraction whose day differs from its replacement's: the day moved
    const [moved] = await rows(
      client,
      `SELECT count() FROM (SELECT workflow_id, kafka_offset, groupUniqArray(day) AS days FROM ${db}.workflow_changes GROUP BY workflow_id, kafka_offset) WHERE length(days) > 1`,
    );
    expect(Number(moved)).toBeGreaterThan(10);
  });

  it('daily totals: rollup = workflows FINAL = sign-sum of workflow_changes', async () => {
    const cols = (w: (x: string) => string, n: string): string =>
      `${n}, ${w(`status = 'launched'`)}, ${w(`status = 'running'`)}, ${w(`status = 'completed'`)}, ${w(`status = 'closure_only'`)}, ${w('points')}, ${w('app_count')}, ${w('app_fails')}`;
    const rollup = await rows(
      client,
      `SELECT day, is_test, sum(workflows) AS n, sum(launched), sum(running), sum(completed), sum(closure_only), sum(points), sum(apps), sum(app_fails)
       FROM ${db}.rollup_daily GROUP BY day, is_test HAVING n != 0 ORDER BY day, is_test`,
    );
    const final = await rows(
      client,
      `SELECT day, is_test, ${cols((x) => `sum(toInt64(${x}))`, 'count()')} FROM ${db}.workflow_versions FINAL GROUP BY day, is_test ORDER BY day, is_test`,
    );
    const signed = await rows(
      client,
      `SELECT day, is_test, ${cols((x) => `sum(sign * toInt64(${x}))`, 'sum(toInt64(sign)) AS n')} FROM ${db}.workflow_changes GROUP BY day, is_test HAVING n != 0 ORDER BY day, is_test`,
    );
    expect(rollup.length).toBeGreaterThan(20);
    expect(rollup).toEqual(final);
    expect(rollup).toEqual(signed);
  });

  it('execution-time histogram', async () => {
    const rollup = await rows(
      client,
      `SELECT day, is_test, bucket, sum(workflows) AS n FROM ${db}.rollup_exec_time GROUP BY day, is_test, bucket HAVING n != 0 ORDER BY day, is_test, bucket`,
    );
    const final = await rows(
      client,
      `SELECT day, is_test, ${BUCKET} AS b, count() FROM ${db}.workflow_versions FINAL WHERE has_closure = 1 AND execution_time >= 0 GROUP BY day, is_test, b ORDER BY day, is_test, b`,
    );
    expect(rollup.length).toBeGreaterThan(20);
    expect(rollup).toEqual(final);
  });

  it.each(['python_minor', 'parsl_version', 'platform', 'tracking_level', 'protocol'])(
    'dimension %s',
    async (dim) => {
      const rd = dim === 'parsl_version' ? 'parsl_release_date' : `toDate('1970-01-01')`;
      const rollup = await rows(
        client,
        `SELECT day, is_test, value, release_date, sum(workflows) AS n, sum(apps), sum(app_fails) FROM ${db}.rollup_daily_dimension
       WHERE dimension = '${dim}' GROUP BY day, is_test, value, release_date HAVING n != 0 ORDER BY day, is_test, value, release_date`,
      );
      const final = await rows(
        client,
        `SELECT day, is_test, toString(${dim}) AS v, ${rd} AS rd, count(), sum(app_count), sum(app_fails) FROM ${db}.workflow_versions FINAL
       GROUP BY day, is_test, v, rd ORDER BY day, is_test, v, rd`,
      );
      expect(rollup.length).toBeGreaterThan(20);
      expect(rollup).toEqual(final);
    },
  );

  it.each([
    ['executor', 'executors'],
    ['provider', 'providers'],
    ['launcher', 'launchers'],
  ])('components: %s', async (kind, column) => {
    const rollup = await rows(
      client,
      `SELECT day, is_test, component, sum(workflows) AS n, sum(apps), sum(app_fails) FROM ${db}.rollup_daily_component
       WHERE kind = '${kind}' GROUP BY day, is_test, component HAVING n != 0 ORDER BY day, is_test, component`,
    );
    const final = await rows(
      client,
      `SELECT day, is_test, c, count(), sum(app_count), sum(app_fails) FROM ${db}.workflow_versions FINAL ARRAY JOIN arrayDistinct(${column}) AS c
       GROUP BY day, is_test, c ORDER BY day, is_test, c`,
    );
    expect(rollup.length).toBeGreaterThan(10);
    expect(rollup).toEqual(final);
  });

  it('projects', async () => {
    const rollup = await rows(
      client,
      `SELECT project_name, day, is_test, sum(workflows) AS n, sum(points), sum(apps) FROM ${db}.rollup_daily_project
       GROUP BY project_name, day, is_test HAVING n != 0 ORDER BY project_name, day, is_test`,
    );
    const final = await rows(
      client,
      `SELECT project_name, day, is_test, count(), sum(points), sum(app_count) FROM ${db}.workflow_versions FINAL WHERE project_name != ''
       GROUP BY project_name, day, is_test ORDER BY project_name, day, is_test`,
    );
    expect(rollup.length).toBeGreaterThan(20);
    expect(rollup).toEqual(final);
  });

  it('all-time project totals (006) and leaderboard_all_time', async () => {
    const rollup = await rows(
      client,
      `SELECT project_name, is_test, sum(workflows) AS n, sum(points), sum(apps) FROM ${db}.rollup_project
       GROUP BY project_name, is_test HAVING n != 0 ORDER BY project_name, is_test`,
    );
    const final = await rows(
      client,
      `SELECT project_name, is_test, count(), sum(points), sum(app_count) FROM ${db}.workflow_versions FINAL WHERE project_name != ''
       GROUP BY project_name, is_test ORDER BY project_name, is_test`,
    );
    expect(rollup.length).toBeGreaterThan(3);
    expect(rollup).toEqual(final);
    // The fast view gives the same runs, points and apps as the daily one.
    expect(
      await rows(
        client,
        `SELECT project_name, runs, points, apps FROM ${db}.leaderboard_all_time ORDER BY project_name`,
      ),
    ).toEqual(
      await rows(
        client,
        `SELECT project_name, runs, points, apps FROM ${db}.leaderboard ORDER BY project_name`,
      ),
    );
  });

  /** A database migrated up to (not including) `before`, filled with history, then upgraded twice. */
  async function upgradedDatabase(before: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    try {
      for (const f of (await readdir(MIGRATIONS_DIR)).filter((f) => f < before)) {
        await copyFile(join(MIGRATIONS_DIR, f), join(dir, f));
      }
      const old = freshName('h3_backfill');
      await applyMigrations(client, { database: old, dir });
      await writeHistory(
        new ChangeLog(client, `${old}.workflow_changes`),
        mixedHistory(200, 7, RELEASES),
        100,
      );
      // Upgrade on the filled database; then the whole set again, which must change nothing.
      await applyMigrations(client, { database: old, dir: MIGRATIONS_DIR });
      await applyMigrations(client, { database: old, dir: MIGRATIONS_DIR });
      return old;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('006 backfills the totals of a database that already holds history, once', async () => {
    const old = await upgradedDatabase('006');
    const totals = `SELECT project_name, runs, points, apps FROM ${old}.leaderboard_all_time ORDER BY project_name`;
    const daily = `SELECT project_name, runs, points, apps FROM ${old}.leaderboard ORDER BY project_name`;
    expect((await rows(client, totals)).length).toBeGreaterThan(1);
    expect(await rows(client, totals)).toEqual(await rows(client, daily));
  });

  it('007 backfills the weekly release rollup of a database that already holds history, once', async () => {
    const old = await upgradedDatabase('007');
    const rollup = await rows(client, weeklyReleaseRollup(old));
    expect(rollup.length).toBeGreaterThan(10);
    expect(rollup).toEqual(await rows(client, weeklyReleaseFinal(old)));
  });

  it('weekly release rollup (007)', async () => {
    const rollup = await rows(client, weeklyReleaseRollup(db));
    expect(rollup.length).toBeGreaterThan(10);
    expect(rollup).toEqual(await rows(client, weeklyReleaseFinal(db)));
  });

  it('release adoption by calendar week (007) = every release against every week, from the current workflows', async () => {
    // the random history's releases are not Mondays, and some runs predate their version's date
    const view = await rows(client, calendarAdoptionView(db));
    expect(view.length).toBeGreaterThan(10);
    expect(view).toEqual(await rows(client, calendarAdoptionFinal(db)));
    // release_weeks_to_half (from each week's half-way date) = the first week of the curve with share >= 0.5
    const half = await rows(
      client,
      `SELECT release, weeks_to_half FROM ${db}.release_weeks_to_half ORDER BY release`,
    );
    const halfFinal = await rows(
      client,
      `SELECT release, toInt32(if(countIf(newer / runs >= 0.5) = 0, -1, minIf(wk, newer / runs >= 0.5)))
       FROM (${calendarAdoptionFinal(db)}) GROUP BY release ORDER BY release`,
    );
    expect(half.length).toBeGreaterThan(2);
    expect(half).toEqual(halfFinal);
  });

  it('release_adoption (rewritten in 007) gives the rows of its 003 definition', async () => {
    const text = await readFile(join(MIGRATIONS_DIR, '003-analyst-views.sql'), 'utf8');
    const head = 'CREATE VIEW IF NOT EXISTS ${db}.release_adoption AS';
    const from = text.indexOf(head) + head.length;
    const definition = text.slice(from, text.indexOf(');', from) + 1).replaceAll('${db}', db);
    const order = 'ORDER BY release, release_date, day';
    const view = await rows(client, `SELECT * FROM ${db}.release_adoption ${order}`);
    expect(view.length).toBeGreaterThan(20);
    expect(view).toEqual(await rows(client, `SELECT * FROM (${definition}) ${order}`));
  });

  it('installation age', async () => {
    const rollup = await rows(
      client,
      `SELECT day, is_test, age_days, sum(workflows) AS n FROM ${db}.rollup_daily_install_age GROUP BY day, is_test, age_days HAVING n != 0 ORDER BY day, is_test, age_days`,
    );
    const final = await rows(
      client,
      `SELECT day, is_test, ${AGE} AS a, count() FROM ${db}.workflow_versions FINAL GROUP BY day, is_test, a ORDER BY day, is_test, a`,
    );
    expect(rollup.length).toBeGreaterThan(20);
    expect(rollup).toEqual(final);
  });

  it('daily_workflows (views) = workflows_current counted by derived status', async () => {
    const view = await rows(
      client,
      `SELECT day, workflows, launched, running, unfinished, completed, closure_only FROM ${db}.daily_workflows ORDER BY day`,
    );
    const current = await rows(
      client,
      `SELECT day, count(), countIf(status = 'launched'), countIf(status = 'running'), countIf(status = 'unfinished'),
              countIf(status = 'completed'), countIf(status = 'closure_only')
       FROM ${db}.workflows_current WHERE is_test = 0 GROUP BY day ORDER BY day`,
    );
    expect(view).toEqual(current);
    const [unfinished] = await rows(client, `SELECT sum(unfinished) FROM ${db}.daily_workflows`);
    expect(Number(unfinished)).toBeGreaterThan(0);
  });

  it('the moved run is counted on its launch day only', async () => {
    const w2 = await rows(client, `SELECT day, status FROM ${db}.workflows_current WHERE workflow_id = 'w2'`);
    expect(w2).toEqual([`${daysAgo(6)}\tcompleted`]);
    // closure_only on day -5 was retracted: among the cookbook runs, nothing is closure_only any more
    const [left] = await rows(
      client,
      `SELECT sum(sign) FROM ${db}.workflow_changes WHERE workflow_id = 'w2' AND day = '${daysAgo(5)}'`,
    );
    expect(left).toBe('0');
  });
});

describe('releases dated on Mondays (as every Parsl release is)', () => {
  let db: string;
  let client: ClickHouseClient;

  beforeAll(async () => {
    db = await freshDatabase('h3_mondays');
    client = clickhouse('admin');
    const releases = [mondayOf(daysAgo(200)), mondayOf(daysAgo(90)), mondayOf(daysAgo(25))];
    await writeHistory(new ChangeLog(client, `${db}.workflow_changes`), mixedHistory(300, 11, releases), 150);
  });

  afterAll(async () => {
    await client?.close();
  });

  it('calendar weeks (007) = 7-day windows from the release day (004), row for row', async () => {
    const calendar = await rows(client, calendarAdoptionView(db));
    const windows = await rows(
      client,
      `SELECT release, release_date, weeks_since_release, runs, newer_runs FROM ${db}.release_adoption_weekly
       ORDER BY release, release_date, weeks_since_release`,
    );
    expect(calendar.length).toBeGreaterThan(3);
    expect(calendar).toEqual(windows);
    const half = (view: string) =>
      rows(client, `SELECT release, release_date, weeks_to_half FROM ${db}.${view} ORDER BY release`);
    expect(await half('release_weeks_to_half')).toEqual(await half('release_half_adoption_weekly'));
  });
});
