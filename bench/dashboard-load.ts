/**
 * Dashboard API under load on loopback: N concurrent clients for T seconds (both bounded) over
 * the page's request mix, against a database filled with the demo history. Reports requests/s,
 * p50/p99 latency and the ClickHouse queries issued (what the cache saved).
 *
 * Run (ClickHouse reachable, admin user):
 *   CLICKHOUSE_URL=http://127.0.0.1:8123 npx tsx bench/dashboard-load.ts [clients=32] [seconds=20] [runsPerDay=200]
 */
import { createClient } from '@clickhouse/client';
import { pino } from 'pino';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { createApp } from '../services/dashboard/src/app.js';
import { clickhouseQuery } from '../services/dashboard/src/clickhouse-query.js';
import { addDays, dayOf } from '@parsl-usage/dashboard/internal/dates';
import { demoHistory } from '@parsl-usage/kit/demo-history';
import { Metrics } from '@parsl-usage/common';
import { pagePaths } from './dashboard/spawn.js';

const CLIENTS = Math.min(256, Number(process.argv[2] ?? 32));
const SECONDS = Math.min(120, Number(process.argv[3] ?? 20));
const RUNS_PER_DAY = Math.min(2_000, Number(process.argv[4] ?? 200));
const URL_ = process.env.CLICKHOUSE_URL;
if (!URL_) throw new Error('set CLICKHOUSE_URL');

const admin = createClient({
  url: URL_,
  username: 'admin',
  password: process.env.CLICKHOUSE_ADMIN_PASSWORD ?? 'admin-dev-password',
});
const database = `bench_dash_${Date.now().toString(36)}`;
await applyMigrations(admin, {
  database,
  dir: new URL('../infra/clickhouse/migrations', import.meta.url).pathname,
});
const end = addDays(dayOf(Date.now()), -1);
const history = demoHistory({
  endDay: end,
  days: 365,
  runsPerDay: RUNS_PER_DAY,
  seed: 7,
  silentFrom: addDays(end, -13),
});
const rows = history.map((v, i) => ({
  ...(v[v.length - 1] as object),
  sign: 1,
  seq: 0,
  version: String(i),
  kafka_partition: 0,
  kafka_offset: String(i),
}));
for (let i = 0; i < rows.length; i += 50_000)
  await admin.insert({
    table: `${database}.workflow_changes`,
    values: rows.slice(i, i + 50_000),
    format: 'JSONEachRow',
  });
console.log(`inserted ${rows.length} runs into ${database}`);

let queries = 0;
const real = clickhouseQuery(admin);
const metrics = new Metrics();
const app = createApp({
  config: {
    httpHost: '127.0.0.1',
    httpPort: 0,
    database,
    cacheTtlMs: 60_000,
    cacheMaxEntries: 1_000,
    unfinishedAfterDays: 7,
  },
  logger: pino({ level: 'silent' }),
  query: (sql) => {
    queries++;
    return real(sql);
  },
  metrics,
});
await app.start();
const base = `http://127.0.0.1:${app.httpPort}`;

// The page's 14 requests, for 4 ranges a visitor might pick.
const ranges = [365, 90, 30, 730].map((n) => `from=${addDays(end, -(n - 1))}&to=${end}`);
const paths = ranges.flatMap((r) => pagePaths(r));

const latencies: number[] = [];
let errors = 0;
const deadline = performance.now() + SECONDS * 1000;
async function client(k: number): Promise<void> {
  for (let i = k; performance.now() < deadline; i++) {
    const t0 = performance.now();
    const res = await fetch(base + (paths[i % paths.length] as string));
    await res.arrayBuffer();
    if (res.status !== 200) errors++;
    latencies.push(performance.now() - t0);
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, (_, k) => client(k * 7)));
const elapsed = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) =>
  (latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0).toFixed(1);
console.log(
  JSON.stringify({
    clients: CLIENTS,
    seconds: Number(elapsed.toFixed(1)),
    runs: rows.length,
    distinct_requests: paths.length,
    requests: latencies.length,
    errors,
    requests_per_s: Math.round(latencies.length / elapsed),
    p50_ms: Number(q(0.5)),
    p99_ms: Number(q(0.99)),
    max_ms: Number((latencies[latencies.length - 1] ?? 0).toFixed(1)),
    clickhouse_queries: queries,
    cache: {
      miss: metrics.get('dashboard_cache_requests_total', { outcome: 'miss' }),
      shared: metrics.get('dashboard_cache_requests_total', { outcome: 'shared' }),
      hit: metrics.get('dashboard_cache_requests_total', { outcome: 'hit' }),
    },
  }),
);
await app.stop();
await admin.command({ query: `DROP DATABASE ${database}` });
await admin.close();
