/**
 * The materialized views that feed the derived tables from workflow_changes, read from the
 * migrations' statements so that their SELECTs are never copied into code. Used by the view
 * repair (view-repair.ts: what the targets must hold) and by forget-project (services/ops: what
 * to subtract).
 */
import { splitStatements } from './migrate.js';

export interface RollupView {
  /** e.g. rollup_daily_mv */
  view: string;
  /** the table it writes to, e.g. rollup_daily */
  target: string;
  /** the view's SELECT, reading `${db}.workflow_changes` */
  select: string;
}

/** A rollup view with what its SummingMergeTree target is keyed and summed by. */
export interface RollupTarget extends RollupView {
  /** the target's ORDER BY columns: one row per distinct key after merges */
  keys: string[];
  /** the columns SummingMergeTree sums */
  sums: string[];
  /**
   * Key columns the view copies unchanged from workflow_changes (a bare column in its SELECT
   * list): a target row with key k can only come from source rows with the same values, so a
   * look-up may pre-filter the source by them.
   */
  passthrough: string[];
  /** the target's column types, from its CREATE TABLE */
  types: Map<string, string>;
}

const MV =
  /^CREATE MATERIALIZED VIEW IF NOT EXISTS \S+\.([A-Za-z0-9_]+) TO \S+\.([A-Za-z0-9_]+) AS\s+(SELECT[\s\S]*)$/;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every view from workflow_changes, workflow_versions_mv included. */
function allViews(statements: readonly string[], database: string): RollupView[] {
  const source = `FROM ${database}.workflow_changes`;
  const out: RollupView[] = [];
  for (const stmt of statements) {
    const m = MV.exec(stmt.trim());
    if (!m?.[1] || !m[2] || !m[3]) continue;
    const select = m[3].trim();
    const n = select.split(source).length - 1;
    if (n !== 1) throw new Error(`view ${m[1]} reads workflow_changes ${n} times; it cannot be rewritten`);
    out.push({ view: m[1], target: m[2], select });
  }
  return out;
}

/**
 * The views that sum workflow_changes into rollups. workflow_versions_mv is not a rollup: its
 * rows replace each other rather than add up.
 */
export function rollupViews(statements: readonly string[], database: string): RollupView[] {
  return allViews(statements, database).filter((v) => v.target !== 'workflow_versions');
}

/** The view that copies each new version into workflow_versions. */
export function versionsView(statements: readonly string[], database: string): RollupView {
  const v = allViews(statements, database).find((x) => x.target === 'workflow_versions');
  if (!v) throw new Error('no materialized view writes workflow_versions');
  return v;
}

/** The statements of migration files' text, with ${db} replaced (as migrate.ts does). */
export function migrationStatements(texts: readonly string[], database: string): string[] {
  return texts.flatMap((t) => splitStatements(t.replaceAll('${db}', database)));
}

/** Splits on commas outside parentheses and brackets. */
function topLevelItems(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(list.slice(start).trim());
  return out.filter((s) => s.length > 0);
}

function tupleColumns(text: string, what: string, table: string): string[] {
  const inner = text
    .trim()
    .replace(/^\(\s*/, '')
    .replace(/\s*\)$/, '');
  const cols = topLevelItems(inner);
  for (const c of cols)
    if (!IDENT.test(c)) throw new Error(`${table}: ${what} item ${JSON.stringify(c)} is not a column`);
  return cols;
}

/** ORDER BY and SummingMergeTree columns of a CREATE TABLE statement. */
function summingShape(stmt: string, table: string): { keys: string[]; sums: string[] } {
  const sums = /SummingMergeTree\(\s*(\([^()]*\))\s*\)/.exec(stmt)?.[1];
  const order = /\bORDER BY\s+(\([^()]*\)|[A-Za-z_][A-Za-z0-9_]*)/.exec(stmt)?.[1];
  if (!sums || !order) throw new Error(`${table} is not a SummingMergeTree with listed sums and an ORDER BY`);
  return { keys: tupleColumns(order, 'ORDER BY', table), sums: tupleColumns(sums, 'sum', table) };
}

/**
 * Every rollup view with its target's key and sum columns, from the migrations' statements.
 * A bare key column is a pass-through only when workflow_changes has it (`value` in the
 * dimension view is an ARRAY JOIN alias).
 */
export function rollupTargets(statements: readonly string[], database: string): RollupTarget[] {
  const creates = new Map<string, string>();
  const CREATE = /^CREATE TABLE IF NOT EXISTS \S+\.([A-Za-z0-9_]+)\s*\(/;
  for (const s of statements) {
    const m = CREATE.exec(s.trim());
    if (m?.[1]) creates.set(m[1], s);
  }
  const source = creates.get('workflow_changes');
  if (source === undefined) throw new Error('no CREATE TABLE for workflow_changes');
  const sourceColumns = [...columnTypes(source).keys()];
  return rollupViews(statements, database).map((v) => {
    const stmt = creates.get(v.target);
    if (stmt === undefined) throw new Error(`no CREATE TABLE for ${v.target}`);
    const { keys, sums } = summingShape(stmt, v.target);
    const list = v.select.slice('SELECT'.length, v.select.indexOf(`FROM ${database}.workflow_changes`));
    const bare = new Set(topLevelItems(list).filter((i) => IDENT.test(i)));
    const passthrough = keys.filter((k) => bare.has(k) && sourceColumns.includes(k));
    return { ...v, keys, sums, passthrough, types: columnTypes(stmt) };
  });
}

/** Column types of one table, from its CREATE TABLE statement in the migrations. */
export function columnTypes(createStatement: string): Map<string, string> {
  const out = new Map<string, string>();
  const open = createStatement.indexOf('(');
  const engine = createStatement.search(/\)\s*ENGINE\s*=/);
  if (open < 0 || engine < 0) throw new Error('not a CREATE TABLE with a column list');
  for (const line of createStatement.slice(open + 1, engine).split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z0-9_()', =-]+?)(\s+DEFAULT\b.*)?,?\s*$/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], m[2].trim());
  }
  return out;
}
