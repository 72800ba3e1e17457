import type { ClickHouseClient } from '@clickhouse/client';
import type { QueryFn, Row } from './panels.js';

/**
 * A connection reset before any answer: a kept-alive socket that the server had already closed
 * (ClickHouse 18.16 closes idle ones after 3 s, the client evicts its own after 2.5 s, and a
 * loaded host's timers can miss that margin). Every dashboard query is a read, so one more try
 * on a new socket is safe.
 */
export function isConnectionReset(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up';
}

/** `read` once more if it failed with a connection reset (the reads are idempotent). */
export async function retryOnReset<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!isConnectionReset(err)) throw err;
    return read();
  }
}

/** The dashboard's only use of the client: read-only SELECTs, rows as JSON objects. */
export function clickhouseQuery(client: ClickHouseClient): QueryFn {
  return (sql) =>
    retryOnReset(async () => {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      return rs.json<Row>();
    });
}
