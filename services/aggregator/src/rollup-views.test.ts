import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR } from './migrate.js';
import { columnTypes, migrationStatements, rollupTargets, versionsView } from './rollup-views.js';

const texts = readdirSync(DEFAULT_MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => readFileSync(join(DEFAULT_MIGRATIONS_DIR, f), 'utf8'));
const statements = migrationStatements(texts, 'db');

describe('rollupTargets (from the migrations)', () => {
  const targets = new Map(rollupTargets(statements, 'db').map((t) => [t.target, t]));
  it.each([
    ['rollup_daily', ['day', 'is_test'], 8, ['day', 'is_test']],
    ['rollup_exec_time', ['day', 'is_test', 'bucket'], 1, ['day', 'is_test']],
    [
      'rollup_daily_dimension',
      ['dimension', 'day', 'is_test', 'value', 'release_date'],
      3,
      ['day', 'is_test'],
    ],
    ['rollup_daily_component', ['kind', 'day', 'is_test', 'component'], 3, ['day', 'is_test']],
    ['rollup_daily_project', ['project_name', 'day', 'is_test'], 3, ['project_name', 'day', 'is_test']],
    ['rollup_daily_install_age', ['day', 'is_test', 'age_days'], 1, ['day', 'is_test']],
    ['rollup_project', ['project_name', 'is_test'], 3, ['project_name', 'is_test']],
    [
      'rollup_weekly_release',
      ['is_test', 'week', 'release_date', 'parsl_version'],
      1,
      ['is_test', 'parsl_version'],
    ],
  ])('%s: keys %j, %i sums, source pre-filter %j', (name, keys, sums, passthrough) => {
    const t = targets.get(name);
    expect(t?.keys).toEqual(keys);
    expect(t?.sums.length).toBe(sums);
    expect(t?.passthrough).toEqual(passthrough);
    for (const c of [...keys, ...(t?.sums ?? [])]) expect(t?.types.has(c), c).toBe(true);
    for (const s of t?.sums ?? []) expect(t?.types.get(s)).toBe('Int64');
  });
  it('finds all eight and no other', () => {
    expect(targets.size).toBe(8);
  });
  it('the versions view is apart, reading only new versions', () => {
    const v = versionsView(statements, 'db');
    expect(v.view).toBe('workflow_versions_mv');
    expect(v.select).toMatch(/WHERE sign = 1$/);
  });
  it('refuses a summing target whose sums are not listed', () => {
    const bad = [
      'CREATE TABLE IF NOT EXISTS db.workflow_changes\n(\n    sign Int8,\n    day Date\n)\nENGINE = MergeTree()\nORDER BY day',
      'CREATE TABLE IF NOT EXISTS db.r\n(\n    day Date,\n    n Int64\n)\nENGINE = SummingMergeTree()\nORDER BY day',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS db.r_mv TO db.r AS\nSELECT day, toInt64(sign) AS n\nFROM db.workflow_changes',
    ];
    expect(() => rollupTargets(bad, 'db')).toThrow(/listed sums/);
  });
});

describe('columnTypes', () => {
  it.each([
    ['    day Date,', 'day', 'Date'],
    ['    executors Array(String),', 'executors', 'Array(String)'],
    ['    inserted_at DateTime DEFAULT now()', 'inserted_at', 'DateTime'],
    ["    status Enum8('launched' = 1, 'running' = 2),", 'status', "Enum8('launched' = 1, 'running' = 2)"],
  ])('%j -> %s %s', (line, name, type) => {
    const types = columnTypes(`CREATE TABLE x\n(\n${line}\n)\nENGINE = MergeTree()`);
    expect(types.get(name)).toBe(type);
  });
});
