import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MigrationsModelError,
  addedColumn,
  columnTypes,
  migrationStatements,
  parseMigration,
  parseMigrations,
  rollupTargets,
  rollupViews,
  schemaModel,
  splitStatements,
  versionsView,
} from './migrations-model.js';
import { loadMigrationsModel, readMigrationFiles } from './migrations-model-files.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../infra/clickhouse/migrations', import.meta.url));
const texts = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => readFileSync(join(MIGRATIONS_DIR, f), 'utf8'));
const schema = schemaModel(migrationStatements(texts, 'db'), 'db');

describe('splitStatements', () => {
  it.each([
    ['one statement', 'SELECT 1;', ['SELECT 1']],
    ['two statements', 'SELECT 1;\nSELECT 2;', ['SELECT 1', 'SELECT 2']],
    ['a statement over lines', 'CREATE TABLE t\n(\n  a Int8\n);', ['CREATE TABLE t\n(\n  a Int8\n)']],
    ['comment lines dropped', '-- why\nSELECT 1;\n  -- more\n', ['SELECT 1']],
    ['a `;` inside a line does not end it', "SELECT ';' AS x\n;", ["SELECT ';' AS x"]],
    ['no final `;`', 'SELECT 1;\nSELECT 2', ['SELECT 1', 'SELECT 2']],
    ['empty statements dropped', ';\n\n;', []],
  ])('%s', (_name, sql, want) => {
    expect(splitStatements(sql)).toEqual(want);
  });
});

describe('parseMigration', () => {
  it('reads version and name from the file name, and replaces ${db}', () => {
    const m = parseMigration('007-release-adoption.sql', 'CREATE DATABASE ${db};', 'prod');
    expect(m).toMatchObject({ version: 7, name: 'release-adoption', statements: ['CREATE DATABASE prod'] });
  });
  it('checksums the template, so a file is the same migration in every database', () => {
    const a = parseMigration('001-a.sql', 'CREATE DATABASE ${db};', 'one');
    const b = parseMigration('001-a.sql', 'CREATE DATABASE ${db};', 'two');
    expect(a.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(a.checksum).toBe(b.checksum);
    expect(parseMigration('001-a.sql', 'SELECT 2;', 'one').checksum).not.toBe(a.checksum);
  });
  it.each(['1-a.sql', '001_a.sql', '001-A.sql', '001-a.txt', 'a.sql'])('refuses the file name %s', (name) => {
    expect(() => parseMigration(name, 'SELECT 1;', 'db')).toThrow(MigrationsModelError);
  });
  it('refuses two files with one version', () => {
    const files = [
      { fileName: '001-a.sql', text: 'SELECT 1;' },
      { fileName: '001-b.sql', text: 'SELECT 2;' },
    ];
    expect(() => parseMigrations(files, 'db')).toThrow(/two migrations share version 1/);
  });
});

describe('schemaModel', () => {
  it.each([['workflow_changes'], ['workflow_versions'], ['events'], ['rollup_daily'], ['rollup_project']])(
    'has the table %s',
    (table) => {
      expect(schema.tables.get(table)).toMatch(
        new RegExp(`^CREATE TABLE IF NOT EXISTS db\\.${table}\\s*\\(`),
      );
    },
  );
  it('has every materialized view with its target and SELECT, and no plain view', () => {
    expect(schema.views.length).toBe(9);
    for (const v of schema.views) {
      expect(v.view).toBe(`${v.target}_mv`);
      expect(v.select).toMatch(/^SELECT\b/);
    }
  });
  it('reads a directory as migrate does', async () => {
    const files = await readMigrationFiles(MIGRATIONS_DIR);
    expect(files.map((f) => f.text)).toEqual(texts);
    const model = await loadMigrationsModel(MIGRATIONS_DIR, 'db');
    expect(model.migrations.map((m) => m.version)).toEqual(texts.map((_t, i) => i + 1));
    expect(model.schema).toEqual(schema);
  });
});

describe('rollupViews (from the migrations)', () => {
  it('finds every rollup view and not workflow_versions_mv', () => {
    expect(
      rollupViews(schema)
        .map((v) => `${v.view}->${v.target}`)
        .sort(),
    ).toEqual([
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
  it('refuses a view it could not rewrite', () => {
    const bad = `CREATE MATERIALIZED VIEW IF NOT EXISTS db.x_mv TO db.x AS SELECT a FROM db.workflow_changes UNION ALL SELECT a FROM db.workflow_changes`;
    expect(() => rollupViews(schemaModel([bad], 'db'))).toThrow(/2 times/);
  });
});

describe('rollupTargets (from the migrations)', () => {
  const targets = new Map(rollupTargets(schema).map((t) => [t.target, t]));
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
    const v = versionsView(schema);
    expect(v.view).toBe('workflow_versions_mv');
    expect(v.select).toMatch(/WHERE sign = 1$/);
  });
  it('refuses a summing target whose sums are not listed', () => {
    const bad = [
      'CREATE TABLE IF NOT EXISTS db.workflow_changes\n(\n    sign Int8,\n    day Date\n)\nENGINE = MergeTree()\nORDER BY day',
      'CREATE TABLE IF NOT EXISTS db.r\n(\n    day Date,\n    n Int64\n)\nENGINE = SummingMergeTree()\nORDER BY day',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS db.r_mv TO db.r AS\nSELECT day, toInt64(sign) AS n\nFROM db.workflow_changes',
    ];
    expect(() => rollupTargets(schemaModel(bad, 'db'))).toThrow(/listed sums/);
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

describe('addedColumn', () => {
  it.each([
    [
      'ALTER TABLE db.events\n    ADD COLUMN kafka_index UInt16 AFTER kafka_offset,\n    MODIFY ORDER BY (a, b)',
      { table: 'events', column: 'kafka_index' },
    ],
    ['ALTER TABLE db.t ADD COLUMN c String', { table: 't', column: 'c' }],
    ['ALTER TABLE db.t DELETE WHERE 1', null],
    ['CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = Memory', null],
  ])('%j', (stmt, want) => {
    expect(addedColumn(stmt)).toEqual(want);
  });

  it('the model reads the migrated events table, kafka_index after kafka_offset', () => {
    const cols = [...columnTypes(schema.tables.get('events') ?? '').keys()];
    expect(cols.slice(0, 3)).toEqual(['kafka_partition', 'kafka_offset', 'kafka_index']);
  });
});
