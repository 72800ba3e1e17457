/** Applies raw-event retention (retention.ts) to a database: drops expired `events` months. */
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString, readRows } from '@parsl-usage/common';
import { dropPartitionSql, partitionsToDrop } from './retention.js';

export async function applyRetention(opts: {
  client: ClickHouseClient;
  database: string;
  days: number;
  dryRun?: boolean;
  nowMs?: number;
}): Promise<{ dropped: string[]; kept: string[]; unknown: string[]; rowsDropped: number }> {
  const { client, database } = opts;
  const parts = await readRows<{ partition: string; rows: string | number }>(
    client,
    `SELECT partition, sum(rows) AS rows FROM system.parts
     WHERE database = ${quoteString(database)} AND table = 'events' AND active GROUP BY partition`,
  );
  const plan = partitionsToDrop(
    parts.map((p) => p.partition),
    opts.days,
    opts.nowMs ?? Date.now(),
  );
  let rowsDropped = 0;
  for (const p of plan.drop) {
    rowsDropped += Number(parts.find((x) => x.partition === p)?.rows ?? 0);
    if (!opts.dryRun) await client.command({ query: dropPartitionSql(database, p) });
  }
  return { dropped: plan.drop, kept: plan.keep, unknown: plan.unknown, rowsDropped };
}
