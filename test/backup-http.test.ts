import { afterAll, describe, expect, it } from 'vitest';
import { classifyFailure } from '@parsl-usage/ops/internal/backup-errors';
import {
  ClickHouseHttpError,
  IdleTimeoutError,
  queryGzip,
  type ClickHouseHttp,
} from '@parsl-usage/ops/internal/backup-http';
import { CH_USERS, clickhouse, clickhouseUrl, freshName } from './setup/env.js';

/**
 * The backup's raw requests on the real server (services/ops/src/backup-http.ts): a refusal
 * carries ClickHouse's exception code whichever release answers (a header on current ones, the
 * body's prefix on 18.16), the client library's error for the same refusal classifies the same,
 * and a server silent for longer than the idle limit fails the request.
 */
const http = (idleTimeoutMs?: number): ClickHouseHttp => ({
  url: clickhouseUrl(),
  user: CH_USERS.admin.username,
  password: CH_USERS.admin.password,
  ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
});

describe('raw ClickHouse requests', () => {
  const client = clickhouse('admin');
  afterAll(() => client.close());

  it.each([
    ['an unknown database', () => `SELECT 1 FROM ${freshName('nodb')}.t`, 81],
    ['an unknown table', () => `SELECT 1 FROM system.${freshName('notable')}`, 60],
    ['a syntax error', () => 'SELEC 1', 62],
  ])('%s: refused with its code, raw and through the client library alike', async (_n, sql, code) => {
    const query = sql();
    const raw = await queryGzip(http(), query).then(
      () => null,
      (err: unknown) => err,
    );
    expect(raw).toBeInstanceOf(ClickHouseHttpError);
    expect((raw as ClickHouseHttpError).code).toBe(String(code));
    expect(classifyFailure(raw)).toEqual({ kind: 'clickhouse', code });
    const viaClient = await client.query({ query }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(classifyFailure(viaClient)).toEqual({ kind: 'clickhouse', code });
  });

  it('a server that says nothing for longer than the idle limit fails the request', async () => {
    const idleMs = 500; // ms, against a query that sleeps 2 s before its first byte
    const t0 = performance.now();
    await expect(queryGzip(http(idleMs), 'SELECT sleep(2)')).rejects.toBeInstanceOf(IdleTimeoutError);
    expect(performance.now() - t0).toBeLessThan(1_900); // ms: before the server would have answered
  });
});
