/**
 * Rollups vs workflows at scale: generates N workflows server-side into a fresh database
 * (kit/src/rollup-history.ts), then times every dashboard question through the rollup views
 * and directly over `workflows` (workflow_versions FINAL), interleaved in the same run, and
 * reports on-disk sizes from system.parts.
 *
 *   npx tsx bench/rollups/run.ts --url http://127.0.0.1:28134 --workflows 10000000 \
 *     [--chunk 1000000] [--rollup-runs 20] [--raw-runs 5] [--skip-generate] [--optimize]
 *     [--generate-only] [--pushdown] [--db bench_rollups] [--questions <part of a name>]
 *
 * Runs as admin (no analyst limits: the raw queries need more than the analyst's 30 s/2 GB at
 * some sizes). Prints a Markdown table.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { DEFAULT_MIGRATIONS_DIR } from '@parsl-usage/aggregator/internal/provision/provision';
import { flags, num } from '@parsl-usage/kit/cli';
import { generateChunkSql } from '@parsl-usage/kit/rollup-history';
import { percentile, questions } from './questions.js';

const f = flags(process.argv.slice(2));
const url = f.get('url') ?? 'http://127.0.0.1:28134';
const db = f.get('db') ?? 'bench_rollups';
const total = num(f, 'workflows', 10_000_000);
const chunk = num(f, 'chunk', 1_000_000);
const rollupRuns = num(f, 'rollup-runs', 20);
const rawRuns = num(f, 'raw-runs', 5);

const client = createClient({
  url,
  username: 'admin',
  password: process.env.CLICKHOUSE_PASSWORD ?? 'admin-dev-password',
  request_timeout: 3_600_000,
  clickhouse_settings: {
    send_progress_in_http_headers: 1,
    http_headers_progress_interval_ms: '10000',
    // --pushdown: push WHERE into the views' subqueries (off by default on 18.16, on in 24.8+)
    ...(f.get('pushdown') === 'true' ? { enable_optimize_predicate_expression: 1 } : {}),
  },
});

async function scalar(c: ClickHouseClient, query: string): Promise<string> {
  const rs = await c.query({ query, format: 'TabSeparated' });
  return (await rs.text()).trim();
}

async function timed(query: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const rs = await client.query({ query, format: 'TabSeparated' });
  await rs.text();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function generate(): Promise<void> {
  await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await applyMigrations(client, { database: db, dir: DEFAULT_MIGRATIONS_DIR });
  const started = Date.now();
  for (let first = 0; first < total; first += chunk) {
    const count = Math.min(chunk, total - first);
    const t0 = Date.now();
    await client.command({ query: generateChunkSql(db, first, count) });
    const s = (Date.now() - t0) / 1000;
    console.error(
      `generated ${first + count} workflows (chunk ${s.toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
}

async function sizes(): Promise<Array<{ table: string; rows: string; bytes: number }>> {
  const rs = await client.query({
    query: `SELECT table, toString(sum(rows)) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts
            WHERE database = '${db}' AND active GROUP BY table ORDER BY table`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ table: string; rows: string; bytes: string }>()).map((r) => ({
    ...r,
    bytes: Number(r.bytes),
  }));
}

if (f.get('skip-generate') !== 'true') await generate();
if (f.get('optimize') === 'true') {
  // Steady state: the rollups' sums collapse and workflow_versions keeps one version per run
  // only on merge, which the server does in the background over hours; OPTIMIZE ... FINAL gets
  // there now. It also makes FINAL over workflow_versions as cheap as it can be (fair to it).
  for (const t of [
    'rollup_daily',
    'rollup_exec_time',
    'rollup_daily_dimension',
    'rollup_daily_component',
    'rollup_daily_project',
    'rollup_daily_install_age',
    'rollup_project',
    'rollup_weekly_release',
    'workflow_versions',
  ]) {
    const t0 = Date.now();
    await client.command({ query: `OPTIMIZE TABLE ${db}.${t} FINAL` });
    console.error(`optimized ${t} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
if (f.get('generate-only') === 'true') {
  await client.close();
  process.exit(0);
}
const workflows = await scalar(client, `SELECT count() FROM ${db}.workflows`);
const changes = await scalar(client, `SELECT count() FROM ${db}.workflow_changes`);
console.error(`workflows ${workflows}, change rows ${changes}`);

// --questions leaderboard: only the questions whose name contains the text
const only = f.get('questions');
const qs = questions(db).filter((q) => only === undefined || q.name.includes(only));
// Warm-up: one run of each, so the first timed run does not pay for cold caches alone.
for (const q of qs) {
  await timed(q.rollup);
  await timed(q.raw);
}
const samples = qs.map(() => ({ rollup: [] as number[], raw: [] as number[] }));
const rounds = Math.max(rollupRuns, rawRuns);
for (let r = 0; r < rounds; r++) {
  for (const [i, q] of qs.entries()) {
    const s = samples[i]!;
    if (r < rollupRuns) s.rollup.push(await timed(q.rollup));
    if (r < rawRuns) s.raw.push(await timed(q.raw));
  }
  console.error(`round ${r + 1}/${rounds}`);
}

const ms = (x: number): string => (x < 10 ? x.toFixed(1) : x.toFixed(0));
console.log(
  `workflows: ${Number(workflows).toLocaleString('en')}; workflow_changes rows: ${Number(changes).toLocaleString('en')}`,
);
console.log(
  `runs per question: rollups ${rollupRuns}, workflows ${rawRuns}; pushdown ${f.get('pushdown') === 'true'}\n`,
);
console.log('| question | rollups p50 | rollups p95 | workflows p50 | workflows p95 | p95 ratio |');
console.log('|---|---|---|---|---|---|');
for (const [i, q] of qs.entries()) {
  const s = samples[i]!;
  const r50 = percentile(s.rollup, 50);
  const r95 = percentile(s.rollup, 95);
  const w50 = percentile(s.raw, 50);
  const w95 = percentile(s.raw, 95);
  console.log(
    `| ${q.name} | ${ms(r50)} ms | ${ms(r95)} ms | ${ms(w50)} ms | ${ms(w95)} ms | ${(w95 / r95).toFixed(0)}x |`,
  );
}
console.log('\n| table | rows | on disk |');
console.log('|---|---|---|');
for (const s of await sizes())
  console.log(
    `| ${s.table} | ${Number(s.rows).toLocaleString('en')} | ${(s.bytes / 2 ** 20).toFixed(1)} MiB |`,
  );
await client.close();
