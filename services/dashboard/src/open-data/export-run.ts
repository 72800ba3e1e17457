/**
 * The open-data export against ClickHouse and a directory: which days to compute (manifest.ts),
 * the rollups read one month at a time (a bounded answer, whatever the history's length), each
 * file encoded in memory, compared with the bytes already there, and written by rename, so a
 * reader never sees half a file. The manifest is written last.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { addDays, type IsoDay } from '../dates.js';
import type { QueryFn } from '../panel-computation.js';
import { csvBytes, parquetBytes, sha256 } from './encode.js';
import {
  MANIFEST_NAME,
  daysToCompute,
  decide,
  emptyManifest,
  filePath,
  goneFiles,
  nextManifest,
  parseManifest,
  type Format,
  type Manifest,
  type ManifestFile,
  type Withdrawal,
} from './manifest.js';
import {
  ROLLUP_FILES,
  daysSql,
  publishDay,
  readRow,
  rollupSql,
  type FileRow,
  type RollupFile,
} from './rollup-files.js';

export interface ExportOptions {
  out: string;
  /** checked identifier */
  database: string;
  /** K of the privacy rule */
  k: number;
  /** today (UTC): the open day, never exported */
  today: IsoDay;
  query: QueryFn;
  /** a reason (public: it goes into the manifest) to replace closed days' files that changed */
  withdraw?: string;
  /**
   * days to wait after a day ends before exporting it (default 0: every day before today), so
   * that closures arriving late (a run's status moves from running to completed on its launch
   * day) are in the file, which is never rewritten afterwards
   */
  settleDays?: number;
}

export interface ExportResult {
  closedThrough: IsoDay;
  daysComputed: number;
  written: number;
  kept: number;
  replaced: number;
  withdrawn: number;
  /** files of closed days whose content changed, left as they are (no withdrawal reason) */
  drift: string[];
}

