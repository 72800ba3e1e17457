import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The one way a value leaves ClickHouse to be compared with one held in memory: JSONEachRow,
 * which writes every string so that JSON.parse gives it back exactly. TabSeparated does not
 * round-trip (it writes `\` as `\\`, a tab as `\t`): a stored-id filter once read `a\b` as
 * `a\\b` and took the closure of a stored launch for a run without one. Bulk copies that stay
 * inside ClickHouse (backup and restore) use Native, which is binary and exact too.
 */
export async function readRows<T>(client: Pick<ClickHouseClient, 'query'>, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** The first column of the first row, as a number (0 for no rows): counts and flags. */
export async function readNumber(client: Pick<ClickHouseClient, 'query'>, query: string): Promise<number> {
  const [row] = await readRows<Record<string, unknown>>(client, query);
  const first = row === undefined ? undefined : Object.values(row)[0];
  const n = Number(first ?? 0);
  if (!Number.isFinite(n)) throw new Error(`expected a number from ClickHouse, got ${JSON.stringify(first)}`);
  return n;
}
