import type { ClickHouseClient } from '@clickhouse/client';
import type { QueryFn, Row } from './panels.js';

/** The dashboard's only use of the client: read-only SELECTs, rows as JSON objects. */
export function clickhouseQuery(client: ClickHouseClient): QueryFn {
  return async (sql) => {
    const rs = await client.query({ query: sql, format: 'JSONEachRow' });
    return rs.json<Row>();
  };
}
