import { SQL_IDENTIFIER } from '@parsl-usage/common';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { FatalError } from './errors.js';
import { replicateEngine, statementRole, withoutPopulate } from './replicated-ddl.js';

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

/** The repository's migrations (the image carries them at the same place). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../infra/clickhouse/migrations', import.meta.url),
);

const DB_NAME = SQL_IDENTIFIER;
const FILE_NAME = /^(\d{3})-([a-z0-9-]+)\.sql$/;

/** Splits a migration file into statements: `;` ends a statement at the end of a line; `--` lines are comments. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current: string[] = [];
  for (const line of sql.split('\n')) {
    if (line.trim().startsWith('--')) continue;
    current.push(line);
    if (line.trimEnd().endsWith(';')) {
      const stmt = current.join('\n').trim().replace(/;$/, '').trim();
      if (stmt) out.push(stmt);
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest) out.push(rest);
  return out;
}

export function parseMigration(fileName: string, text: string, database: string): Migration {
  const m = FILE_NAME.exec(fileName);
  if (!m?.[1] || !m[2]) throw new FatalError(`migration file name ${fileName} is not NNN-name.sql`);
  return {
    version: Number(m[1]),
    name: m[2],
    // The checksum covers the template, not the database name, so a file is the same migration everywhere.
    checksum: createHash('sha256').update(text).digest('hex'),
    statements: splitStatements(text.replaceAll('${db}', database)),
  };
}

export async function loadMigrations(dir: string, database: string): Promise<Migration[]> {
  if (!DB_NAME.test(database))
    throw new FatalError(`database name ${JSON.stringify(database)} is not an identifier`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const f of files) migrations.push(parseMigration(f, await readFile(join(dir, f), 'utf8'), database));
  const seen = new Set<number>();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new FatalError(`two migrations share version ${m.version}`);
    seen.add(m.version);
  }
  return migrations;
}

export interface MigrationResult {
  applied: number[];
  skipped: number[];
}

/**
 * The cluster shape (replicated-ddl.ts): `client` is the first replica, where data statements
 * and the schema_migrations record go; DDL runs on it and on every other replica, in order.
 */
export interface ClusterShape {
  otherReplicas: ClickHouseClient[];
  /** ZooKeeper path prefix of every table, e.g. /clickhouse/tables/{shard} (DEFAULT_ZOOKEEPER_PREFIX). */
  zooKeeperPrefix: string;
}

/** Runs one statement in the shape asked for; without a cluster, exactly the statement on `client`. */
async function runStatement(
  client: ClickHouseClient,
  stmt: string,
  cluster: ClusterShape | undefined,
  database: string,
): Promise<void> {
  if (!cluster) {
    await client.command({ query: stmt });
    return;
  }
  const rewritten = replicateEngine(stmt, cluster.zooKeeperPrefix);
  if (rewritten.kind === 'error') throw new FatalError(rewritten.reason);
  if (statementRole(stmt) === 'one-replica') {
    // The statement reads what the other replicas wrote (a backfill's SELECT): fetch it first.
    await syncReplicas(client, database);
    await client.command({ query: rewritten.sql });
    return;
  }
  await client.command({ query: rewritten.sql });
  for (const other of cluster.otherReplicas) await other.command({ query: withoutPopulate(rewritten.sql) });
}

/** Waits until this replica holds every part its Replicated* tables of `database` are due. */
async function syncReplicas(client: ClickHouseClient, database: string): Promise<void> {
  const rows = await (
    await client.query({
      // Inlined, not a query parameter (18.16 has none); the name passed the identifier check.
      query: `SELECT table FROM system.replicas WHERE database = '${database}'`,
      format: 'JSONEachRow',
    })
  ).json<{ table: string }>();
  for (const r of rows) await client.command({ query: `SYSTEM SYNC REPLICA ${database}.\`${r.table}\`` });
}

/**
 * Applies every migration not yet recorded in `${database}.schema_migrations`.
 * Running it twice changes nothing; a recorded migration whose file changed is an error,
 * because silently diverging schemas are worse than a stopped deploy.
 * With `cluster`, the same files in the replicated shape (see ClusterShape); the checksums are
 * the files', so they are the same in both shapes.
 */
export async function applyMigrations(
  client: ClickHouseClient,
  opts: { database: string; dir: string; log?: (msg: string) => void; cluster?: ClusterShape },
): Promise<MigrationResult> {
  const migrations = await loadMigrations(opts.dir, opts.database);
  const db = opts.database;
  const cluster = opts.cluster;
  await runStatement(client, `CREATE DATABASE IF NOT EXISTS ${db}`, cluster, db);
  await runStatement(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree() ORDER BY version`,
    cluster,
    db,
  );
  // The record may have been written through another replica last time.
  if (cluster) await syncReplicas(client, db);
  const rows = await (
    await client.query({
      query: `SELECT version, checksum FROM ${db}.schema_migrations FINAL`,
      format: 'JSONEachRow',
    })
  ).json<{ version: number; checksum: string }>();
  const done = new Map(rows.map((r) => [Number(r.version), r.checksum]));
  const result: MigrationResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    const have = done.get(m.version);
    if (have !== undefined) {
      if (have !== m.checksum) {
        throw new FatalError(
          `migration ${m.version}-${m.name} was applied with another checksum; add a new migration instead of editing an applied one`,
        );
      }
      result.skipped.push(m.version);
      continue;
    }
    for (const stmt of m.statements) {
      try {
        await runStatement(client, stmt, cluster, db);
      } catch (err) {
        if (err instanceof FatalError) throw err;
        throw new FatalError(`migration ${m.version}-${m.name} failed at: ${stmt.slice(0, 200)}`, err);
      }
    }
    await client.insert({
      table: `${db}.schema_migrations`,
      // Sent explicitly: 18.16 ignores DEFAULT for columns a JSONEachRow row leaves out.
      values: [
        {
          version: m.version,
          name: m.name,
          checksum: m.checksum,
          applied_at: new Date().toISOString().slice(0, 19).replace('T', ' '),
        },
      ],
      format: 'JSONEachRow',
    });
    opts.log?.(`applied migration ${m.version}-${m.name}`);
    result.applied.push(m.version);
  }
  return result;
}
