import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMigration } from '@parsl-usage/schemas/migrations-model';
import {
  DEFAULT_ZOOKEEPER_PREFIX,
  createdName,
  replicateEngine,
  statementRole,
  withoutPopulate,
} from './replicated-ddl.js';

const P = '/clickhouse/tables/{shard}';

describe('replicateEngine', () => {
  it.each([
    [
      'CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = MergeTree() ORDER BY a',
      "CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db.t', '{replica}') ORDER BY a",
    ],
    [
      'CREATE TABLE db.t (a UInt8) ENGINE = MergeTree ORDER BY a',
      "CREATE TABLE db.t (a UInt8) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db.t', '{replica}') ORDER BY a",
    ],
    [
      'CREATE TABLE IF NOT EXISTS db.v (w String, version UInt64)\nENGINE = ReplacingMergeTree(version)\nORDER BY w',
      "CREATE TABLE IF NOT EXISTS db.v (w String, version UInt64)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db.v', '{replica}', version)\nORDER BY w",
    ],
    [
      'CREATE TABLE IF NOT EXISTS db.r (d Date, w Int64, p Int64)\nENGINE = SummingMergeTree((w, p))\nPARTITION BY toYear(d)\nORDER BY d',
      "CREATE TABLE IF NOT EXISTS db.r (d Date, w Int64, p Int64)\nENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db.r', '{replica}', (w, p))\nPARTITION BY toYear(d)\nORDER BY d",
    ],
    [
      "CREATE TABLE `db`.`odd` (s String DEFAULT ')') engine=CollapsingMergeTree(sign) ORDER BY s",
      "CREATE TABLE `db`.`odd` (s String DEFAULT ')') ENGINE = ReplicatedCollapsingMergeTree('/clickhouse/tables/{shard}/db.odd', '{replica}', sign) ORDER BY s",
    ],
    [
      'CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv ENGINE = SummingMergeTree((n)) ORDER BY k POPULATE AS SELECT k, count() AS n FROM db.t GROUP BY k',
      "CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db.mv', '{replica}', (n)) ORDER BY k POPULATE AS SELECT k, count() AS n FROM db.t GROUP BY k",
    ],
  ])('%s', (input, want) => {
    const out = replicateEngine(input, P);
    expect(out.kind).toBe('replicated');
    expect(out.kind === 'replicated' && out.sql).toBe(want);
  });

  it.each([
    'CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv TO db.r AS SELECT a FROM db.t',
    "CREATE VIEW IF NOT EXISTS db.v AS SELECT engine FROM system.tables WHERE engine = 'MergeTree'",
    "CREATE TABLE db.x (a UInt8) ENGINE = ReplicatedMergeTree('/p/db.x', '{replica}') ORDER BY a",
    'CREATE TABLE db.m (a UInt8) ENGINE = Memory',
    'INSERT INTO db.r SELECT * FROM db.t',
    'DROP TABLE IF EXISTS db.release_adoption',
    'CREATE DATABASE IF NOT EXISTS db',
  ])('leaves %s as it is', (input) => {
    expect(replicateEngine(input, P)).toEqual({ kind: 'unchanged', sql: input });
  });

  it.each([
    [
      'a prefix with a trailing slash',
      'CREATE TABLE db.t (a UInt8) ENGINE = MergeTree() ORDER BY a',
      '/zk/',
      '/zk/db.t',
    ],
    [
      'the default prefix',
      'CREATE TABLE db.t (a UInt8) ENGINE = MergeTree() ORDER BY a',
      DEFAULT_ZOOKEEPER_PREFIX,
      '/clickhouse/tables/{shard}/db.t',
    ],
  ])('ZooKeeper path with %s', (_what, input, prefix, path) => {
    const out = replicateEngine(input, prefix);
    expect(out.kind === 'replicated' && out.zooKeeperPath).toBe(path);
  });

  it.each([
    ['unbalanced arguments', 'CREATE TABLE db.t (a UInt8) ENGINE = SummingMergeTree((a) ORDER BY a'],
    ['an engine outside CREATE', 'ATTACH TABLE db.t (a UInt8) ENGINE = MergeTree() ORDER BY a'],
  ])('refuses %s', (_what, input) => {
    expect(replicateEngine(input, P).kind).toBe('error');
  });
});

describe('statementRole', () => {
  it.each([
    ['INSERT INTO db.r SELECT 1', 'one-replica'],
    ['  insert into db.r values (1)', 'one-replica'],
    ['ALTER TABLE db.r ADD COLUMN x UInt8', 'one-replica'],
    ['OPTIMIZE TABLE db.r FINAL', 'one-replica'],
    ['TRUNCATE TABLE db.r', 'one-replica'],
    ['CREATE TABLE db.r (a UInt8) ENGINE = MergeTree() ORDER BY a', 'every-replica'],
    ['CREATE VIEW db.v AS SELECT 1 AS inserted', 'every-replica'],
    ['DROP TABLE IF EXISTS db.v', 'every-replica'],
    ['RENAME TABLE db.a TO db.b', 'every-replica'],
    ['CREATE DATABASE IF NOT EXISTS db', 'every-replica'],
  ])('%s runs on %s', (stmt, role) => {
    expect(statementRole(stmt)).toBe(role);
  });
});

describe('withoutPopulate', () => {
  it.each([
    [
      'CREATE MATERIALIZED VIEW db.mv ENGINE = MergeTree() ORDER BY k POPULATE AS SELECT k FROM db.t',
      'CREATE MATERIALIZED VIEW db.mv ENGINE = MergeTree() ORDER BY k  AS SELECT k FROM db.t',
    ],
    [
      'CREATE MATERIALIZED VIEW db.mv TO db.r AS SELECT k FROM db.t',
      'CREATE MATERIALIZED VIEW db.mv TO db.r AS SELECT k FROM db.t',
    ],
    ["CREATE VIEW db.v AS SELECT 'POPULATE' AS s", "CREATE VIEW db.v AS SELECT 'POPULATE' AS s"],
  ])('%s', (input, want) => {
    expect(withoutPopulate(input)).toBe(want);
  });
});

describe('createdName', () => {
  it.each([
    ['CREATE TABLE IF NOT EXISTS db.t (a UInt8)', 'db.t'],
    ['CREATE MATERIALIZED VIEW db.mv TO db.r AS SELECT 1', 'db.mv'],
    ['create table `db`.`t` (a UInt8)', 'db.t'],
    ['CREATE VIEW db.v AS SELECT 1', undefined],
  ])('%s makes %s', (stmt, name) => {
    expect(createdName(stmt)).toBe(name);
  });
});

// Every shipped migration in the cluster shape: each MergeTree table replicated, nothing refused.
describe('the shipped migrations', () => {
  const dir = fileURLToPath(new URL('../../../../infra/clickhouse/migrations', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  it.each(files)('%s rewrites cleanly', (file) => {
    const m = parseMigration(file, readFileSync(`${dir}/${file}`, 'utf8'), 'parsl_usage');
    for (const stmt of m.statements) {
      const out = replicateEngine(stmt, P);
      expect(out.kind).not.toBe('error');
      if (out.kind === 'replicated') expect(out.sql).not.toMatch(/ENGINE\s*=\s*(?!Replicated)\w*MergeTree/);
      if (/ENGINE\s*=\s*\w*MergeTree/i.test(stmt)) expect(out.kind).toBe('replicated');
    }
  });
});
