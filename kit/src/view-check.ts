/**
 * Whether every rollup agrees with its materialized view over workflow_changes, key by key, and
 * workflow_versions holds every workflow's newest version: the invariant the view repair keeps
 * (services/aggregator/src/repair/view-repair.ts), checked with the repair's own SQL over all offsets.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { loadViewDefinitions } from '@parsl-usage/aggregator/internal/repair/view-definitions';
import { diffQuery, missingVersionsQuery } from '@parsl-usage/aggregator/internal/repair/view-repair-sql';

/** Per table, how many keys (rollups) or workflows (workflow_versions) disagree; {} when exact. */
export async function viewDisagreements(
  client: ClickHouseClient,
  db: string,
  migrationsDir?: string,
): Promise<Record<string, number>> {
  const { targets } = await loadViewDefinitions(db, migrationsDir);
  const json = async <T>(query: string): Promise<T[]> =>
    (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const partitions = await json<{ p: number; hi: string }>(
    `SELECT kafka_partition AS p, toString(max(kafka_offset)) AS hi FROM ${db}.workflow_changes GROUP BY p`,
  );
  const out: Record<string, number> = {};
  const add = (table: string, n: number): void => {
    if (n > 0) out[table] = (out[table] ?? 0) + n;
  };
  for (const { p, hi } of partitions) {
    const whole = { partition: Number(p), from: 0n, to: BigInt(hi) };
    // A key of several partitions is counted once per partition: enough to say "not exact".
    for (const t of targets) add(t.target, (await json(diffQuery(db, t, whole))).length);
    const [v] = await json<{ n: string | number }>(missingVersionsQuery(db, whole));
    add('workflow_versions', Number(v?.n ?? 0));
  }
  return out;
}
