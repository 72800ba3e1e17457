/**
 * Runs a forget plan (forget-project.ts) against ClickHouse, as a user that may run DDL and
 * mutations (admin). See forget-project.ts for the design and docs/PRIVACY.md for operation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString, readNumber, readRows } from '@parsl-usage/common';
import { rollupViews } from '@parsl-usage/schemas/migrations-model';
import { loadMigrationsModel } from '@parsl-usage/schemas/migrations-model-files';
import { planForget, workTables, type ForgetPlan, type Watermark } from './forget-project.js';

export interface ForgetResult {
  workflows: number;
  changeRows: number;
  rollupsCompensated: string[];
  monthsOptimized: number[];
  /** rows naming the project still present per table (rows inserted during the run): run again */
  leftovers: Record<string, number>;
}

/** Waits until no mutation of the table is pending; 18.16 reports no failure reason, so a bound is all there is. */
export async function waitForMutations(
  client: ClickHouseClient,
  database: string,
  table: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    const pending = await readNumber(
      client,
      `SELECT count() FROM system.mutations WHERE database = ${quoteString(database)} AND table = ${quoteString(table)} AND is_done = 0`,
    );
    if (pending === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${pending} mutation(s) of ${database}.${table} not done after ${timeoutMs} ms`);
    await sleep(delayMs);
  }
}

export async function forgetProject(opts: {
  client: ClickHouseClient;
  database: string;
  project: string;
  migrationsDir: string;
  mutationTimeoutMs?: number;
  log?: (msg: string) => void;
}): Promise<ForgetResult> {
  const { client, database: db, project } = opts;
  const log = opts.log ?? (() => undefined);
  const views = rollupViews((await loadMigrationsModel(opts.migrationsDir, db)).schema);
  const wt = workTables(project);
  await refuseInterrupted(client, db, wt);
  const { columns, watermark } = await changeLogShape(client, db);
  const plan = planForget({ database: db, project, views, changeColumns: columns, watermark });

  for (const sql of plan.snapshot) await client.command({ query: sql });
  const workflows = await readNumber(client, `SELECT count() FROM ${db}.${wt.ids}`);
  const changeRows = await readNumber(client, `SELECT count() FROM ${db}.${wt.rows}`);
  log(`snapshot: ${workflows} workflows, ${changeRows} change rows`);

  for (const c of plan.compensate) {
    await client.command({ query: c.sql });
    log(`compensated ${c.target}`);
  }
  const timeoutMs = opts.mutationTimeoutMs ?? 30 * 60_000;
  for (const d of plan.deletions) {
    await client.command({ query: d.sql });
    await waitForMutations(client, db, d.table, timeoutMs);
    log(`deleted from ${d.table}`);
  }
  const months = await optimizeRollups(client, plan, log);
  for (const sql of plan.dropWorkTables) await client.command({ query: sql });

  const leftovers: Record<string, number> = {};
  for (const l of plan.leftovers) leftovers[l.table] = await readNumber(client, l.sql);
  return {
    workflows,
    changeRows,
    rollupsCompensated: plan.compensate.map((c) => c.target),
    monthsOptimized: months,
    leftovers,
  };
}

/** Work tables left by an earlier run mean it was interrupted: an operator looks first. */
async function refuseInterrupted(
  client: ClickHouseClient,
  db: string,
  wt: { ids: string; rows: string },
): Promise<void> {
  const existing = await readNumber(
    client,
    `SELECT count() FROM system.tables WHERE database = ${quoteString(db)} AND name IN (${quoteString(wt.ids)}, ${quoteString(wt.rows)})`,
  );
  if (existing > 0)
    throw new Error(
      `work tables ${db}.${wt.ids} / ${wt.rows} exist: an earlier forget of this project was interrupted; see docs/PRIVACY.md before running again`,
    );
}

/** The columns of workflow_changes and its watermark (max offset per Kafka partition). */
async function changeLogShape(
  client: ClickHouseClient,
  db: string,
): Promise<{ columns: string[]; watermark: Watermark[] }> {
  // Order does not matter: the copy names its columns (18.16's system.columns has no `position`).
  const columns = (
    await readRows<{ name: string }>(
      client,
      `SELECT name FROM system.columns WHERE database = ${quoteString(db)} AND table = 'workflow_changes'`,
    )
  ).map((r) => r.name);
  const watermark: Watermark[] = (
    await readRows<{ p: number | string; o: string }>(
      client,
      `SELECT kafka_partition AS p, toString(max(kafka_offset)) AS o FROM ${db}.workflow_changes GROUP BY kafka_partition ORDER BY kafka_partition`,
    )
  ).map((r) => ({ partition: Number(r.p), offset: r.o }));
  return { columns, watermark };
}

/** OPTIMIZE ... FINAL of the project rollups, so the rows that now sum to 0 go; the months done. */
async function optimizeRollups(
  client: ClickHouseClient,
  plan: ForgetPlan,
  log: (msg: string) => void,
): Promise<number[]> {
  const months = (await readRows<Record<string, unknown>>(client, plan.affectedMonthsQuery)).map((r) =>
    Number(Object.values(r)[0]),
  );
  for (const m of months) await client.command({ query: plan.optimizeProjectRollup(m) });
  log(`optimized rollup_daily_project partitions ${months.join(', ') || '(none)'}`);
  await client.command({ query: plan.optimizeProjectTotals });
  log('optimized rollup_project');
  return months;
}
