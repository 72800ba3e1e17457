/**
 * What a batch's look-up costs against a large `workflow_versions`, and what the stored-id filter
 * costs to build there. Run against a database holding many workflows (admin user):
 *   CLICKHOUSE_URL=http://127.0.0.1:8123 npx tsx bench/aggregator/lookup-cost.ts DATABASE
 */
import { createClient } from '@clickhouse/client';
import { randomUUID } from 'node:crypto';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { IdFilter } from '@parsl-usage/aggregator/internal/join/id-filter';

const database = process.argv[2];
if (!database || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(database))
  throw new Error('usage: lookup-cost.ts DATABASE');
const ch = createClient({
  url: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
  username: 'admin',
  password: process.env.CLICKHOUSE_ADMIN_PASSWORD ?? 'admin-dev-password',
});
const sink = createClickHouseSink(ch, database);
const rows = await (
  await ch.query({ query: `SELECT count() AS n FROM ${database}.workflow_versions`, format: 'JSONEachRow' })
).json<{ n: string }>();
console.log(`workflow_versions rows: ${rows[0]?.n}`);
for (const k of [100, 1_000, 4_000]) {
  const ids = Array.from({ length: k }, () => randomUUID());
  const t0 = performance.now();
  await sink.lookup(ids);
  console.log(`look-up of ${k} new ids: ${Math.round(performance.now() - t0)} ms`);
}
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const filter = new IdFilter({ capacity: 20_000_000 });
const n = await sink.forEachStoredHash((h1, h2) => filter.addHashes(h1, h2));
const ms = performance.now() - t0;
const absent = Array.from({ length: 100_000 }, () => randomUUID());
const fp = absent.filter((id) => filter.mightContain(id)).length / absent.length;
console.log(
  `filter: ${n} ids in ${Math.round(ms)} ms (${Math.round(n / (ms / 1000))} ids/s), fill ${filter.fill.toFixed(3)}, ` +
    `measured false positives ${(fp * 100).toFixed(2)} %, RSS +${Math.round((process.memoryUsage().rss - rss0) / 2 ** 20)} MiB`,
);
await ch.close();
