/** The ClickHouse door: SQL text in, JSON rows out, retried once on a reset connection. */
import type { ClickHouseClient } from '@clickhouse/client';
import { retryOnReset } from '@parsl-usage/common';
import type { QueryFn, Row } from './panel-computation.js';

// The reset rule is common's (errors.ts), shared with the aggregator.
export { isConnectionReset, retryOnReset } from '@parsl-usage/common';

/** The dashboard's only use of the client: read-only SELECTs, rows as JSON objects. */
export function clickhouseQuery(client: ClickHouseClient): QueryFn {
  return (sql) =>
    retryOnReset(async () => {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      return rs.json<Row>();
    });
}
