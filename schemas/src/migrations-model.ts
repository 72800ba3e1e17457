/**
 * The one reading of the ClickHouse migrations (infra/clickhouse/migrations/NNN-name.sql): each
 * file's version, checksum and statements, and the schema they build: tables, materialized
 * views (name, target, SELECT) and each summing target's keys and sums. migrate applies the
 * files, the aggregator's view repair checks what the views' targets hold, forget-project
 * subtracts a project through the views' own SELECTs: all of them read the files here, so the
 * SQL stays the only owner of the schema. Pure; migrations-model-files.ts reads the directory.
 */
import { createHash } from 'node:crypto';

/** The migrations cannot be read as a schema: a bad file name, two files with one version. */
export class MigrationsModelError extends Error {
  override name = 'MigrationsModelError';
}

export interface MigrationFile {
  /** e.g. 002-rollups.sql */
  fileName: string;
  /** the file's text, `${db}` not yet replaced */
  text: string;
}

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

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
  if (!m?.[1] || !m[2]) throw new MigrationsModelError(`migration file name ${fileName} is not NNN-name.sql`);
  return {
    version: Number(m[1]),
    name: m[2],
    // The checksum covers the template, not the database name, so a file is the same migration everywhere.
    checksum: createHash('sha256').update(text).digest('hex'),
    statements: splitStatements(text.replaceAll('${db}', database)),
  };
}

/** Every file in the order given (file-name order: migrations-model-files.ts), versions unique. */
export function parseMigrations(files: readonly MigrationFile[], database: string): Migration[] {
  const migrations = files.map((f) => parseMigration(f.fileName, f.text, database));
  const seen = new Set<number>();
  for (const m of migrations) {
    if (seen.has(m.version)) throw new MigrationsModelError(`two migrations share version ${m.version}`);
    seen.add(m.version);
  }
  return migrations;
}

/** The statements of migration files' text, with ${db} replaced (as parseMigration does). */
export function migrationStatements(texts: readonly string[], database: string): string[] {
  return texts.flatMap((t) => splitStatements(t.replaceAll('${db}', database)));
}

/** A materialized view: what it is called, the table it writes to and its SELECT. */
export interface MaterializedView {
  /** e.g. rollup_daily_mv */
  view: string;
  /** the table it writes to, e.g. rollup_daily */
  target: string;
  /** the view's SELECT */
  select: string;
}

/** A view reading `${db}.workflow_changes` (every materialized view of the schema does). */
export type RollupView = MaterializedView;

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

/** The schema the statements build, as far as the services read it. */
export interface SchemaModel {
  /** the database name `${db}` was replaced with */
  database: string;
  /** each table's CREATE TABLE statement, by table name */
  tables: ReadonlyMap<string, string>;
  /** every materialized view, in statement order */
  views: readonly MaterializedView[];
}

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS \S+\.([A-Za-z0-9_]+)\s*\(/;
const MV =
  /^CREATE MATERIALIZED VIEW IF NOT EXISTS \S+\.([A-Za-z0-9_]+) TO \S+\.([A-Za-z0-9_]+) AS\s+(SELECT[\s\S]*)$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The table every materialized view reads. */
const SOURCE_TABLE = 'workflow_changes';
/** The one view target whose rows replace each other rather than add up. */
const VERSIONS_TABLE = 'workflow_versions';

const ALTER_TABLE = /^ALTER TABLE \S+\.([A-Za-z0-9_]+)\s+([\s\S]*)$/;
const ADD_COLUMN = /^ADD COLUMN\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.+?)(?:\s+AFTER\s+([A-Za-z_][A-Za-z0-9_]*))?$/;

/**
 * A table's CREATE TABLE text with the columns an ALTER TABLE adds written in, each after the
 * column it names (else last), so that the model reads as the migrated table. Other commands
 * of the ALTER (MODIFY ORDER BY) change no column.
 */
function withAddedColumns(create: string, commands: string): string {
  let out = create;
  for (const command of topLevelItems(commands)) {
    const add = ADD_COLUMN.exec(command.replace(/\s+/g, ' '));
    if (!add?.[1] || !add[2]) continue;
    const line = `    ${add[1]} ${add[2]},\n`;
    const after = add[3] === undefined ? null : new RegExp(`^\\s*${add[3]}\\s.*\\n`, 'm').exec(out);
    const at = after ? after.index + after[0].length : out.search(/\n\)\s*ENGINE\s*=/) + 1;
    out = out.slice(0, at) + line + out.slice(at);
  }
  return out;
}

