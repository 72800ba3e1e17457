/**
 * Shared by test/dashboard-*.test.ts: the fixture history (kit/src/demo-history.ts
 * with releases from `silentFrom` sending nothing, as Parsl issue #4038), the figures it implies
 * computed here in plain TypeScript, and a dashboard started in-process on loopback.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { pino } from 'pino';
import { createApp, type DashboardApp } from '@parsl-usage/dashboard/internal/app';
import { clickhouseQuery } from '@parsl-usage/dashboard/internal/clickhouse-query';
import { addDays, dayOf, type IsoDay } from '@parsl-usage/dashboard/internal/dates';
import { demoHistory, type RunFacts } from '@parsl-usage/kit/demo-history';
import { Metrics } from '@parsl-usage/common';
import type { QueryFn } from '@parsl-usage/dashboard/internal/panel-computation';
import { ChangeLog, writeHistory } from './analytics-support.js';

export const TODAY = dayOf(Date.now());
export const END = addDays(TODAY, -1);
export const FROM = addDays(END, -99);
/** the first release that sends nothing: two weeks before the end */
export const SILENT_FROM = addDays(END, -13);

export function fixture(): RunFacts[][] {
  return demoHistory({ endDay: END, days: 100, runsPerDay: 20, seed: 4038, silentFrom: SILENT_FROM });
}

/** The current facts of every run that the views count (not Parsl's own tests), in [from, to]. */
export function counted(history: RunFacts[][], from: IsoDay = FROM, to: IsoDay = END): RunFacts[] {
  return history
    .map((v) => v[v.length - 1] as RunFacts)
    .filter((w) => w.is_test === 0 && w.day >= from && w.day <= to);
}

export function countBy<T>(xs: readonly T[], key: (x: T) => string | null): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) {
    const k = key(x);
    if (k !== null) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** inserted_at of every fixture row (whole seconds, UTC), as the aggregator sends it */
export const INSERTED_AT_MS = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

export async function insertHistory(
  client: ClickHouseClient,
  database: string,
  history: RunFacts[][],
): Promise<void> {
  // The ChangeLog passes extra fields through; without it 18.16 stores the column's zero, not its DEFAULT.
  const insertedAt = new Date(INSERTED_AT_MS).toISOString().slice(0, 19).replace('T', ' ');
  const stamped = history.map((versions) => versions.map((v) => ({ ...v, inserted_at: insertedAt })));
  await writeHistory(new ChangeLog(client, `${database}.workflow_changes`), stamped, 5_000);
}

export interface RunningDashboard {
  app: DashboardApp;
  base: string;
  metrics: Metrics;
  /** every SQL text the dashboard sent */
  queries: string[];
}

export async function startDashboard(
  client: ClickHouseClient,
  database: string,
  opts: { cacheTtlMs?: number; query?: QueryFn; warm?: boolean } = {},
): Promise<RunningDashboard> {
  const queries: string[] = [];
  const real = opts.query ?? clickhouseQuery(client);
  const metrics = new Metrics();
  const app = createApp({
    config: {
      httpHost: '127.0.0.1',
      httpPort: 0,
      database,
      cacheTtlMs: opts.cacheTtlMs ?? 60_000,
      cacheMaxEntries: 1_000,
      unfinishedAfterDays: 7,
      warm: opts.warm ?? false,
    },
    logger: pino({ level: process.env.DASH_TEST_LOG_LEVEL ?? 'silent' }),
    query: (sql) => {
      queries.push(sql);
      return real(sql);
    },
    metrics,
  });
  await app.start();
  return { app, base: `http://127.0.0.1:${app.httpPort}`, metrics, queries };
}
