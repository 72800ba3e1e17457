/**
 * Restores a backup (backup-run.ts) into an empty ClickHouse: checks every file's checksum
 * before writing anything, applies the migrations, loads `events` and the change log (whose
 * materialized views rebuild workflow_versions and every rollup), or with `fromEvents`
 * rebuilds every derived table from `events` with reprocess.ts, and finally moves the
 * aggregator's consumer group to the first offset after the restored data, so that Kafka
 * replays the tail since the backup exactly once (the sink skips what each table holds).
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { readRows } from '@parsl-usage/common';
import { decodeDatagram } from '@parsl-usage/schemas';
import {
  manifestMarks,
  migrationMismatch,
  monthsOnlyInChangeLog,
  offsetsAfterRestore,
  type Manifest,
  type OffsetPlan,
} from './backup-manifest.js';
import { insertGzip, type ClickHouseHttp } from './backup-http.js';
import { readManifest, verifyBackup } from './backup-run.js';
import { applyMigrations, createClickHouseSink, loadMigrations, offsetOf } from '@parsl-usage/aggregator';
import { clickHouseEventSource, derivedTables, reprocessFromEvents } from './reprocess.js';

const rows = readRows;

export interface KafkaTarget {
  kafka: Kafka;
  groupId: string;
  topic: string;
}

/** Refuses while the group has members: offsets set under a running aggregator would be overwritten by its next commit. */
async function checkGroupIdle(k: KafkaTarget): Promise<void> {
  const admin = k.kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `cannot reach Kafka to check consumer group ${k.groupId} (use --no-offsets to restore without it)`,
      {
        cause: err,
      },
    );
  }
  try {
    const { groups } = await admin.describeGroups([k.groupId]);
    const g = groups[0];
    if (g && g.members.length > 0)
      throw new Error(
        `consumer group ${k.groupId} has ${g.members.length} running member(s) (state ${g.state}): stop every aggregator before restoring`,
      );
  } finally {
    await admin.disconnect();
  }
}

async function topicOffsets(
  k: KafkaTarget,
): Promise<Array<{ partition: number; low: string; high: string }>> {
  const admin = k.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(k.topic)).map((p) => ({
      partition: p.partition,
      low: p.low,
      high: p.high,
    }));
  } finally {
    await admin.disconnect();
  }
}

/** Tables of the database holding rows (schema_migrations aside: a migrated empty database is empty). */
async function tablesWithRows(
  client: ClickHouseClient,
  database: string,
): Promise<Array<{ table: string; rows: number }>> {
  const r = await rows<{ table: string; n: string }>(
    client,
    `SELECT table, toString(sum(rows)) AS n FROM system.parts
     WHERE database = '${database}' AND active AND table != 'schema_migrations' GROUP BY table HAVING sum(rows) > 0 ORDER BY table`,
  );
  return r.map((x) => ({ table: x.table, rows: Number(x.n) }));
}

export interface RestoreResult {
  database: string;
  backupCreatedAt: string;
  migrationsApplied: number[];
  loaded: Record<string, { files: number; rows: number }>;
  rebuiltFromEvents?: { messages: number; rows: number };
  emptied: string[];
  offsets?: OffsetPlan['partitions'];
  lost?: OffsetPlan['lost'];
  ms: number;
}

export interface RestoreOptions {
  client: ClickHouseClient;
  http: ClickHouseHttp;
  database: string;
  dir: string;
  migrationsDir: string;
  /** undefined: leave the consumer group alone (a restore for inspection) */
  kafka?: KafkaTarget;
  /** empty the database's tables first instead of refusing */
  force?: boolean;
  /** rebuild the derived tables from `events` instead of loading the backed-up change log */
  fromEvents?: boolean;
  log?: (msg: string) => void;
}

type Log = (msg: string) => void;

