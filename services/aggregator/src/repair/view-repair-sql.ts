/**
 * The SQL of the view repair (view-repair.ts), pure so that it is tested without a server. Runs
 * on 18.16 and current ClickHouse: no query parameters, no window functions, distinct aliases
 * (18.16 reports `expr(x) AS x` as a cyclic alias in some positions).
 */
import { quoteString } from '@parsl-usage/common';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';

/** Offsets of one Kafka partition whose change rows are checked. */
export interface OffsetRange {
  partition: number;
  from: bigint;
  to: bigint;
}

/** A row of a diff: the target's key columns and, per summed column, what is missing (as text). */
export type DiffRow = Record<string, string | number>;

function checkRange(r: OffsetRange): void {
  if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition > 65_535)
    throw new Error(`bad partition ${r.partition}`);
  if (r.from < 0n || r.to < r.from) throw new Error(`bad offset range ${r.from}-${r.to}`);
}

/** The range's change rows, as a FROM item. */
export function rangeRows(db: string, r: OffsetRange): string {
  checkRange(r);
  return `(SELECT * FROM ${db}.workflow_changes WHERE kafka_partition = ${r.partition} AND kafka_offset >= ${r.from} AND kafka_offset <= ${r.to})`;
}

/** The (offset, seq) of every change row the range holds. */
export function storedRowsQuery(db: string, r: OffsetRange): string {
  return `SELECT toString(kafka_offset) AS o, seq AS s FROM ${rangeRows(db, r)}`;
}

function fromSource(select: string, db: string, from: string): string {
  return select.replace(`FROM ${db}.workflow_changes`, `FROM ${from}`);
}

/**
 * What `target` lacks, per key the range's rows touch: the view's SELECT over every source row
 * of those keys, minus what the target holds. A row per key whose sums differ; none when the
 * target agrees. The source is pre-filtered by the columns the view copies unchanged.
 */
export function diffQuery(db: string, t: RollupTarget, r: OffsetRange): string {
  const keys = t.keys.join(', ');
  const batchKeys = `SELECT ${keys} FROM (${fromSource(t.select, db, rangeRows(db, r))})`;
  const pre =
    t.passthrough.length === 0
      ? `${db}.workflow_changes`
      : `(SELECT * FROM ${db}.workflow_changes WHERE (${t.passthrough.join(', ')}) IN (SELECT ${t.passthrough.join(', ')} FROM ${rangeRows(db, r)}))`;
  const cast = t.keys.map((k) => {
    const type = t.types.get(k);
    if (type === undefined) throw new Error(`${t.target}: no type for key ${k}`);
    return `CAST(${k} AS ${type}) AS k_${k}`;
  });
  const branch = (sign: '' | '-', from: string): string =>
    `SELECT ${cast.join(', ')}, ${t.sums.map((s) => `${sign}toInt64(${s}) AS d_${s}`).join(', ')} FROM ${from} WHERE (${keys}) IN (${batchKeys})`;
  return [
    `SELECT ${t.keys.map((k) => `k_${k} AS ${k}`).join(', ')}, ${t.sums.map((s) => `toString(sum(d_${s})) AS ${s}`).join(', ')}`,
    `FROM (${branch('', `(${fromSource(t.select, db, pre)})`)} UNION ALL ${branch('-', `${db}.${t.target}`)})`,
    `GROUP BY ${t.keys.map((k) => `k_${k}`).join(', ')}`,
    `HAVING ${t.sums.map((s) => `sum(d_${s}) != 0`).join(' OR ')}`,
    `ORDER BY ${t.keys.map((k) => `k_${k}`).join(', ')}`,
  ].join('\n');
}

const NUMERIC = /^(U?Int(8|16|32|64)|Float(32|64))$/;
const NUMBER = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

function literal(v: string | number, type: string, col: string): string {
  if (type === 'String' || type === 'Date' || type === 'DateTime') return quoteString(String(v));
  if (NUMERIC.test(type)) {
    const s = String(v);
    if (!NUMBER.test(s)) throw new Error(`column ${col}: ${JSON.stringify(s)} is not a number`);
    return s;
  }
  throw new Error(`column ${col}: type ${type} is not supported by the view repair`);
}

/** Inserts a diff's rows into the target: afterwards its sums equal the view's over the source. */
export function insertDiffStatement(db: string, t: RollupTarget, rows: readonly DiffRow[]): string {
  const cols = [...t.keys, ...t.sums];
  const values = rows.map((row) => {
    const parts = cols.map((c) => {
      const v = row[c];
      const type = t.types.get(c);
      if (v === undefined || type === undefined) throw new Error(`${t.target}: no ${c} in a diff row`);
      return literal(v, type, c);
    });
    return `(${parts.join(', ')})`;
  });
  return `INSERT INTO ${db}.${t.target} (${cols.join(', ')}) VALUES ${values.join(', ')}`;
}

/**
 * The range's workflows whose newest version in the range is newer than any workflow_versions
 * holds (a workflow's rows are only ever written by its partition's owner). Older versions in the
 * range are left out: ReplacingMergeTree drops them on merge, so their absence says nothing.
 */
function unstoredNewest(db: string, r: OffsetRange): string {
  // `held` marks a match: an unmatched ANY LEFT JOIN row reads 0 in every column, and a version
  // can be 0 (it is the Kafka offset of the message that made it).
  return [
    `SELECT workflow_id, v FROM (SELECT workflow_id, max(version) AS v FROM ${rangeRows(db, r)} WHERE sign = 1 GROUP BY workflow_id) AS newest`,
    `ANY LEFT JOIN (SELECT workflow_id, max(version) AS stored, 1 AS held FROM ${db}.workflow_versions`,
    `WHERE workflow_id IN (SELECT workflow_id FROM ${rangeRows(db, r)}) GROUP BY workflow_id) AS held_versions USING workflow_id`,
    `WHERE held = 0 OR stored < v`,
  ].join(' ');
}

/** How many of the range's workflows workflow_versions lacks the newest version of. */
export function missingVersionsQuery(db: string, r: OffsetRange): string {
  return `SELECT count() AS n FROM (${unstoredNewest(db, r)})`;
}

/** Copies those newest versions into workflow_versions through the view's own SELECT. */
export function insertMissingVersionsStatement(
  db: string,
  select: string,
  columns: readonly string[],
  r: OffsetRange,
): string {
  const cols = columns.join(', ');
  return `INSERT INTO ${db}.workflow_versions (${cols}) SELECT ${cols} FROM (${fromSource(select, db, rangeRows(db, r))}) WHERE (workflow_id, version) IN (SELECT workflow_id, v FROM (${unstoredNewest(db, r)}))`;
}

/** Replicated tables of the database with parts still to fetch: a diff read now may move. */
export function replicationBacklogQuery(db: string): string {
  return `SELECT count() AS n FROM system.replicas WHERE database = ${quoteString(db)} AND queue_size > 0`;
}
