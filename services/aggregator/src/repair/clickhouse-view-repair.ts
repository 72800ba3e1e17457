import type { ClickHouseClient } from '@clickhouse/client';
import { readRows } from '@parsl-usage/common';
import { classify } from '../sink/clickhouse-errors.js';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import type { ViewRepairPort } from './view-repair.js';
import {
  diffQuery,
  insertDiffStatement,
  insertMissingVersionsStatement,
  missingVersionsQuery,
  replicationBacklogQuery,
  storedRowsQuery,
  type DiffRow,
  type OffsetRange,
} from './view-repair-sql.js';

/** The view repair's reads and writes, on ClickHouse (view-repair-sql.ts has the SQL). */
export function createClickHouseViewRepairPort(
  client: ClickHouseClient,
  database: string,
  versions: { select: string; columns: readonly string[] },
): ViewRepairPort {
  const rows = async <T>(query: string, what: string): Promise<T[]> => {
    try {
      return await readRows<T>(client, query);
    } catch (err) {
      throw classify(err, what);
    }
  };
  const command = async (query: string, what: string): Promise<void> => {
    try {
      await client.command({ query });
    } catch (err) {
      throw classify(err, what);
    }
  };
  return {
    diff: (t: RollupTarget, r: OffsetRange) =>
      rows<DiffRow>(diffQuery(database, t, r), `view check of ${t.target}`),
    insertDiff: (t, diff) => command(insertDiffStatement(database, t, diff), `view repair of ${t.target}`),
    async repairVersions(r) {
      const [row] = await rows<{ n: string | number }>(missingVersionsQuery(database, r), 'versions check');
      const n = Number(row?.n ?? 0);
      if (n > 0)
        await command(
          insertMissingVersionsStatement(database, versions.select, versions.columns, r),
          'versions repair',
        );
      return n;
    },
    async replicationBacklog() {
      const [row] = await rows<{ n: string | number }>(
        replicationBacklogQuery(database),
        'replication queue',
      );
      return Number(row?.n ?? 0) > 0;
    },
  };
}

/** The (offset:seq) keys of the change rows a partition's offsets hold. */
export async function storedChangeKeys(
  client: ClickHouseClient,
  database: string,
  r: OffsetRange,
): Promise<Set<string>> {
  try {
    const rs = await readRows<{ o: string; s: number }>(client, storedRowsQuery(database, r));
    return new Set(rs.map((x) => `${x.o}:${x.s}`));
  } catch (err) {
    throw classify(err, 'stored change rows');
  }
}