export async function runRestore(opts: RestoreOptions): Promise<RestoreResult> {
  const { client, database: db } = opts;
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const manifest = await readManifest(opts.dir);

  // Everything that can refuse does so before the first write.
  await refuseEarly(opts, manifest);
  const emptied = await emptyTables(client, db, opts.force ?? false, log);

  const migrated = await applyMigrations(client, { database: db, dir: opts.migrationsDir, log });
  const loaded: RestoreResult['loaded'] = {};
  for (const table of opts.fromEvents ? ['events'] : ['events', 'workflow_changes'])
    loaded[table] = await loadTable(opts, manifest, table, log);
  const rebuiltFromEvents = opts.fromEvents ? await rebuildFromEvents(client, db, log) : undefined;

  const result: RestoreResult = {
    database: db,
    backupCreatedAt: manifest.createdAt,
    migrationsApplied: migrated.applied,
    loaded,
    emptied,
    ...(rebuiltFromEvents ? { rebuiltFromEvents } : {}),
    ms: 0,
  };
  if (opts.kafka) {
    const plan = await placeConsumerGroup(client, db, opts.kafka, log);
    result.offsets = plan.partitions;
    result.lost = plan.lost;
  }
  result.ms = Date.now() - started;
  return result;
}

/** Every refusal a restore can meet before it writes: the group, the files, the migrations, Kafka. */
async function refuseEarly(opts: RestoreOptions, manifest: Manifest): Promise<void> {
  const { dir } = opts;
  if (opts.kafka) await checkGroupIdle(opts.kafka);
  const verified = await verifyBackup(dir, { parse: false });
  if (verified.problems.length > 0)
    throw new Error(
      `the backup in ${dir} is damaged, nothing was restored: ${verified.problems[0]}` +
        (verified.problems.length > 1
          ? ` (and ${verified.problems.length - 1} more; see backup --verify)`
          : ''),
    );
  const code = await loadMigrations(opts.migrationsDir, opts.database);
  const mismatch = migrationMismatch(
    manifest.migrations,
    code.map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })),
  );
  if (mismatch) throw new Error(mismatch);
  const uncovered = opts.fromEvents ? monthsOnlyInChangeLog(manifest) : [];
  if (uncovered.length > 0)
    throw new Error(
      `--from-events would lose the runs of ${uncovered.length} month(s) (${uncovered[0]} to ${uncovered[uncovered.length - 1]}) ` +
        'whose events retention dropped; restore without --from-events (the change log keeps them)',
    );
  if (opts.kafka) {
    const early = offsetsAfterRestore(backupMarks(manifest), await topicOffsets(opts.kafka));
    if (early.impossible.length > 0)
      throw new Error(`topic ${opts.kafka.topic} does not match the backup: ${early.impossible.join('; ')}`);
  }
}

/** Refuses a database that holds data, or with `force` empties its tables; the tables emptied. */
async function emptyTables(
  client: ClickHouseClient,
  db: string,
  force: boolean,
  log: Log,
): Promise<string[]> {
  const occupied = await tablesWithRows(client, db);
  const emptied: string[] = [];
  if (occupied.length === 0) return emptied;
  const what = occupied.map((t) => `${t.table}: ${t.rows} rows`).join(', ');
  if (!force)
    throw new Error(
      `database ${db} already holds data (${what}); a restore goes into an empty database. ` +
        'Restore into a fresh ClickHouse, or pass --force to empty these tables first',
    );
  for (const t of occupied) {
    await client.command({ query: `TRUNCATE TABLE ${db}.${t.table}` });
    emptied.push(t.table);
  }
  log(`emptied ${emptied.join(', ')} (--force)`);
  return emptied;
}

