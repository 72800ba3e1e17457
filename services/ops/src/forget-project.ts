/**
 * Forgetting a project on request: the pure part (validation, quoting, the materialized views'
 * SELECTs read from the migrations, and the SQL of every step). forget-project-run.ts runs it.
 *
 * Design (ClickHouse 18.16 and 24.8+, safe while the aggregator keeps inserting):
 *  1. watermark: max(kafka_offset) per Kafka partition of workflow_changes. Every step only
 *     touches rows at or below it, so rows the aggregator inserts meanwhile are never half
 *     handled (they are left whole, and the final check reports them: run the command again).
 *  2. snapshot: the ids of every workflow with a row of the project (a closure-only version may
 *     have no project name, and still belongs to the run), then a copy of all their change rows
 *     with the sign negated, in a work table.
 *  3. compensation: each rollup view's own SELECT over that copy, inserted into its rollup.
 *     The rollups are sums, so this subtracts the project's contribution exactly, whatever the
 *     aggregator inserts concurrently (no partition is dropped or rebuilt: nothing can be lost
 *     or counted twice in between).
 *  4. deletion: ALTER TABLE ... DELETE mutations on workflow_changes, workflow_versions and
 *     events, waited for (system.mutations.is_done).
 *  5. rollup_daily_project and rollup_project rows of the project now sum to 0 everywhere;
 *     OPTIMIZE ... FINAL (of the affected partitions of the daily one) makes SummingMergeTree
 *     drop them, so the name is gone.
 *  6. the work tables are dropped. A run interrupted between 3 and 6 leaves them behind, and a
 *     new run refuses to start until an operator has looked (docs/PRIVACY.md).
 */
import { SQL_IDENTIFIER, quoteString } from '@parsl-usage/common';
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** As schemas' cleanText: project names are trimmed and at most 256 characters. */
export const MAX_PROJECT_NAME_CHARS = 256;

export const projectNameSchema = z
  .string()
  .min(1, 'the project name must not be empty')
  .refine((s) => s === s.trim(), 'the project name has leading or trailing spaces (stored names are trimmed)')
  .refine(
    (s) => Array.from(s).length <= MAX_PROJECT_NAME_CHARS,
    `the project name is longer than ${MAX_PROJECT_NAME_CHARS} characters (stored names are cut there)`,
  );
// Every other name is accepted: quoteString escapes NUL and the other ASCII controls, so a name
// stored before the text rule removed them (schemas/src/text.ts) can still be forgotten.

// The views are read by the aggregator's view repair too: one reader of the schema for both.
import {
  rollupViews as schemaRollupViews,
  schemaModel,
  type RollupView,
} from '@parsl-usage/schemas/migrations-model';
export { migrationStatements, type RollupView } from '@parsl-usage/schemas/migrations-model';

/** The rollup views of the migrations' statements (migrationStatements): what a forget subtracts. */
export function rollupViews(statements: readonly string[], database: string): RollupView[] {
  return schemaRollupViews(schemaModel(statements, database));
}

export interface Watermark {
  partition: number;
  /** UInt64 as a decimal string */
  offset: string;
}

/** Rows at or below the watermark (offsets are per partition); false when there is none. */
export function watermarkPredicate(marks: readonly Watermark[]): string {
  if (marks.length === 0) return '0';
  for (const m of marks) {
    if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition > 65_535)
      throw new Error(`bad partition ${m.partition}`);
    if (!/^\d{1,20}$/.test(m.offset)) throw new Error(`bad offset ${m.offset}`);
  }
  const arms = marks.map((m) => `kafka_partition = ${m.partition}, kafka_offset <= ${m.offset}`);
  return `multiIf(${arms.join(', ')}, 0)`;
}

/** Work-table names: derived from the project name, so an interrupted run is found again. */
export function workTables(project: string): { ids: string; rows: string } {
  const token = createHash('sha256').update(project).digest('hex').slice(0, 16);
  return { ids: `forget_ids_${token}`, rows: `forget_rows_${token}` };
}

export interface ForgetPlan {
  project: string;
  workTables: { ids: string; rows: string };
  /** creates and fills the ids and negated-rows work tables */
  snapshot: string[];
  /** one INSERT per rollup view */
  compensate: Array<{ target: string; sql: string }>;
  /** ALTER TABLE ... DELETE per table (table name -> statement) */
  deletions: Array<{ table: string; sql: string }>;
  /** months (toYYYYMM(day)) of rollup_daily_project to OPTIMIZE: filled from the snapshot */
  affectedMonthsQuery: string;
  optimizeProjectRollup: (month: number) => string;
  /** the all-time totals per project: small, one OPTIMIZE of the whole table */
  optimizeProjectTotals: string;
  dropWorkTables: string[];
  /** table -> query counting the rows left that belong to the project */
  leftovers: Array<{ table: string; sql: string }>;
}

/**
 * Every statement of a forget, given the database, the project, the rollup views and the
 * columns of workflow_changes (in order; from system.columns).
 */
