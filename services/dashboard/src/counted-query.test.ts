import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { countedQuery } from './counted-query.js';

describe('countedQuery', () => {
  it.each([
    { outcomes: [], failuresInARow: 0, ok: 0, error: 0, seconds: 0 },
    { outcomes: ['ok', 'ok'], failuresInARow: 0, ok: 2, error: 0, seconds: 0.5 },
    { outcomes: ['error'], failuresInARow: 1, ok: 0, error: 1, seconds: 2 },
    { outcomes: ['error', 'error', 'error'], failuresInARow: 3, ok: 0, error: 3, seconds: 6 },
    { outcomes: ['error', 'error', 'ok'], failuresInARow: 0, ok: 1, error: 2, seconds: 4.25 },
    { outcomes: ['error', 'ok', 'error', 'error'], failuresInARow: 2, ok: 1, error: 3, seconds: 6.25 },
  ])(
    '$outcomes: $failuresInARow failures in a row',
    async ({ outcomes, failuresInARow, ok, error, seconds }) => {
      const metrics = new Metrics();
      const rows = [{ n: 1 }];
      // A clock that only ClickHouse moves: an answer takes 250 ms, a failure 2 s (a timeout).
      let clockMs = 0;
      const q = countedQuery(
        (sql) => {
          clockMs += sql === 'ok' ? 250 : 2_000;
          return sql === 'ok' ? Promise.resolve(rows) : Promise.reject(new Error('refused'));
        },
        metrics,
        () => clockMs,
      );
      for (const o of outcomes) {
        if (o === 'ok') await expect(q.query(o)).resolves.toBe(rows);
        else await expect(q.query(o)).rejects.toThrow('refused');
      }
      expect(q.consecutiveFailures).toBe(failuresInARow);
      expect(metrics.get('dashboard_clickhouse_queries_total', { result: 'ok' })).toBe(ok);
      expect(metrics.get('dashboard_clickhouse_queries_total', { result: 'error' })).toBe(error);
      // Every query's wait, the failed ones included, and nothing else.
      expect(metrics.get('dashboard_clickhouse_query_seconds_total')).toBeCloseTo(seconds, 9);
    },
  );
});
