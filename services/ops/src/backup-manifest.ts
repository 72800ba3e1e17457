/**
 * Backup and restore, the pure part: what is backed up and why, the manifest, which month
 * partitions an incremental backup has to write again, and where the consumer group resumes
 * after a restore.
 *
 * What is backed up (everything that cannot be re-derived):
 *  - `events`: every decoded datagram with its Kafka coordinates, the audit trail;
 *  - `workflow_changes`: the signed change log. It is derivable from `events` only while
 *    `events` is complete: `npm run retention` drops months of raw events and keeps the change
 *    log, so past the retention the change log is the only record of those runs;
 *  - `schema_migrations`: which migrations (and checksums) the data was written under.
 * Not backed up: `workflow_versions` and every `rollup_*` table. They are materialized views'
 * targets fed by inserts into `workflow_changes` (001, 002, 006, 007), so loading the change
 * log rebuilds them exactly; `restore --from-events` rebuilds them from `events` instead.
 */
import { z } from 'zod';
import { watermarkPredicate, type Watermark } from './forget-project.js';

export interface BackupTable {
  name: string;
  /** the table's PARTITION BY expression (migrations 001); undefined = one file for the table */
  partitionBy?: string;
  /** a cheap per-partition fingerprint: changes with any appended or deleted row */
  fingerprint: string;
  /** Kafka coordinates: rows are cut at the backup's watermark */
  cut: boolean;
}

export const BACKUP_TABLES: readonly BackupTable[] = [
  { name: 'schema_migrations', fingerprint: 'sum(cityHash64(version, checksum))', cut: false },
  {
    name: 'events',
    partitionBy: 'toYYYYMM(received_at)',
    fingerprint: 'sum(cityHash64(kafka_partition, kafka_offset))',
    cut: true,
  },
  {
    name: 'workflow_changes',
    partitionBy: 'toYYYYMM(day)',
    fingerprint: 'sum(cityHash64(kafka_partition, kafka_offset, seq, sign))',
    cut: true,
  },
];

export const WHOLE_TABLE = 'all';

const offset = z.string().regex(/^\d{1,20}$/);
const columnSchema = z.object({ name: z.string().min(1), type: z.string().min(1) });

export const backupFileSchema = z.object({
  table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  /** YYYYMM, or 'all' for a table backed up whole */
  partition: z.string().regex(/^(\d{6}|all)$/),
  /** relative to the backup directory */
  file: z.string().regex(/^[A-Za-z0-9_]+\/[A-Za-z0-9_-]+\.native\.gz$/),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  rows: z.number().int().nonnegative(),
  fingerprint: z.string(),
  writtenAt: z.string(),
});
export type BackupFile = z.infer<typeof backupFileSchema>;

export const manifestSchema = z.object({
  format: z.literal('parsl-usage-backup'),
  version: z.literal(1),
  createdAt: z.string(),
  database: z.string(),
  serverVersion: z.string(),
  /** per table, per Kafka partition: the highest offset the backup holds */
  watermarks: z.record(z.string(), z.record(z.string().regex(/^\d+$/), offset)),
  migrations: z.array(z.object({ version: z.number().int(), name: z.string(), checksum: z.string() })),
  columns: z.record(z.string(), z.array(columnSchema)),
  files: z.array(backupFileSchema),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const MANIFEST_FILE = 'manifest.json';

/** Parses a manifest's text; throws an Error that says what is wrong. */
export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${MANIFEST_FILE} is not JSON (${(err as Error).message})`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`${MANIFEST_FILE} is not a backup manifest: ${first?.path.join('.')}: ${first?.message}`);
  }
  const seen = new Set<string>();
  for (const f of r.data.files) {
    const key = `${f.table}/${f.partition}`;
    if (seen.has(key)) throw new Error(`${MANIFEST_FILE} lists ${key} twice`);
    seen.add(key);
  }
  return r.data;
}

/** The rows a backup takes of a table: those at or below the watermark (all for tables without Kafka coordinates). */
export function cutPredicate(table: BackupTable, marks: readonly Watermark[]): string {
  return table.cut ? watermarkPredicate(marks) : '1';
}

export interface PartitionState {
  table: string;
  partition: string;
  rows: number;
  fingerprint: string;
}

export interface BackupPlan {
  /** partitions to export (new, or changed since the previous backup) */
  write: PartitionState[];
  /** entries of the previous manifest still valid as they are */
  keep: BackupFile[];
  /** entries of the previous manifest whose partition is gone (retention, forget) or replaced */
  obsolete: BackupFile[];
}

/**
 * An incremental backup: a partition whose fingerprint and row count are those of the
 * previous backup is kept (its file is not read again); every other one is written. A
 * previous file the caller found missing or of the wrong size is written again.
 */
export function planBackup(
  current: readonly PartitionState[],
  previous: readonly BackupFile[],
  intact: (f: BackupFile) => boolean,
): BackupPlan {
  const byKey = new Map(previous.map((f) => [`${f.table}/${f.partition}`, f]));
  const plan: BackupPlan = { write: [], keep: [], obsolete: [] };
  const live = new Set<string>();
  for (const p of current) {
    const key = `${p.table}/${p.partition}`;
    live.add(key);
    const prev = byKey.get(key);
    if (prev && prev.fingerprint === p.fingerprint && prev.rows === p.rows && intact(prev))
      plan.keep.push(prev);
    else {
      plan.write.push(p);
      if (prev) plan.obsolete.push(prev);
    }
  }
  for (const f of previous) if (!live.has(`${f.table}/${f.partition}`)) plan.obsolete.push(f);
  return plan;
}

/** The file name of an exported partition: its content hash makes it unique, so a new backup never overwrites a file the last manifest names. */
export function partitionFileName(table: string, partition: string, sha256: string): string {
  return `${table}/${partition}-${sha256.slice(0, 16)}.native.gz`;
}

export interface MigrationRecord {
  version: number;
  name: string;
  checksum: string;
}

/**
 * A backup can be restored by this code when every migration it was written under is one of
 * this code's migrations with the same checksum (newer migrations are applied on top).
 */
export function migrationMismatch(
  backup: readonly MigrationRecord[],
  code: readonly MigrationRecord[],
): string | undefined {
  const mine = new Map(code.map((m) => [m.version, m]));
  for (const m of backup) {
    const c = mine.get(m.version);
    if (!c)
      return `the backup was written under migration ${m.version}-${m.name}, which this code does not have; restore with the release that wrote it`;
    if (c.checksum !== m.checksum)
      return `migration ${m.version}-${m.name} of the backup differs from this code's (checksum); restore with the release that wrote it`;
  }
  return undefined;
}

