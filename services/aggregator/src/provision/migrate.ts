import { SQL_IDENTIFIER } from '@parsl-usage/common';
import {
  MigrationsModelError,
  addedColumn,
  parseMigrations,
  type Migration,
} from '@parsl-usage/schemas/migrations-model';
import { readMigrationFiles } from '@parsl-usage/schemas/migrations-model-files';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { FatalError } from '../errors.js';
import { replicateEngine, statementRole, withoutPopulate } from './replicated-ddl.js';

// The files are read and parsed by the schema's one reader (schemas/src/migrations-model.ts).
export type { Migration } from '@parsl-usage/schemas/migrations-model';

/** The repository's migrations (the image carries them at the same place). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../../infra/clickhouse/migrations', import.meta.url),
);

const DB_NAME = SQL_IDENTIFIER;

/** The migrations of `dir`, in file-name order; a bad file name or database name is fatal. */
export async function loadMigrations(dir: string, database: string): Promise<Migration[]> {
  if (!DB_NAME.test(database))
    throw new FatalError(`database name ${JSON.stringify(database)} is not an identifier`);
  const files = await readMigrationFiles(dir);
  try {
    return parseMigrations(files, database);
  } catch (err) {
    if (err instanceof MigrationsModelError) throw new FatalError(err.message);
    throw err;
  }
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

/** Whether `stmt` adds a column that `database` already has (addedColumn in the schema model). */
async function columnAlreadyAdded(
  client: ClickHouseClient,
  database: string,
  stmt: string,
): Promise<boolean> {
  const added = addedColumn(stmt);
  if (added === null) return false;
  const rows = await (
    await client.query({
      // Inlined, not query parameters (18.16 has none); both names are identifiers by the regex.
      query: `SELECT count() AS n FROM system.columns WHERE database = '${database}' AND table = '${added.table}' AND name = '${added.column}'`,
      format: 'JSONEachRow',
    })
  ).json<{ n: string | number }>();
  return Number(rows[0]?.n ?? 0) > 0;
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
        if (await columnAlreadyAdded(client, db, stmt)) continue;
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
