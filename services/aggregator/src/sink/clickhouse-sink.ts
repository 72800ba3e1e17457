import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString, readRows } from '@parsl-usage/common';
import { classify } from './clickhouse-errors.js';
import { createClickHouseViewRepairPort, storedChangeKeys } from '../repair/clickhouse-view-repair.js';
import type { Watermark, WorkflowSink } from '../ports.js';
import { CHANGE_POSITION_SQL, EVENT_POSITION_SQL } from '../position.js';
import { loadViewDefinitions } from '../repair/view-definitions.js';
import { ID_HASHES_SQL } from '../join/id-hash.js';
import { readHashPairs } from './row-binary.js';
import { CHANGE_COLUMNS, EVENT_COLUMNS } from './insert-columns.js';
import { encodeRows, type Column } from './row-binary-writer.js';
import { EPOCH_DATE, EPOCH_DATETIME, type WorkflowState } from '../join/workflow-state.js';

export type { WorkflowSink } from '../ports.js';

/** workflow_versions' columns: the state of a workflow as the join reads it back. */
export const STATE_COLUMNS = [
  'workflow_id',
  'version',
  'status',
  'protocol',
  'tracking_level',
  'parsl_version',
  'parsl_release_date',
  'install_age_days',
  'python_version',
  'python_minor',
  'platform',
  'os_release',
  'project_name',
  'is_test',
  'executors',
  'providers',
  'launchers',
  'other_components',
  'executors_len',
  'dependency_resolver',
  'mpi',
  'app_count',
  'app_fails',
  'has_launch',
  'has_closure',
  'day',
  'launch_received_at',
  'closure_received_at',
  'start_time',
  'end_time',
  'execution_time',
  'points',
  'kafka_partition',
  'kafka_offset',
] as const;

/**
 * One insert of rows encoded by row-binary-writer.ts (clickhouse-js' insert takes only text
 * formats, so the body goes through exec). Rows that cannot be sent so go as JSONEachRow.
 */
async function insertRowBinary(
  client: ClickHouseClient,
  table: string,
  columns: readonly Column[],
  body: Buffer,
): Promise<void> {
  const { stream } = await client.exec({
    query: `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) FORMAT RowBinary`,
    values: Readable.from([body], { objectMode: false }),
  });
  // The answer is empty; read it to the end so that the socket goes back to the pool.
  stream.resume();
  await finished(stream);
}

const LOOKUP_CHUNK = 2_000; // ids per query: keeps the SQL text well under max_query_size

/** 18.16 prints zero dates as 0000-00-00; current releases as 1970-01-01. The state uses the latter. */
function normDate(v: unknown): string {
  const s = String(v);
  return s.startsWith('0000-00-00') ? EPOCH_DATE : s;
}
function normDateTime(v: unknown): string {
  const s = String(v);
  return s.startsWith('0000-00-00') ? EPOCH_DATETIME : s;
}

export function rowToState(r: Record<string, unknown>): WorkflowState {
  const n = (k: string): number => Number(r[k]);
  const str = (k: string): string => {
    const v = r[k];
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
  };
  const arr = (k: string): string[] => (Array.isArray(r[k]) ? (r[k] as unknown[]).map(String) : []);
  return {
    workflow_id: str('workflow_id'),
    version: str('version'),
    status: str('status') as WorkflowState['status'],
    protocol: str('protocol') as WorkflowState['protocol'],
    tracking_level: n('tracking_level'),
    parsl_version: str('parsl_version'),
    parsl_release_date: normDate(r.parsl_release_date),
    install_age_days: n('install_age_days'),
    python_version: str('python_version'),
    python_minor: str('python_minor'),
    platform: str('platform'),
    os_release: str('os_release'),
    project_name: str('project_name'),
    is_test: n('is_test'),
    executors: arr('executors'),
    providers: arr('providers'),
    launchers: arr('launchers'),
    other_components: arr('other_components'),
    executors_len: n('executors_len'),
    dependency_resolver: n('dependency_resolver'),
    mpi: n('mpi'),
    app_count: n('app_count'),
    app_fails: n('app_fails'),
    has_launch: n('has_launch'),
    has_closure: n('has_closure'),
    day: normDate(r.day),
    launch_received_at: normDateTime(r.launch_received_at),
    closure_received_at: normDateTime(r.closure_received_at),
    start_time: normDateTime(r.start_time),
    end_time: normDateTime(r.end_time),
    execution_time: n('execution_time'),
    points: n('points'),
    kafka_partition: n('kafka_partition'),
    kafka_offset: str('kafka_offset'),
  };
}

export interface SinkOptions {
  /** where the migrations are read from for the views' SELECTs (default: the repository's) */
  migrationsDir?: string;
}

/** The rows in one insert: RowBinary when every value allows, else JSONEachRow (row-binary-writer.ts). */
async function insertRows(
  client: ClickHouseClient,
  table: string,
  columns: readonly Column[],
  rows: readonly object[],
  fixed: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  if (rows.length === 0) return;
  const body = encodeRows(columns, rows, fixed);
  if (body !== null) return insertRowBinary(client, table, columns, body);
  const values = Object.keys(fixed).length === 0 ? rows : rows.map((r) => ({ ...r, ...fixed }));
  await client.insert({ table, values, format: 'JSONEachRow' });
}