/** Loads one table's files of the backup, once the table has every column they hold. */
async function loadTable(
  opts: RestoreOptions,
  manifest: Manifest,
  table: string,
  log: Log,
): Promise<{ files: number; rows: number }> {
  const { client, database: db } = opts;
  const have = new Set(
    (
      await rows<{ name: string }>(
        client,
        `SELECT name FROM system.columns WHERE database = '${db}' AND table = '${table}'`,
      )
    ).map((c) => c.name),
  );
  const columns = (manifest.columns[table] ?? []).map((c) => c.name);
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) throw new Error(`${db}.${table} has no column ${missing.join(', ')} of the backup`);
  const l = { files: 0, rows: 0 };
  for (const f of manifest.files.filter((x) => x.table === table && x.rows > 0)) {
    const t0 = Date.now();
    // Checked again as it is read: a file changed since the check above fails the insert.
    await insertGzip(
      opts.http,
      `INSERT INTO ${db}.${table} (${columns.join(', ')}) FORMAT Native`,
      createReadStream(join(opts.dir, f.file)),
    );
    l.files++;
    l.rows += f.rows;
    log(`loaded ${f.file}: ${f.rows} rows, ${Date.now() - t0} ms`);
  }
  return l;
}

/** Empties every derived table and rebuilds it from `events` (reprocess.ts). */
async function rebuildFromEvents(
  client: ClickHouseClient,
  db: string,
  log: Log,
): Promise<NonNullable<RestoreResult['rebuiltFromEvents']>> {
  const tables = await rows<{ name: string; engine: string }>(
    client,
    `SELECT name, engine FROM system.tables WHERE database = '${db}'`,
  );
  for (const t of derivedTables(tables)) await client.command({ query: `TRUNCATE TABLE ${db}.${t}` });
  const r = await reprocessFromEvents({
    source: clickHouseEventSource(client, db),
    sink: createClickHouseSink(client, db),
    decode: decodeDatagram,
  });
  log(`rebuilt the derived tables from ${r.messages} events`);
  return { messages: r.messages, rows: r.rows };
}

/**
 * The sink's watermarks are positions (offset and index in a pack, positionOf): the record of
 * each one may hold entries past it, so it counts as not yet done, and the group reads it again.
 * The aggregator skips what the tables hold of it, so nothing lands twice.
 */
function heldThrough(
  marks: ReadonlyMap<number, { changes: bigint; events: bigint }>,
): Map<number, { changes: bigint; events: bigint }> {
  const through = (p: bigint): bigint => (p < 0n ? -1n : offsetOf(p) - 1n);
  return new Map([...marks].map(([p, w]) => [p, { changes: through(w.changes), events: through(w.events) }]));
}

/** Moves the consumer group to the first offset whose record the tables may not hold whole. */
async function placeConsumerGroup(
  client: ClickHouseClient,
  db: string,
  kafka: KafkaTarget,
  log: Log,
): Promise<OffsetPlan> {
  const plan = offsetsAfterRestore(heldThrough(await createClickHouseSink(client, db).watermarks()), await topicOffsets(kafka));
  if (plan.impossible.length > 0)
    throw new Error(`cannot place the consumer group: ${plan.impossible.join('; ')}`);
  await checkGroupIdle(kafka);
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId: kafka.groupId, topic: kafka.topic, partitions: plan.partitions });
  } finally {
    await admin.disconnect();
  }
  log(
    `consumer group ${kafka.groupId} on ${kafka.topic} set to ${plan.partitions.map((p) => `${p.partition}:${p.offset}`).join(' ')}`,
  );
  return plan;
}

/** The backup's watermarks per Kafka partition, of both tables; -1 where a table holds none of it. */
export function backupMarks(m: Manifest): Map<number, { changes: bigint; events: bigint }> {
  const out = new Map<number, { changes: bigint; events: bigint }>();
  const at = (p: number) => {
    let w = out.get(p);
    if (!w) out.set(p, (w = { changes: -1n, events: -1n }));
    return w;
  };
  for (const w of manifestMarks(m, 'events')) at(w.partition).events = BigInt(w.offset);
  for (const w of manifestMarks(m, 'workflow_changes')) at(w.partition).changes = BigInt(w.offset);
  return out;
}
