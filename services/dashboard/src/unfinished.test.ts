import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UNFINISHED_AFTER_DAYS } from './unfinished.js';

const MIGRATIONS = new URL('../../../infra/clickhouse/migrations/', import.meta.url);

describe('UNFINISHED_AFTER_DAYS', () => {
  it('is the number of days every migration compares with today()', () => {
    const found: Array<[string, number]> = [];
    for (const f of readdirSync(MIGRATIONS).filter((n) => n.endsWith('.sql'))) {
      const sql = readFileSync(new URL(f, MIGRATIONS), 'utf8');
      for (const m of sql.matchAll(/today\(\)\s*-\s*(\d+)/g)) found.push([f, Number(m[1])]);
    }
    // 003 (daily_workflows, twice; workflows_current) and 005 (workflows) say it today.
    expect(found.length).toBeGreaterThanOrEqual(3);
    expect(found.filter(([, n]) => n !== UNFINISHED_AFTER_DAYS)).toEqual([]);
  });
});