/**
 * The column an `ALTER TABLE db.t ADD COLUMN c ...` statement adds, if it is one. 18.16 has no
 * ADD COLUMN IF NOT EXISTS, so runners skip such a statement when the column exists: every
 * migration statement stays safe to run twice (a migration cut off before its record is
 * written runs again).
 */
export function addedColumn(statement: string): { table: string; column: string } | null {
  const alter = ALTER_TABLE.exec(statement.trim());
  if (!alter?.[1] || !alter[2]) return null;
  const first = topLevelItems(alter[2])[0]?.replace(/\s+/g, ' ') ?? '';
  const add = ADD_COLUMN.exec(first);
  return add?.[1] ? { table: alter[1], column: add[1] } : null;
}

/** Tables and materialized views of the statements (parseMigration's, or migrationStatements'). */
export function schemaModel(statements: readonly string[], database: string): SchemaModel {
  const tables = new Map<string, string>();
  const views: MaterializedView[] = [];
  for (const s of statements) {
    const stmt = s.trim();
    const table = CREATE_TABLE.exec(stmt);
    if (table?.[1]) tables.set(table[1], s);
    const alter = ALTER_TABLE.exec(stmt);
    const altered = alter?.[1] === undefined ? undefined : tables.get(alter[1]);
    if (alter?.[1] && alter[2] && altered !== undefined)
      tables.set(alter[1], withAddedColumns(altered, alter[2]));
    const mv = MV.exec(stmt);
    if (mv?.[1] && mv[2] && mv[3]) views.push({ view: mv[1], target: mv[2], select: mv[3].trim() });
  }
  return { database, tables, views };
}

/** Every view, each checked to read workflow_changes exactly once (so that it can be rewritten). */
function sourceViews(model: SchemaModel): RollupView[] {
  const source = `FROM ${model.database}.${SOURCE_TABLE}`;
  for (const v of model.views) {
    const n = v.select.split(source).length - 1;
    if (n !== 1) throw new Error(`view ${v.view} reads ${SOURCE_TABLE} ${n} times; it cannot be rewritten`);
  }
  return [...model.views];
}

/**
 * The views that sum workflow_changes into rollups. workflow_versions_mv is not a rollup: its
 * rows replace each other rather than add up.
 */
export function rollupViews(model: SchemaModel): RollupView[] {
  return sourceViews(model).filter((v) => v.target !== VERSIONS_TABLE);
}

/** The view that copies each new version into workflow_versions. */
export function versionsView(model: SchemaModel): RollupView {
  const v = sourceViews(model).find((x) => x.target === VERSIONS_TABLE);
  if (!v) throw new Error(`no materialized view writes ${VERSIONS_TABLE}`);
  return v;
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
export function summingShape(stmt: string, table: string): { keys: string[]; sums: string[] } {
  const sums = /SummingMergeTree\(\s*(\([^()]*\))\s*\)/.exec(stmt)?.[1];
  const order = /\bORDER BY\s+(\([^()]*\)|[A-Za-z_][A-Za-z0-9_]*)/.exec(stmt)?.[1];
  if (!sums || !order) throw new Error(`${table} is not a SummingMergeTree with listed sums and an ORDER BY`);
  return { keys: tupleColumns(order, 'ORDER BY', table), sums: tupleColumns(sums, 'sum', table) };
}

/**
 * Every rollup view with its target's key and sum columns. A bare key column is a pass-through
 * only when workflow_changes has it (`value` in the dimension view is an ARRAY JOIN alias).
 */
export function rollupTargets(model: SchemaModel): RollupTarget[] {
  const source = model.tables.get(SOURCE_TABLE);
  if (source === undefined) throw new Error(`no CREATE TABLE for ${SOURCE_TABLE}`);
  const sourceColumns = [...columnTypes(source).keys()];
  return rollupViews(model).map((v) => {
    const stmt = model.tables.get(v.target);
    if (stmt === undefined) throw new Error(`no CREATE TABLE for ${v.target}`);
    const { keys, sums } = summingShape(stmt, v.target);
    const list = v.select.slice('SELECT'.length, v.select.indexOf(`FROM ${model.database}.${SOURCE_TABLE}`));
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