export interface PartitionOffsets {
  partition: number;
  /** the earliest offset Kafka still holds */
  low: string;
  /** the next offset Kafka will write */
  high: string;
}

export interface OffsetPlan {
  partitions: Array<{ partition: number; offset: string }>;
  /** messages after the restored data that Kafka no longer holds (its retention passed) */
  lost: Array<{ partition: number; from: string; to: string; messages: string }>;
  /** the topic is behind the restored data: not the topic the backup was taken from */
  impossible: string[];
}

/**
 * Where the consumer group resumes: the first offset after what every restored table holds
 * (min of the tables' watermarks + 1). The aggregator skips, per table, what each table already
 * holds, so what lies between the two watermarks is written once, to the table lacking it.
 */
export function offsetsAfterRestore(
  marks: ReadonlyMap<number, { changes: bigint; events: bigint }>,
  topic: readonly PartitionOffsets[],
): OffsetPlan {
  const plan: OffsetPlan = { partitions: [], lost: [], impossible: [] };
  for (const t of [...topic].sort((a, b) => a.partition - b.partition)) {
    const m = marks.get(t.partition);
    const done = m ? (m.changes < m.events ? m.changes : m.events) : -1n;
    const next = done + 1n;
    const low = BigInt(t.low);
    const high = BigInt(t.high);
    const max = m ? (m.changes > m.events ? m.changes : m.events) : -1n;
    if (max >= high) {
      plan.impossible.push(
        `partition ${t.partition}: the backup holds offset ${max} but the topic ends at ${high - 1n}`,
      );
      continue;
    }
    if (next < low)
      plan.lost.push({
        partition: t.partition,
        from: next.toString(),
        to: (low - 1n).toString(),
        messages: (low - next).toString(),
      });
    plan.partitions.push({ partition: t.partition, offset: (next < low ? low : next).toString() });
  }
  for (const p of marks.keys())
    if (!topic.some((t) => t.partition === p))
      plan.impossible.push(`partition ${p} of the backup does not exist in the topic`);
  return plan;
}

/** Watermarks of the manifest as the forget-project predicate wants them. */
export function manifestMarks(m: Manifest, table: string): Watermark[] {
  return Object.entries(m.watermarks[table] ?? {}).map(([p, o]) => ({ partition: Number(p), offset: o }));
}

/**
 * Months of the change log older than the oldest month of `events`: retention dropped their
 * raw events, so a rebuild from `events` (restore --from-events) would lose those runs.
 */
export function monthsOnlyInChangeLog(m: Manifest): string[] {
  const months = (table: string) =>
    m.files
      .filter((f) => f.table === table && f.rows > 0 && f.partition !== WHOLE_TABLE)
      .map((f) => f.partition);
  const firstEvent = months('events').sort()[0];
  return months('workflow_changes')
    .filter((p) => firstEvent === undefined || p < firstEvent)
    .sort();
}
