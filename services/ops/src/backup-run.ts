/**
 * Backs up what cannot be re-derived (backup-manifest.ts says what and why) into a directory:
 * one gzip-compressed Native file per month partition, written again only when the partition
 * changed, a sha256 per file and a manifest. Safe while the aggregator runs (see takeCut).
 * verifyBackup checks a backup without a server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  BACKUP_TABLES,
  MANIFEST_FILE,
  WHOLE_TABLE,
  cutPredicate,
  parseManifest,
  partitionFileName,
  planBackup,
  type BackupFile,
  type BackupTable,
  type Manifest,
  type PartitionState,
} from './backup-manifest.js';
import { checkNative, sameColumns, type NativeColumn, type NativeSummary } from './backup-native.js';
import { isSystemFailure } from './backup-errors.js';
import { queryGzip, type ClickHouseHttp } from './backup-http.js';
import { createClickHouseSink, offsetOf } from '@parsl-usage/aggregator';
import type { Watermark } from './forget-project.js';

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

export interface Cut {
  /** table -> watermarks (only tables with Kafka coordinates) */
  marks: Record<string, Watermark[]>;
  waitedForInserts: number;
}

/**
 * The consistent point of a backup taken while the aggregator inserts: per table and Kafka
 * partition, the highest offset stored now. Each partition's batches are inserted one after
 * another, in offset order, so every row at or below that offset is stored once the inserts
 * running now have finished; an insert may land its month parts one by one, so those are
 * waited for. Rows above the cut are left out, and after a restore Kafka replays them.
 */
export async function takeCut(
  client: ClickHouseClient,
  database: string,
  opts: { timeoutMs?: number } = {},
): Promise<Cut> {
  const wm = await createClickHouseSink(client, database).watermarks();
  const marks: Record<string, Watermark[]> = { events: [], workflow_changes: [] };
  for (const [partition, w] of [...wm.entries()].sort((a, b) => a[0] - b[0])) {
    // The sink's watermarks are positions (offset and index in a pack); the cut is by offset.
    if (w.events >= 0n) marks.events?.push({ partition, offset: offsetOf(w.events).toString() });
    if (w.changes >= 0n) marks.workflow_changes?.push({ partition, offset: offsetOf(w.changes).toString() });
  }
  // The client sends `INSERT INTO db.table FORMAT ...`; this query's own text does not start so.
  const inserts = `SELECT query_id FROM system.processes
    WHERE startsWith(replaceRegexpOne(query, '^\\\\s+', ''), 'INSERT INTO ${database}.')`;
  const running = new Set((await rows<{ query_id: string }>(client, inserts)).map((r) => r.query_id));
  const waitedForInserts = running.size;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  while (running.size > 0) {
    const now = new Set((await rows<{ query_id: string }>(client, inserts)).map((r) => r.query_id));
    for (const id of running) if (!now.has(id)) running.delete(id);
    if (running.size === 0) break;
    if (Date.now() > deadline)
      throw new Error(`inserts into ${database} still running after the cut: ${[...running].join(', ')}`);
    await sleep(100);
  }
  return { marks, waitedForInserts };
}

async function partitionStates(
  client: ClickHouseClient,
  database: string,
  table: BackupTable,
  cut: Cut,
): Promise<PartitionState[]> {
  const where = cutPredicate(table, cut.marks[table.name] ?? []);
  const key = table.partitionBy ? `toString(${table.partitionBy})` : `'${WHOLE_TABLE}'`;
  const r = await rows<{ p: string; n: string; f: string }>(
    client,
    `SELECT ${key} AS p, toString(count()) AS n, toString(${table.fingerprint}) AS f
     FROM ${database}.${table.name} WHERE ${where} GROUP BY p ORDER BY p`,
  );
  if (!table.partitionBy && r.length === 0)
    return [{ table: table.name, partition: WHOLE_TABLE, rows: 0, fingerprint: '0' }];
  return r.map((x) => ({ table: table.name, partition: x.p, rows: Number(x.n), fingerprint: x.f }));
}

/** Hashes and counts a gzip Native stream while it passes through; `done` settles with what it held. */
interface Inspected {
  sha256: string;
  bytes: number;
  native?: NativeSummary;
  /** why the bytes do not read as gzip Native */
  nativeError?: string;
}

