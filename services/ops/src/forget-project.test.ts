import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FORGET_USAGE,
  forgetArgsSchema,
  migrationStatements,
  parseWith,
  planForget,
  projectNameSchema,
  rollupViews,
  watermarkPredicate,
  workTables,
} from './forget-project.js';
import { DEFAULT_MIGRATIONS_DIR } from '@parsl-usage/aggregator';

describe('projectNameSchema', () => {
  it.each(['alpha', `o'brien`, 'a b', 'x'.repeat(256), '项'.repeat(256), 'a\0b', 'a\u0001b'])(
    'accepts %j',
    (s) => {
      expect(projectNameSchema.safeParse(s).success).toBe(true);
    },
  );
  it.each(['', ' alpha', 'alpha ', 'x'.repeat(257)])('refuses %j', (s) => {
    expect(projectNameSchema.safeParse(s).success).toBe(false);
  });
});

describe('parseWith', () => {
  it('lists every bad argument and variable at once', () => {
    expect(() =>
      parseWith(forgetArgsSchema, {}, { CLICKHOUSE_URL: 'nope', CLICKHOUSE_DATABASE: 'a-b' }, FORGET_USAGE),
    ).toThrow(/--project NAME is required[\s\S]*CLICKHOUSE_URL[\s\S]*CLICKHOUSE_DATABASE[\s\S]*usage/);
  });
  it('defaults to admin on parsl_usage', () => {
    const r = parseWith(forgetArgsSchema, { project: 'alpha' }, {}, FORGET_USAGE);
    expect(r.args.project).toBe('alpha');
    expect(r.env).toMatchObject({ CLICKHOUSE_USER: 'admin', CLICKHOUSE_DATABASE: 'parsl_usage' });
  });
});

describe('watermarkPredicate', () => {
  it.each([
    [[], '0'],
    [[{ partition: 0, offset: '41' }], 'multiIf(kafka_partition = 0, kafka_offset <= 41, 0)'],
    [
      [
        { partition: 0, offset: '5' },
        { partition: 3, offset: '18446744073709551615' },
      ],
      'multiIf(kafka_partition = 0, kafka_offset <= 5, kafka_partition = 3, kafka_offset <= 18446744073709551615, 0)',
    ],
  ])('%j', (marks, sql) => {
    expect(watermarkPredicate(marks)).toBe(sql);
  });
  it.each([
    [{ partition: -1, offset: '1' }],
    [{ partition: 0, offset: '1 OR 1' }],
    [{ partition: 1.5, offset: '1' }],
  ])('refuses %j', (m) => {
    expect(() => watermarkPredicate([m])).toThrow();
  });
});

const texts = readdirSync(DEFAULT_MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => readFileSync(join(DEFAULT_MIGRATIONS_DIR, f), 'utf8'));

describe('rollupViews (from the migrations)', () => {
  const views = rollupViews(migrationStatements(texts, 'db'), 'db');
  it('finds every rollup view and not workflow_versions_mv', () => {
    expect(views.map((v) => `${v.view}->${v.target}`).sort()).toEqual([
      'rollup_daily_component_mv->rollup_daily_component',
      'rollup_daily_dimension_mv->rollup_daily_dimension',
      'rollup_daily_install_age_mv->rollup_daily_install_age',
      'rollup_daily_mv->rollup_daily',
      'rollup_daily_project_mv->rollup_daily_project',
      'rollup_exec_time_mv->rollup_exec_time',
      'rollup_project_mv->rollup_project',
      'rollup_weekly_release_mv->rollup_weekly_release',
    ]);
  });
  it.each(views.map((v) => [v.view, v] as const))('%s reads workflow_changes once', (_n, v) => {
    expect(v.select.startsWith('SELECT')).toBe(true);
    expect(v.select.split('FROM db.workflow_changes').length).toBe(2);
  });
  it('refuses a view it could not rewrite', () => {
    const bad = `CREATE MATERIALIZED VIEW IF NOT EXISTS db.x_mv TO db.x AS SELECT a FROM db.workflow_changes UNION ALL SELECT a FROM db.workflow_changes`;
    expect(() => rollupViews([bad], 'db')).toThrow(/2 times/);
  });
});

describe('planForget', () => {
  const views = rollupViews(migrationStatements(texts, 'db'), 'db');
  const plan = planForget({
    database: 'db',
    project: `o'brien`,
    views,
    changeColumns: ['workflow_id', 'sign', 'day', 'project_name'],
    watermark: [{ partition: 0, offset: '9' }],
  });
  const { ids, rows } = workTables(`o'brien`);
  it('names work tables after the project, stably', () => {
    expect(ids).toMatch(/^forget_ids_[0-9a-f]{16}$/);
    expect(workTables(`o'brien`)).toEqual({ ids, rows });
    expect(workTables('alpha').ids).not.toBe(ids);
  });
  it('snapshots the negated rows of the ids, up to the watermark', () => {
    expect(plan.snapshot[1]).toContain(
      `project_name = 'o\\'brien' AND multiIf(kafka_partition = 0, kafka_offset <= 9, 0)`,
    );
    expect(plan.snapshot[3]).toBe(
      `INSERT INTO db.${rows} (workflow_id, sign, day, project_name) SELECT workflow_id, toInt8(-sign) AS sign, day, project_name FROM db.workflow_changes WHERE workflow_id IN (SELECT workflow_id FROM db.${ids}) AND multiIf(kafka_partition = 0, kafka_offset <= 9, 0)`,
    );
  });
  it('compensates every rollup with its own view SELECT over the negated rows', () => {
    expect(plan.compensate.map((c) => c.target)).toEqual(views.map((v) => v.target));
    for (const [i, c] of plan.compensate.entries()) {
      const v = views[i]!;
      expect(c.sql).toBe(
        `INSERT INTO db.${v.target} ${v.select.replace('FROM db.workflow_changes', `FROM db.${rows}`)}`,
      );
    }
  });
  it('deletes from the three row tables with the same predicate', () => {
    expect(plan.deletions.map((d) => d.table)).toEqual(['workflow_changes', 'workflow_versions', 'events']);
    for (const d of plan.deletions)
      expect(d.sql).toBe(
        `ALTER TABLE db.${d.table} DELETE WHERE workflow_id IN (SELECT workflow_id FROM db.${ids}) AND multiIf(kafka_partition = 0, kafka_offset <= 9, 0)`,
      );
  });
  it('optimizes only month partitions', () => {
    expect(plan.optimizeProjectRollup(202611)).toBe(
      'OPTIMIZE TABLE db.rollup_daily_project PARTITION 202611 FINAL',
    );
    expect(() => plan.optimizeProjectRollup(42)).toThrow();
  });
  it('needs a sign column', () => {
    expect(() =>
      planForget({ database: 'db', project: 'a', views, changeColumns: ['workflow_id'], watermark: [] }),
    ).toThrow(/sign/);
  });
});
