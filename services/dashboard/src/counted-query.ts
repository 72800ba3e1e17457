/** Every ClickHouse read counted in the metrics, with the failures in a row that /healthz reads. */
import type { Metrics } from '@parsl-usage/common';
import type { QueryFn } from './panel-computation.js';

/** consecutive failed ClickHouse queries after which /healthz reports unhealthy */
export const UNHEALTHY_AFTER_FAILURES = 3;

export interface CountedQuery {
  /** the same reads, counted in the metrics */
  query: QueryFn;
  /** failed queries since the last one that succeeded */
  readonly consecutiveFailures: number;
}

/**
 * Counts every ClickHouse read (by result, and the seconds waited) and the failures in a row.
 * `now` (ms, monotonic) is the clock the wait is measured with; tests pass their own.
 */
export function countedQuery(
  inner: QueryFn,
  metrics: Metrics,
  now: () => number = () => performance.now(),
): CountedQuery {
  let consecutiveFailures = 0;
  const query: QueryFn = async (sql) => {
    const t0 = now();
    try {
      const rows = await inner(sql);
      consecutiveFailures = 0;
      metrics.inc('dashboard_clickhouse_queries_total', 'queries sent to ClickHouse', 1, { result: 'ok' });
      return rows;
    } catch (err) {
      consecutiveFailures++;
      metrics.inc('dashboard_clickhouse_queries_total', 'queries sent to ClickHouse', 1, { result: 'error' });
      throw err;
    } finally {
      metrics.inc(
        'dashboard_clickhouse_query_seconds_total',
        'seconds spent waiting for ClickHouse',
        (now() - t0) / 1000,
      );
    }
  };
  return {
    query,
    get consecutiveFailures() {
      return consecutiveFailures;
    },
  };
}