function inspector(): { tap: Transform; done: Promise<Inspected> } {
  const hash = createHash('sha256');
  let bytes = 0;
  const gunzip: Gunzip = createGunzip();
  const native = checkNative(gunzip).then(
    (summary) => ({ summary }),
    (err: Error) => ({ error: err.message }),
  );
  gunzip.on('error', () => undefined); // reported by checkNative's iteration
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      if (gunzip.destroyed || gunzip.writableEnded) return cb(null, chunk);
      if (gunzip.write(chunk)) cb(null, chunk);
      else gunzip.once('drain', () => cb(null, chunk));
    },
    flush(cb) {
      if (!gunzip.destroyed) gunzip.end();
      cb();
    },
  });
  tap.on('error', () => gunzip.destroy());
  return {
    tap,
    done: (async () => {
      await new Promise<void>((resolve) => tap.once('finish', resolve));
      const n = await native;
      return 'summary' in n
        ? { sha256: hash.digest('hex'), bytes, native: n.summary }
        : { sha256: hash.digest('hex'), bytes, nativeError: n.error };
    })(),
  };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exportPartition(
  ch: ClickHouseHttp,
  database: string,
  dir: string,
  table: BackupTable,
  p: PartitionState,
  cut: Cut,
): Promise<{ entry: BackupFile; columns: NativeColumn[] }> {
  const where = [cutPredicate(table, cut.marks[table.name] ?? [])];
  if (table.partitionBy) where.push(`${table.partitionBy} = ${Number(p.partition)}`);
  const res = await queryGzip(
    ch,
    `SELECT * FROM ${database}.${table.name} WHERE ${where.join(' AND ')} FORMAT Native`,
  );
  await mkdir(join(dir, table.name), { recursive: true });
  const tmp = join(dir, table.name, `.${p.partition}.tmp-${randomBytes(4).toString('hex')}`);
  const { tap, done } = inspector();
  try {
    await pipeline(res, tap, createWriteStream(tmp));
    const got = await done;
    if (!got.native)
      throw new Error(
        `${table.name} ${p.partition}: the server's stream does not parse (${got.nativeError})`,
      );
    await fsyncPath(tmp);
    const file = partitionFileName(table.name, p.partition, got.sha256);
    await rename(tmp, join(dir, file));
    return {
      entry: {
        table: table.name,
        partition: p.partition,
        file,
        bytes: got.bytes,
        sha256: got.sha256,
        rows: got.native.rows,
        fingerprint: p.fingerprint,
        writtenAt: new Date().toISOString(),
      },
      columns: got.native.columns,
    };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The manifest in `dir`; undefined when the file system says there is none (ENOENT). */
async function manifestIn(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if (isSystemFailure(err, 'ENOENT')) return undefined;
    throw err;
  }
  return parseManifest(text);
}

export async function readManifest(dir: string): Promise<Manifest> {
  const manifest = await manifestIn(dir);
  if (manifest === undefined) throw new Error(`no backup in ${dir} (${MANIFEST_FILE} is missing)`);
  return manifest;
}

/** A first backup into `dir` has none; a manifest that cannot be read or parsed stops the run. */
async function previousManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return await manifestIn(dir);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; move the directory aside or repair it before backing up into it`,
    );
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.backup.lock');
  try {
    await writeFile(lock, `${process.pid} ${new Date().toISOString()}\n`, { flag: 'wx' });
  } catch (err) {
    if (!isSystemFailure(err, 'EEXIST')) throw err;
    const holder = (await readFile(lock, 'utf8').catch(() => '?')).trim();
    throw new Error(
      `${lock} exists (pid and start: ${holder}): another backup is running, or one was killed; remove the file if none is running`,
    );
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}

async function readColumns(client: ClickHouseClient, database: string): Promise<Manifest['columns']> {
  const columns: Manifest['columns'] = {};
  for (const t of BACKUP_TABLES) {
    columns[t.name] = (
      await rows<NativeColumn>(
        client,
        `SELECT name, type FROM system.columns WHERE database = '${database}' AND table = '${t.name}'
         AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')`,
      )
    ).map((c) => ({ name: c.name, type: c.type }));
  }
  return columns;
}

