/**
 * infra/clickhouse/users.d enforces who may do what, on a private ClickHouse 18.16 started
 * with the working tree's users.d and the real database name parsl_usage (allow_databases
 * names it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { MIGRATIONS_DIR } from './setup/env.js';
import {
  ChangeLog,
  cookbookHistory,
  startPrivateClickHouse,
  writeHistory,
  type PrivateClickHouse,
} from './analytics-support.js';

async function text(client: ClickHouseClient, query: string): Promise<string> {
  return (await (await client.query({ query, format: 'TabSeparated' })).text()).trim();
}

/** The error a statement fails with (as command, so that no FORMAT is appended), or a failed assertion if it succeeds. */
async function failure(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the statement to be refused, and it succeeded');
}

describe('ClickHouse users and limits', () => {
  let ch: PrivateClickHouse;
  let admin: ClickHouseClient;
  let analyst: ClickHouseClient;
  let ingest: ClickHouseClient;

  beforeAll(async () => {
    ch = await startPrivateClickHouse();
    admin = ch.client('admin');
    await applyMigrations(admin, { database: 'parsl_usage', dir: MIGRATIONS_DIR });
    await writeHistory(new ChangeLog(admin, 'parsl_usage.workflow_changes'), cookbookHistory());
    await admin.command({ query: 'CREATE DATABASE IF NOT EXISTS other_db' });
    await admin.command({ query: 'CREATE TABLE IF NOT EXISTS other_db.secret (s String) ENGINE = Memory' });
    await admin.command({ query: "INSERT INTO other_db.secret VALUES ('do not read')" });
    analyst = ch.client('analyst');
    ingest = ch.client('ingest');
  });

  afterAll(async () => {
    await ch?.stop();
  });

  describe('analyst', () => {
    it('reads the views and tables of parsl_usage', async () => {
      expect(await text(analyst, 'SELECT sum(workflows) FROM parsl_usage.daily_workflows')).toBe('9');
      expect(await text(analyst, 'SELECT count() FROM parsl_usage.workflows_current')).toBe('10');
    });

    it.each([
      ['INSERT', "INSERT INTO parsl_usage.workflow_changes (workflow_id, sign) VALUES ('x', 1)"],
      ['ALTER', 'ALTER TABLE parsl_usage.workflow_changes ADD COLUMN evil UInt8'],
      ['ALTER DELETE', 'ALTER TABLE parsl_usage.workflow_changes DELETE WHERE 1'],
      ['DROP TABLE', 'DROP TABLE parsl_usage.rollup_daily'],
      ['DROP VIEW', 'DROP TABLE parsl_usage.daily_workflows'],
      ['TRUNCATE', 'TRUNCATE TABLE parsl_usage.workflow_changes'],
      ['CREATE TABLE', 'CREATE TABLE parsl_usage.evil (x UInt8) ENGINE = Memory'],
      ['CREATE VIEW', 'CREATE VIEW parsl_usage.evil_view AS SELECT 1'],
      ['CREATE DATABASE', 'CREATE DATABASE evil_db'],
      ['OPTIMIZE', 'OPTIMIZE TABLE parsl_usage.workflow_changes FINAL'],
    ])('cannot %s', async (_what, query) => {
      expect(await failure(() => analyst.command({ query }))).toMatch(/readonly/i);
    });

    it('left everything as it was', async () => {
      expect(
        await text(
          admin,
          "SELECT count() FROM system.columns WHERE database = 'parsl_usage' AND name = 'evil'",
        ),
      ).toBe('0');
      expect(
        await text(
          admin,
          "SELECT count() FROM system.tables WHERE database = 'parsl_usage' AND name LIKE 'evil%'",
        ),
      ).toBe('0');
      expect(await text(admin, "SELECT count() FROM system.databases WHERE name = 'evil_db'")).toBe('0');
      expect(
        await text(admin, "SELECT count() FROM parsl_usage.workflow_changes WHERE workflow_id = 'x'"),
      ).toBe('0');
      expect(await text(admin, 'SELECT sum(workflows) FROM parsl_usage.daily_workflows')).toBe('9');
    });

    it('cannot read another database, directly or through remote()', async () => {
      expect(await failure(() => text(analyst, 'SELECT * FROM other_db.secret'))).toMatch(
        /access denied to database other_db/i,
      );
      expect(await failure(() => text(analyst, 'SELECT * FROM default.secret'))).toMatch(
        /access denied to database default/i,
      );
      expect(
        await failure(() =>
          text(analyst, "SELECT * FROM remote('127.0.0.1', other_db, secret, 'default', '')"),
        ),
      ).toMatch(/table functions are forbidden in readonly mode/i);
    });

    it('cannot change its limits: SET, settings in the request, readonly=0', async () => {
      expect(await failure(() => analyst.command({ query: 'SET max_execution_time = 3600' }))).toMatch(
        /readonly/i,
      );
      expect(await text(analyst, 'SELECT 1')).toBe('1');
      for (const settings of [
        { max_execution_time: 3600 },
        { max_memory_usage: '100000000000' },
        { readonly: '0' },
      ] as const) {
        const msg = await failure(() =>
          analyst
            .query({ query: 'SELECT 1', format: 'TabSeparated', clickhouse_settings: settings })
            .then((r) => r.text()),
        );
        expect(msg).toMatch(/readonly mode/i);
      }
    });

    it('a query reading without end is stopped by max_rows_to_read', async () => {
      const t0 = Date.now();
      // count() over a 10^12-row range; `numbers()` is a table function, forbidden here, so system.numbers
      const msg = await failure(() =>
        text(analyst, 'SELECT count() FROM (SELECT number FROM system.numbers LIMIT 1000000000000)'),
      );
      expect(msg).toMatch(/limit for rows to read exceeded/i);
      expect(Date.now() - t0).toBeLessThan(20_000);
    });

    it('a cross join is stopped by max_memory_usage', async () => {
      const msg = await failure(() =>
        text(
          analyst,
          'SELECT count() FROM (SELECT number AS a FROM system.numbers LIMIT 100000) AS l CROSS JOIN (SELECT number AS b FROM system.numbers LIMIT 100000) AS r',
        ),
      );
      expect(msg).toMatch(/memory limit \(for query\) exceeded/i);
    });

    it('a huge GROUP BY is stopped by max_memory_usage', async () => {
      const msg = await failure(() =>
        text(
          analyst,
          'SELECT k, count() FROM (SELECT number % 500000000 AS k FROM system.numbers LIMIT 1000000000) GROUP BY k ORDER BY k LIMIT 1',
        ),
      );
      expect(msg).toMatch(/memory limit \(for query\) exceeded/i);
    });

    it('a CPU-bound query that reads and keeps little is stopped by max_execution_time (30 s)', async () => {
      const t0 = Date.now();
      const msg = await failure(() =>
        text(
          analyst,
          'SELECT count() FROM (SELECT number FROM system.numbers LIMIT 1900000000) WHERE cityHash64(SHA256(toString(number))) = 0',
        ),
      );
      const elapsedMs = Date.now() - t0;
      // 18.16 may also stop it early on its estimate of the remaining time; both are this limit
      expect(msg).toMatch(/timeout exceeded|estimated query execution time/i);
      expect(elapsedMs).toBeLessThan(45_000);
    }, 90_000);

    it('a result larger than max_result_rows is cut off', async () => {
      // Over HTTP the rows stream out before the limit trips, so the status is already 200 and
      // the server ends the body with the exception text instead of failing the request.
      const body = await (
        await analyst.query({
          query: 'SELECT number FROM system.numbers LIMIT 2000000',
          format: 'TabSeparated',
        })
      ).text();
      const lines = body.split('\n');
      expect(lines.length).toBeLessThan(1_100_000);
      expect(body.slice(-500)).toMatch(/limit for result exceeded, max rows: 1\.00 million/i);
    });
  });

  describe('ingest', () => {
    it('inserts into and reads parsl_usage', async () => {
      const before = Number(await text(ingest, 'SELECT count() FROM parsl_usage.workflow_changes'));
      const log = new ChangeLog(ingest, 'parsl_usage.workflow_changes');
      await writeHistory(
        log,
        [cookbookHistory()[2] ?? []].map((h) => h.map((f) => ({ ...f, workflow_id: 'ingest-probe' }))),
      );
      expect(Number(await text(ingest, 'SELECT count() FROM parsl_usage.workflow_changes'))).toBe(before + 1);
      expect(await text(ingest, 'SELECT max(kafka_offset) FROM parsl_usage.workflow_changes')).toMatch(
        /^\d+$/,
      );
    });

    it.each([
      ['DROP', 'DROP TABLE parsl_usage.rollup_daily'],
      ['ALTER', 'ALTER TABLE parsl_usage.workflow_changes ADD COLUMN evil UInt8'],
      ['CREATE', 'CREATE TABLE parsl_usage.evil (x UInt8) ENGINE = Memory'],
      ['TRUNCATE', 'TRUNCATE TABLE parsl_usage.workflow_changes'],
    ])('cannot %s by default (allow_ddl=0)', async (_what, query) => {
      expect(await failure(() => ingest.command({ query }))).toMatch(/ddl/i);
    });

    it('cannot read another database', async () => {
      expect(await failure(() => text(ingest, 'SELECT * FROM other_db.secret'))).toMatch(
        /access denied to database other_db/i,
      );
    });
  });

  describe('default', () => {
    it('is refused from outside the server', async () => {
      expect(await failure(() => text(ch.client('default'), 'SELECT 1'))).toMatch(
        /not allowed|authentication|password/i,
      );
    });
  });
});