async function readManifest(out: string, k: number): Promise<Manifest> {
  try {
    return parseManifest(await readFile(join(out, MANIFEST_NAME), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest(k);
    throw err;
  }
}

/** Paths of the data files present: <rollup>/<name>. */
async function filesOnDisk(out: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const f of ROLLUP_FILES) {
    const names = await readdir(join(out, f.name)).catch(() => [] as string[]);
    for (const n of names) found.add(`${f.name}/${n}`);
  }
  return found;
}

/** Writes by rename from a hidden temporary name in the same directory (/data/ serves no dot file). */
async function writeAtomic(path: string, bytes: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.tmp-${process.pid}-${Date.now()}`);
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

async function existingSha(path: string): Promise<string | undefined> {
  try {
    return sha256(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The published rows of each computed day of one rollup, for the days of one month. */
async function monthRows(
  o: ExportOptions,
  f: RollupFile,
  days: readonly string[],
): Promise<Map<string, FileRow[]>> {
  const sql = rollupSql(f, o.database, days[0] as IsoDay, days[days.length - 1] as IsoDay);
  const byDay = new Map<string, FileRow[]>(days.map((d) => [d, []]));
  for (const raw of await o.query(sql)) byDay.get(String(raw.day))?.push(readRow(f, raw));
  for (const [d, rows] of byDay) byDay.set(d, publishDay(f, rows, o.k));
  return byDay;
}

interface Run {
  o: ExportOptions;
  files: Map<string, ManifestFile>;
  withdrawn: Withdrawal[];
  result: ExportResult;
}

/** One file: encoded, compared, written or not (manifest.ts decides). */
async function putFile(run: Run, f: RollupFile, day: string, format: Format, rows: FileRow[]): Promise<void> {
  const bytes = format === 'csv' ? csvBytes(f.columns, rows) : await parquetBytes(f.columns, rows);
  const path = filePath(f.name, day, format);
  const fresh = sha256(bytes);
  const old = await existingSha(join(run.o.out, path));
  const decision = decide(old, fresh, run.o.withdraw !== undefined);
  if (decision === 'drift') {
    run.result.drift.push(path);
    return;
  }
  if (decision === 'replace' && old !== undefined) {
    run.withdrawn.push({
      path,
      sha256: old,
      withdrawn_on: run.o.today,
      reason: run.o.withdraw ?? '',
      replaced_by: fresh,
    });
    run.result.replaced += 1;
  }
  if (decision === 'keep') run.result.kept += 1;
  else await writeAtomic(join(run.o.out, path), bytes);
  if (decision === 'write') run.result.written += 1;
  run.files.set(path, {
    path,
    rollup: f.name,
    day,
    format,
    rows: rows.length,
    bytes: bytes.length,
    sha256: fresh,
    min_runs_per_project: run.o.k,
    columns: f.columns.map((c) => ({ name: c.name, type: c.type })),
  });
}

/** Closed days' files whose day has no runs any more: removed and recorded, with a reason only. */
async function withdrawGone(run: Run, days: ReadonlySet<string>, lastClosed: IsoDay): Promise<void> {
  if (run.o.withdraw === undefined) return;
  for (const f of goneFiles([...run.files.values()], days, lastClosed)) {
    await rm(join(run.o.out, f.path), { force: true });
    run.files.delete(f.path);
    run.withdrawn.push({
      path: f.path,
      sha256: f.sha256,
      withdrawn_on: run.o.today,
      reason: run.o.withdraw,
      replaced_by: null,
    });
    run.result.withdrawn += 1;
  }
}

const LOCK_NAME = '.export.lock';

/** The newest of `day` and `others` (ISO days order as text). */
export function latestDay(day: IsoDay, others: ReadonlySet<string>): IsoDay {
  let latest: string = day;
  for (const d of others) if (d > latest) latest = d;
  return latest as IsoDay;
}

/** Days grouped by calendar month, months in their first-seen order: one ClickHouse read each. */
export function byMonth(days: readonly string[]): string[][] {
  const months = new Map<string, string[]>();
  for (const d of days) months.set(d.slice(0, 7), [...(months.get(d.slice(0, 7)) ?? []), d]);
  return [...months.values()];
}

/**
 * Exports every closed day that needs it (see manifest.ts) into o.out. A lock file stops two
 * runs at once (they would lose each other's withdrawals); a killed run leaves it, with its pid,
 * for the operator to remove.
 */
export async function exportOpenData(o: ExportOptions): Promise<ExportResult> {
  if (o.withdraw !== undefined && o.withdraw.trim() === '') throw new Error('the withdrawal reason is empty');
  await mkdir(o.out, { recursive: true });
  const lock = join(o.out, LOCK_NAME);
  try {
    await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new Error(`${lock} exists: another export is running, or one was killed (then remove it)`);
  }
  try {
    return await exportLocked(o);
  } finally {
    await rm(lock, { force: true });
  }
}

async function exportLocked(o: ExportOptions): Promise<ExportResult> {
  const lastClosed = addDays(o.today, -1 - (o.settleDays ?? 0));
  const old = await readManifest(o.out, o.k);
  // A withdrawal covers every published day, also those past a longer --settle-days than before.
  const published = new Set(old.files.map((f) => f.day));
  const upTo = o.withdraw === undefined ? lastClosed : latestDay(lastClosed, published);
  const days = (await o.query(daysSql(o.database, upTo)))
    .map((r) => String(r.day))
    .filter((d) => d <= lastClosed || published.has(d));
  const onDisk = await filesOnDisk(o.out);
  const listed = new Set(old.files.map((f) => f.path));
  const todo = daysToCompute(days, listed, onDisk, o.withdraw !== undefined);
  const run: Run = {
    o,
    files: new Map(old.files.filter((f) => onDisk.has(f.path)).map((f) => [f.path, f])),
    withdrawn: [...old.withdrawn],
    result: {
      closedThrough: lastClosed,
      daysComputed: todo.length,
      written: 0,
      kept: 0,
      replaced: 0,
      withdrawn: 0,
      drift: [],
    },
  };
  for (const month of byMonth(todo))
    for (const f of ROLLUP_FILES) {
      const rows = await monthRows(o, f, month);
      for (const day of month)
        for (const format of ['csv', 'parquet'] as const)
          await putFile(run, f, day, format, rows.get(day) ?? []);
    }
  await withdrawGone(run, new Set(days), upTo);
  const manifest = nextManifest({
    files: run.files.values(),
    withdrawn: run.withdrawn,
    today: o.today,
    lastClosed,
    k: o.k,
  });
  await writeAtomic(join(o.out, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
  return run.result;
}