export interface BackupResult {
  dir: string;
  watermarks: Manifest['watermarks'];
  written: Array<{ file: string; rows: number; bytes: number }>;
  kept: number;
  removed: string[];
  rows: number;
  bytes: number;
  ms: number;
}

type Columns = Manifest['columns'];

/** One backup run into `dir` (created if missing); incremental over the manifest found there. */
export async function runBackup(opts: {
  client: ClickHouseClient;
  http: ClickHouseHttp;
  database: string;
  dir: string;
  log?: (msg: string) => void;
}): Promise<BackupResult> {
  const { client, database, dir } = opts;
  const started = Date.now();
  await mkdir(dir, { recursive: true });
  return withLock(dir, async () => {
    const previous = await previousManifest(dir);
    if (previous && previous.database !== database)
      throw new Error(`${dir} holds a backup of database ${previous.database}, not ${database}`);
    await removeLeftovers(dir);
    await checkTables(client, database);
    const cut = await takeCut(client, database);
    const current: PartitionState[] = [];
    for (const t of BACKUP_TABLES) current.push(...(await partitionStates(client, database, t, cut)));
    const columns = await readColumns(client, database);
    const sizes = new Map<string, number | undefined>();
    for (const f of previous?.files ?? []) sizes.set(f.file, await sizeOf(join(dir, f.file)));
    // A file is reused when it is whole and its table's columns did not change (a migration
    // that alters a backed-up table makes the next backup write every month of it again).
    const plan = planBackup(
      current,
      previous?.files ?? [],
      (f) =>
        sizes.get(f.file) === f.bytes &&
        sameColumns(previous?.columns[f.table] ?? [], columns[f.table] ?? []),
    );
    const written = await writePartitions(opts, plan.write, cut, columns);
    const files = [...plan.keep, ...written].sort((a, b) => a.file.localeCompare(b.file));
    const manifest = await newManifest(client, database, cut, columns, files);
    const removed = await commitManifest(dir, manifest, plan.obsolete);
    return {
      dir,
      watermarks: manifest.watermarks,
      written: written.map((w) => ({ file: w.file, rows: w.rows, bytes: w.bytes })),
      kept: plan.keep.length,
      removed,
      rows: files.reduce((s, f) => s + f.rows, 0),
      bytes: files.reduce((s, f) => s + f.bytes, 0),
      ms: Date.now() - started,
    };
  });
}

async function checkTables(client: ClickHouseClient, database: string): Promise<void> {
  const tables = await rows<{ name: string }>(
    client,
    `SELECT name FROM system.tables WHERE database = '${database}'`,
  );
  for (const t of BACKUP_TABLES)
    if (!tables.some((x) => x.name === t.name))
      throw new Error(`${database}.${t.name} does not exist: nothing to back up`);
}

/** Exports each partition the plan writes; a table whose columns changed meanwhile fails the run. */
async function writePartitions(
  opts: { http: ClickHouseHttp; database: string; dir: string; log?: (msg: string) => void },
  write: readonly PartitionState[],
  cut: Cut,
  columns: Columns,
): Promise<BackupFile[]> {
  const written: BackupFile[] = [];
  for (const p of write) {
    const table = BACKUP_TABLES.find((t) => t.name === p.table);
    if (!table) continue;
    const t0 = Date.now();
    const { entry, columns: got } = await exportPartition(opts.http, opts.database, opts.dir, table, p, cut);
    const want = columns[p.table] ?? [];
    if (entry.rows > 0 && !sameColumns(got, want))
      throw new Error(`${p.table} changed its columns during the backup; run it again`);
    written.push(entry);
    opts.log?.(`${entry.file}: ${entry.rows} rows, ${entry.bytes} bytes, ${Date.now() - t0} ms`);
  }
  return written;
}