async function lookup(
  client: ClickHouseClient,
  database: string,
  ids: string[],
): Promise<Map<string, WorkflowState>> {
  const out = new Map<string, WorkflowState>();
  for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
    const chunk = ids.slice(i, i + LOOKUP_CHUNK);
    const query = `SELECT ${STATE_COLUMNS.join(', ')} FROM ${database}.workflow_versions FINAL WHERE workflow_id IN (${chunk.map(quoteString).join(', ')})`;
    for (const r of await readRows<Record<string, unknown>>(client, query)) {
      const s = rowToState(r);
      out.set(s.workflow_id, s);
    }
  }
  return out;
}

async function watermarks(client: ClickHouseClient, database: string): Promise<Map<number, Watermark>> {
  const read = (table: string) =>
    readRows<{ p: number; o: string }>(
      client,
      `SELECT kafka_partition AS p, toString(max(${table === 'events' ? EVENT_POSITION_SQL : CHANGE_POSITION_SQL})) AS o
       FROM ${database}.${table} GROUP BY kafka_partition`,
    );
  const out = new Map<number, Watermark>();
  const at = (p: number): Watermark => {
    let w = out.get(p);
    if (!w) out.set(p, (w = { changes: -1n, events: -1n }));
    return w;
  };
  for (const r of await read('workflow_changes')) at(Number(r.p)).changes = BigInt(r.o);
  for (const r of await read('events')) at(Number(r.p)).events = BigInt(r.o);
  return out;
}

/** Every workflow id's two filter hashes, streamed (id-hash.ts). */
async function forEachStoredHash(
  client: ClickHouseClient,
  database: string,
  each: (h1: number, h2: number) => void,
  progress?: () => Promise<void>,
): Promise<number> {
  // No FINAL: a repeated id is harmless to a filter, and the plain read streams at disk
  // speed. The hashes, not the ids: 8 bytes a row, and no text to escape (id-hash.ts).
  const { stream } = await client.exec({
    query: `SELECT ${ID_HASHES_SQL} FROM ${database}.workflow_versions FORMAT RowBinary`,
  });
  return readHashPairs(stream, each, progress);
}

/**
 * Parts of this replica's Replicated tables written at or before `at` that ZooKeeper (or Keeper)
 * does not list for the replica (WorkflowSink.unconfirmedParts). 18.16 keeps the part of an
 * insert answered 319 readable, and removes it when its part check finds the commit absent (300 s
 * after the insert, or at the next start): until then its rows read as stored, and may not stay.
 */
async function unconfirmedParts(
  client: ClickHouseClient,
  database: string,
  at?: string,
): Promise<{ at: string; parts: number }> {
  const since = at ?? (await readRows<{ t: string }>(client, 'SELECT toString(now()) AS t'))[0]?.t ?? '';
  const replicas = await readRows<{ table: string; path: string }>(
    client,
    `SELECT table, replica_path AS path FROM system.replicas WHERE database = ${quoteString(database)}`,
  );
  let parts = 0;
  for (const r of replicas) {
    const [row] = await readRows<{ n: string }>(
      client,
      `SELECT count() AS n FROM system.parts WHERE database = ${quoteString(database)} AND table = ${quoteString(r.table)}` +
        ` AND active AND modification_time <= toDateTime(${quoteString(since)})` +
        ` AND name NOT IN (SELECT name FROM system.zookeeper WHERE path = ${quoteString(`${r.path}/parts`)})`,
    );
    parts += Number(row?.n ?? 0);
  }
  return { at: since, parts };
}

/** A ClickHouse failure as the pipeline's error kinds (clickhouse-errors.ts), named by what failed. */
async function classified<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw classify(err, what);
  }
}

export function createClickHouseSink(
  client: ClickHouseClient,
  database: string,
  opts: SinkOptions = {},
): WorkflowSink {
  let views: ReturnType<WorkflowSink['views']> | null = null;
  return {
    storedChanges: (r) => storedChangeKeys(client, database, r),
    views() {
      // Read once, when first needed: a repair is rare, and the files are those the migrations ran.
      views ??= loadViewDefinitions(database, opts.migrationsDir).then((d) => ({
        port: createClickHouseViewRepairPort(client, database, {
          select: d.versions.select,
          columns: STATE_COLUMNS,
        }),
        targets: d.targets,
      }));
      views.catch(() => {
        views = null;
      });
      return views;
    },
    insertChanges: (rows) =>
      classified('insert', () => {
        // 18.16 stores zero, not the DEFAULT, for a column a row leaves out: send it.
        const insertedAt = new Date().toISOString().slice(0, 19).replace('T', ' ');
        return insertRows(client, `${database}.workflow_changes`, CHANGE_COLUMNS, rows, {
          inserted_at: insertedAt,
        });
      }),
    insertEvents: (rows) =>
      classified('events insert', () => insertRows(client, `${database}.events`, EVENT_COLUMNS, rows)),
    lookup: (ids) => classified('lookup', () => lookup(client, database, ids)),
    forEachStoredHash: (each, progress) =>
      classified('stored ids', () => forEachStoredHash(client, database, each, progress)),
    watermarks: () => classified('watermark query', () => watermarks(client, database)),
    unconfirmedParts: (at) => classified('unconfirmed parts', () => unconfirmedParts(client, database, at)),
    async ping() {
      const r = await client.ping();
      return r.success;
    },
  };
}
