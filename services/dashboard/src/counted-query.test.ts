import { describe, expect, it } from 'vitest';
import { Metrics } from '@parsl-usage/common';
import { countedQuery } from './counted-query.js';

describe('countedQuery', () => {
  it.each([
    { outcomes: [], failuresInARow: 0, ok: 0, error: 0 },
    { outcomes: ['ok', 'ok'], failuresInARow: 0, ok: 2, error: 0 },
    { outcomes: ['error'], failuresInARow: 1, ok: 0, error: 1 },
    { outcomes: ['error', 'error', 'error'], failuresInARow: 3, ok: 0, error: 3 },
    { outcomes: ['error', 'error', 'ok'], failuresInARow: 0, ok: 1, error: 2 },
    { outcomes: ['error', 'ok', 'error', 'error'], failuresInARow: 2, ok: 1, error: 3 },
  ])('$outcomes: $failuresInARow failures in a row', async ({ outcomes, failuresInARow, ok, error }) => {
    const metrics = new Metrics();
    const rows = [{ n: 1 }];
    const q = countedQuery(
      (sql) => (sql === 'ok' ? Promise.resolve(rows) : Promise.reject(new Error('refused'))),
      metrics,
    );
    for (const o of outcomes) {
      if (o === 'ok') await expect(q.query(o)).resolves.toBe(rows);
      else await expect(q.query(o)).rejects.toThrow('refused');
    }
    expect(q.consecutiveFailures).toBe(failuresInARow);
    expect(metrics.get('dashboard_clickhouse_queries_total', { result: 'ok' })).toBe(ok);
    expect(metrics.get('dashboard_clickhouse_queries_total', { result: 'error' })).toBe(error);
    expect(metrics.get('dashboard_clickhouse_query_seconds_total')).toBeGreaterThanOrEqual(0);
  });
});