async function newManifest(
  client: ClickHouseClient,
  database: string,
  cut: Cut,
  columns: Columns,
  files: BackupFile[],
): Promise<Manifest> {
  const migrations = (
    await rows<{ version: number; name: string; checksum: string }>(
      client,
      `SELECT version, name, checksum FROM ${database}.schema_migrations FINAL ORDER BY version`,
    )
  ).map((m) => ({ version: Number(m.version), name: m.name, checksum: m.checksum }));
  const version = await rows<{ v: string }>(client, 'SELECT version() AS v');
  return {
    format: 'parsl-usage-backup',
    version: 1,
    createdAt: new Date().toISOString(),
    database,
    serverVersion: version[0]?.v ?? '',
    watermarks: Object.fromEntries(
      Object.entries(cut.marks).map(([t, ms]) => [
        t,
        Object.fromEntries(ms.map((m) => [String(m.partition), m.offset])),
      ]),
    ),
    migrations,
    columns,
    files,
  };
}

/**
 * The new manifest replaces the old one in one rename; the old one's files are removed only
 * afterwards (unless the new one names them too), so a crash at any point leaves one complete
 * backup. Returns the files removed.
 */
async function commitManifest(
  dir: string,
  manifest: Manifest,
  obsolete: readonly BackupFile[],
): Promise<string[]> {
  const tmp = join(dir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await fsyncPath(tmp);
  await rename(tmp, join(dir, MANIFEST_FILE));
  await fsyncPath(dir);
  const referenced = new Set(manifest.files.map((f) => f.file));
  const removed: string[] = [];
  for (const f of obsolete) {
    if (referenced.has(f.file)) continue;
    await rm(join(dir, f.file), { force: true });
    removed.push(f.file);
  }
  return removed;
}

/** Temporary files of an interrupted run (never named by a manifest). */
async function removeLeftovers(dir: string): Promise<void> {
  for (const t of BACKUP_TABLES) {
    const names = await readdir(join(dir, t.name)).catch(() => [] as string[]);
    for (const n of names)
      if (n.startsWith('.') && n.includes('.tmp-')) await rm(join(dir, t.name, n), { force: true });
  }
}

export interface VerifyResult {
  files: number;
  rows: number;
  bytes: number;
  problems: string[];
}

async function inspectFile(path: string, parse: boolean): Promise<Inspected> {
  if (!parse) {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const c of createReadStream(path) as Readable) {
      hash.update(c as Buffer);
      bytes += (c as Buffer).length;
    }
    return { sha256: hash.digest('hex'), bytes };
  }
  const { tap, done } = inspector();
  const sink = new Transform({ transform: (_c, _e, cb) => cb() });
  sink.resume();
  await pipeline(createReadStream(path), tap, sink);
  return done;
}

/**
 * Checks a backup without restoring it: the manifest parses, every file it names exists with
 * its size and sha256, and (with `parse`) decompresses into Native blocks with the manifest's
 * columns and row count. Every problem is listed; none is fixed.
 */
export async function verifyBackup(dir: string, opts: { parse?: boolean } = {}): Promise<VerifyResult> {
  const manifest = await readManifest(dir);
  const out: VerifyResult = { files: 0, rows: 0, bytes: 0, problems: [] };
  for (const f of manifest.files) {
    out.files++;
    const path = join(dir, f.file);
    const size = await sizeOf(path);
    if (size === undefined) {
      out.problems.push(`${f.file}: missing`);
      continue;
    }
    if (size !== f.bytes) {
      out.problems.push(`${f.file}: ${size} bytes, the manifest says ${f.bytes}`);
      continue;
    }
    try {
      const got = await inspectFile(path, opts.parse ?? true);
      if (got.sha256 !== f.sha256) {
        out.problems.push(
          `${f.file}: checksum mismatch (sha256 ${got.sha256}, the manifest says ${f.sha256}): the file is corrupted`,
        );
        continue;
      }
      if (got.nativeError !== undefined) {
        out.problems.push(`${f.file}: does not read as gzip Native (${got.nativeError})`);
        continue;
      }
      if (got.native) {
        if (got.native.rows !== f.rows)
          out.problems.push(`${f.file}: ${got.native.rows} rows, the manifest says ${f.rows}`);
        const want = manifest.columns[f.table] ?? [];
        if (got.native.rows > 0 && !sameColumns(got.native.columns, want))
          out.problems.push(`${f.file}: its columns are not the manifest's columns of ${f.table}`);
      }
    } catch (err) {
      out.problems.push(`${f.file}: cannot be read (${(err as Error).message})`);
      continue;
    }
    out.rows += f.rows;
    out.bytes += f.bytes;
  }
  return out;
}