export function planForget(opts: {
  database: string;
  project: string;
  views: readonly RollupView[];
  changeColumns: readonly string[];
  watermark: readonly Watermark[];
}): ForgetPlan {
  const { database: db, project, views } = opts;
  const name = quoteString(project);
  const wt = workTables(project);
  const ids = `${db}.${wt.ids}`;
  const negRows = `${db}.${wt.rows}`;
  const upTo = watermarkPredicate(opts.watermark);
  const mine = `workflow_id IN (SELECT workflow_id FROM ${ids}) AND ${upTo}`;
  if (!opts.changeColumns.includes('sign')) throw new Error('workflow_changes has no sign column');
  const negated = opts.changeColumns.map((c) => (c === 'sign' ? 'toInt8(-sign) AS sign' : c)).join(', ');
  const source = `FROM ${db}.workflow_changes`;
  return {
    project,
    workTables: wt,
    snapshot: [
      `CREATE TABLE ${ids} (workflow_id String) ENGINE = MergeTree() ORDER BY workflow_id`,
      `INSERT INTO ${ids} SELECT DISTINCT workflow_id FROM (
         SELECT workflow_id FROM ${db}.workflow_changes WHERE project_name = ${name} AND ${upTo}
         UNION ALL
         SELECT workflow_id FROM ${db}.events WHERE project_name = ${name} AND ${upTo})`,
      `CREATE TABLE ${negRows} AS ${db}.workflow_changes`,
      `INSERT INTO ${negRows} (${opts.changeColumns.join(', ')}) SELECT ${negated} FROM ${db}.workflow_changes WHERE ${mine}`,
    ],
    compensate: views.map((v) => ({
      target: v.target,
      sql: `INSERT INTO ${db}.${v.target} ${v.select.replace(source, `FROM ${negRows}`)}`,
    })),
    deletions: ['workflow_changes', 'workflow_versions', 'events'].map((t) => ({
      table: t,
      sql: `ALTER TABLE ${db}.${t} DELETE WHERE ${mine}`,
    })),
    affectedMonthsQuery: `SELECT DISTINCT toYYYYMM(day) AS m FROM ${negRows} WHERE project_name = ${name} ORDER BY m`,
    optimizeProjectRollup: (month) => {
      if (!Number.isInteger(month) || month < 197001 || month > 999912) throw new Error(`bad month ${month}`);
      return `OPTIMIZE TABLE ${db}.rollup_daily_project PARTITION ${month} FINAL`;
    },
    optimizeProjectTotals: `OPTIMIZE TABLE ${db}.rollup_project FINAL`,
    dropWorkTables: [`DROP TABLE IF EXISTS ${negRows}`, `DROP TABLE IF EXISTS ${ids}`],
    leftovers: leftoverQueries(db, name),
  };
}

/** Per table, the query counting the rows that still name the project (`name`: quoted). */
function leftoverQueries(db: string, name: string): Array<{ table: string; sql: string }> {
  return ['workflow_changes', 'workflow_versions', 'events', 'rollup_daily_project', 'rollup_project'].map(
    (table) => ({ table, sql: `SELECT count() FROM ${db}.${table} WHERE project_name = ${name}` }),
  );
}

const identifier = SQL_IDENTIFIER;

/** ClickHouse connection of the maintenance commands: admin by default (DDL and mutations). */
export const maintenanceEnvSchema = z.object({
  CLICKHOUSE_URL: z.string().url('CLICKHOUSE_URL must be a URL').default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().min(1, 'CLICKHOUSE_USER must not be empty').default('admin'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(identifier, 'CLICKHOUSE_DATABASE must be an SQL identifier')
    .default('parsl_usage'),
});
export type MaintenanceEnv = z.infer<typeof maintenanceEnvSchema>;

/** Every problem of arguments and environment in one message; empty strings count as unset. */
export function parseWith<A>(
  args: z.ZodType<A, z.ZodTypeDef, unknown>,
  argValues: Record<string, unknown>,
  env: Record<string, string | undefined>,
  usage: string,
): { args: A; env: MaintenanceEnv } {
  const picked: Record<string, string> = {};
  for (const k of Object.keys(maintenanceEnvSchema.shape)) {
    const v = env[k];
    if (v !== undefined && v !== '') picked[k] = v;
  }
  const a = args.safeParse(argValues);
  const e = maintenanceEnvSchema.safeParse(picked);
  const problems = [
    ...(a.success ? [] : a.error.issues.map((i) => `  ${i.message}`)),
    ...(e.success ? [] : e.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`)),
  ];
  if (!a.success || !e.success) throw new Error(`${problems.join('\n')}\n${usage}`);
  return { args: a.data, env: e.data };
}

export const FORGET_USAGE = 'usage: forget-project-cli --project NAME';

export const forgetArgsSchema = z.object({
  project: z.string({ required_error: '--project NAME is required' }).pipe(projectNameSchema),
});
