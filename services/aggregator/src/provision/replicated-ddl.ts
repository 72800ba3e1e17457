/**
 * The cluster shape of the migrations, made at apply time from the same SQL files (their
 * checksums cover the files, so one schema_migrations history serves both shapes):
 *  - every *MergeTree engine becomes its Replicated* twin, with a ZooKeeper path per table under
 *    a prefix holding the server's {shard} macro and the {replica} macro as replica name;
 *  - statements that change data (INSERT, ALTER, OPTIMIZE, TRUNCATE) run on one replica only,
 *    because Replicated* tables copy parts and replay ALTERs themselves: a backfill run on every
 *    replica would be counted once per replica;
 *  - every other statement (CREATE, DROP, RENAME) runs on every replica, because tables and
 *    views are local objects of each server; POPULATE of a materialized view is kept on the
 *    first replica only (it is an INSERT ... SELECT in disguise).
 * Pure functions: no I/O, table-driven tests beside.
 */

export type StatementRole = 'every-replica' | 'one-replica';

/** The default ZooKeeper prefix: one subtree per shard; the table's database.name follows. */
export const DEFAULT_ZOOKEEPER_PREFIX = '/clickhouse/tables/{shard}';

const ONE_REPLICA = /^(INSERT|ALTER|OPTIMIZE|TRUNCATE)\b/i;

/** Where a statement runs on a cluster (leading comments are already stripped by splitStatements). */
export function statementRole(stmt: string): StatementRole {
  return ONE_REPLICA.test(stmt.trimStart()) ? 'one-replica' : 'every-replica';
}

const CREATE_NAME =
  /^\s*CREATE\s+(?:TABLE|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?((?:`[^`]+`|[A-Za-z_][\w]*)(?:\.(?:`[^`]+`|[A-Za-z_][\w]*))?)/i;
// An engine of the MergeTree family that is not already replicated.
const ENGINE = /\bENGINE\s*=\s*(?!Replicated)([A-Za-z]*MergeTree)\b/i;

/** The object a CREATE TABLE / CREATE MATERIALIZED VIEW statement makes, as written (db.name). */
export function createdName(stmt: string): string | undefined {
  return CREATE_NAME.exec(stmt)?.[1]?.replaceAll('`', '');
}

/** Index just past the parenthesised group that starts at `open` (which must be '('), or -1. */
function closingParen(sql: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '`' || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

export type RewriteOutcome =
  | { kind: 'unchanged'; sql: string }
  | { kind: 'replicated'; sql: string; zooKeeperPath: string }
  | { kind: 'error'; reason: string };

/**
 * Makes a CREATE statement's MergeTree-family engine replicated. Statements without one (views,
 * `MATERIALIZED VIEW ... TO`, DROP, INSERT, Memory/Log tables) come back unchanged.
 */
export function replicateEngine(stmt: string, zooKeeperPrefix: string): RewriteOutcome {
  const m = ENGINE.exec(stmt);
  if (!m?.[1]) return { kind: 'unchanged', sql: stmt };
  const name = createdName(stmt);
  if (!name) return { kind: 'error', reason: `an ENGINE outside CREATE TABLE: ${stmt.slice(0, 120)}` };
  const engine = m[1];
  let end = m.index + m[0].length;
  let args = '';
  const open = stmt.slice(end).search(/\S/);
  if (open >= 0 && stmt[end + open] === '(') {
    const close = closingParen(stmt, end + open);
    if (close < 0) return { kind: 'error', reason: `unbalanced engine arguments in ${name}` };
    args = stmt.slice(end + open + 1, close - 1).trim();
    end = close;
  }
  const zooKeeperPath = `${zooKeeperPrefix.replace(/\/+$/, '')}/${name}`;
  if (zooKeeperPath.includes("'"))
    return { kind: 'error', reason: `a quote in ZooKeeper path ${zooKeeperPath}` };
  const replicatedArgs = [`'${zooKeeperPath}'`, "'{replica}'", ...(args ? [args] : [])].join(', ');
  const sql = `${stmt.slice(0, m.index)}ENGINE = Replicated${engine}(${replicatedArgs})${stmt.slice(end)}`;
  return { kind: 'replicated', sql, zooKeeperPath };
}

/** The statement as a replica other than the first runs it: a materialized view without POPULATE. */
export function withoutPopulate(stmt: string): string {
  return /^\s*CREATE\s+MATERIALIZED\s+VIEW\b/i.test(stmt)
    ? stmt.replace(/\bPOPULATE\b(?=\s+AS\b)/i, '')
    : stmt;
}
