/**
 * Backup and restore at scale (issue 16, the long version of test/disaster-drill.test.ts):
 * generates N workflows server-side (kit/src/rollup-history.ts: the change log, and so
 * workflow_versions and every rollup through their views) plus one `events` row per launch
 * and per closure with a datagram-sized `raw`, then times
 *   1. a full backup into an empty directory, 2. --verify, 3. a second backup with nothing
 *   changed, 4. a day's ingest (10,000 more workflows, yesterday and today) and the incremental
 *   backup after it, 5. a restore into an empty database (no Kafka: --no-offsets),
 * and checks that the restored database answers as the source does.
 *
 *   npx tsx bench/backup-restore.ts --url http://127.0.0.1:18123 --workflows 1000000 \
 *     [--chunk 500000] [--dir /tmp/parsl-usage-backup-bench] [--skip-generate] [--day 10000]
 *
 * Prints a Markdown table and a JSON line.
 */
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { runBackup, verifyBackup } from '../services/ops/src/backup-run.js';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { DEFAULT_MIGRATIONS_DIR } from '@parsl-usage/aggregator/internal/provision/provision';
import { runRestore } from '../services/ops/src/restore-run.js';
import { flags, num } from '@parsl-usage/kit/cli';
import { generateChunkSql } from '@parsl-usage/kit/rollup-history';

const f = flags(process.argv.slice(2));
const url = f.get('url') ?? 'http://127.0.0.1:18123';
const db = f.get('db') ?? 'bench_backup';
const restored = `${db}_restored`;
const total = num(f, 'workflows', 1_000_000);
const chunk = num(f, 'chunk', 500_000);
const dayWorkflows = num(f, 'day', 10_000);
const dir = f.get('dir') ?? '/tmp/parsl-usage-backup-bench';
const password = process.env.CLICKHOUSE_PASSWORD ?? 'admin-dev-password';
const http = { url, user: 'admin', password };

const client: ClickHouseClient = createClient({
  url,
  username: 'admin',
  password,
  request_timeout: 3_600_000,
  clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000' },
});

async function scalar(query: string): Promise<string> {
  return (await (await client.query({ query, format: 'TabSeparated' })).text()).trim();
}

/** A datagram's worth of `raw`: a protocol-1 launch or closure of the generated run. */
function eventsSql(where: string): string {
  const launch = `concat('1{"correlator":"', workflow_id, '","parsl_v":"', parsl_version, '","python_v":"', python_version,
    '","platform.system":"', platform, '","tracking_level":', toString(tracking_level),
    ',"components":[{"c":"parsl.config.Config","executors_len":1,"dependency_resolver":false},',
    '"parsl.providers.slurm.slurm.SlurmProvider",{"c":"parsl.executors.high_throughput.executor.HighThroughputExecutor","mpi":false}],',
    '"start":', toString(toUnixTimestamp(launch_received_at)), if(project_name = '', '', concat(',"project_name":"', project_name, '"')), '}')`;
  const closure = `concat('1{"correlator":"', workflow_id, '","end":', toString(toUnixTimestamp(closure_received_at)),
    ',"execution_time":', toString(round(execution_time, 3)),
    ',"components":[{"c":"parsl.dataflow.dflow.DataFlowKernel","app_count":', toString(app_count), ',"app_fails":', toString(app_fails), '}]}')`;
  return `INSERT INTO ${db}.events
    SELECT kafka_partition, kafka_offset, if(is_closure, closure_received_at, launch_received_at) AS received_at,
           workflow_id, if(is_closure, 'closure', 'launch') AS phase, protocol, tracking_level, parsl_version,
           python_version, platform, project_name, if(is_closure, ${closure}, ${launch}) AS raw, now() AS inserted_at
    FROM (SELECT *, status IN ('completed', 'closure_only') AS is_closure FROM ${db}.workflow_changes WHERE sign = 1 AND ${where})`;
}

async function generate(): Promise<void> {
  await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await applyMigrations(client, { database: db, dir: DEFAULT_MIGRATIONS_DIR });
  const t0 = Date.now();
  for (let first = 0; first < total; first += chunk) {
    await client.command({ query: generateChunkSql(db, first, Math.min(chunk, total - first)) });
    console.error(
      `generated ${Math.min(first + chunk, total)} workflows, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  await client.command({ query: eventsSql('1') });
  console.error(`events written, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** A day's ingest: `n` more workflows launched yesterday (closures yesterday or today), offsets after the rest. */
async function addDay(n: number): Promise<void> {
  const before = await scalar(`SELECT max(kafka_offset) FROM ${db}.workflow_changes`);
  const sql = generateChunkSql(db, total, n).replace(
    /today\(\) - 1 - toUInt32\(floor\(1825 \*/,
    'today() - 1 - toUInt32(floor(0 *',
  );
  if (!sql.includes('floor(0 *')) throw new Error('the generator changed: cannot pin its day');
  await client.command({ query: sql });
  await client.command({ query: eventsSql(`kafka_offset > ${before}`) });
}

async function tableSizes(database: string): Promise<Array<{ table: string; rows: number; bytes: number }>> {
  const rs = await client.query({
    query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts
            WHERE database = '${database}' AND active GROUP BY table ORDER BY table`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ table: string; rows: string; bytes: string }>()).map((r) => ({
    table: r.table,
    rows: Number(r.rows),
    bytes: Number(r.bytes),
  }));
}

/** Answers that must be the same on the source and the restored database. */
async function answers(database: string): Promise<string[]> {
  return Promise.all([
    scalar(`SELECT count(), sum(cityHash64(workflow_id, status, app_count, day)) FROM ${database}.workflows`),
    scalar(`SELECT sum(workflows), sum(completed), sum(apps), sum(points) FROM ${database}.rollup_daily`),
    scalar(
      `SELECT sum(cityHash64(dimension, value, day) * workflows) FROM ${database}.rollup_daily_dimension`,
    ),
    scalar(`SELECT sum(workflows), sum(apps) FROM ${database}.rollup_project`),
    scalar(`SELECT count(), sum(cityHash64(kafka_partition, kafka_offset, raw)) FROM ${database}.events`),
  ]);
}

const mib = (b: number): string => (b / 1_048_576).toFixed(1);
const sec = (ms: number): string => (ms / 1000).toFixed(1);

try {
  const started = new Date().toISOString();
  const load0 = loadavg()[0] ?? 0;
  if (f.get('skip-generate') !== 'true') await generate();
  const source = await tableSizes(db);
  await rm(dir, { recursive: true, force: true });

  const full = await runBackup({ client, http, database: db, dir });
  console.error(`full backup: ${sec(full.ms)} s, ${mib(full.bytes)} MiB`);
  let t = Date.now();
  const verified = await verifyBackup(dir);
  const verifyMs = Date.now() - t;
  if (verified.problems.length > 0) throw new Error(`verify: ${verified.problems.join('; ')}`);
  const again = await runBackup({ client, http, database: db, dir });
  await addDay(dayWorkflows);
  const daily = await runBackup({ client, http, database: db, dir });
  console.error(`incremental after a day: ${sec(daily.ms)} s, wrote ${daily.written.length} files`);

  await client.command({ query: `DROP DATABASE IF EXISTS ${restored}` });
  t = Date.now();
  const r = await runRestore({
    client,
    http,
    database: restored,
    dir,
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    log: (m) => {
      if (!m.startsWith('loaded')) console.error(m);
    },
  });
  const restoreMs = Date.now() - t;
  const [a, b] = await Promise.all([answers(db), answers(restored)]);
  const same = JSON.stringify(a) === JSON.stringify(b);
  const workflows = Number((await scalar(`SELECT count() FROM ${db}.workflows`)).split('\t')[0]);
  const load1 = loadavg()[0] ?? 0;

  const srcBytes = source.reduce((s, x) => s + x.bytes, 0);
  const backedUp = source.filter((x) =>
    ['events', 'workflow_changes', 'schema_migrations'].includes(x.table),
  );
  console.log(`| | figure |
|---|---|
| workflows (after the day's ingest) | ${workflows.toLocaleString('en')} |
| events rows / workflow_changes rows (source) | ${source.find((x) => x.table === 'events')?.rows.toLocaleString('en')} / ${source.find((x) => x.table === 'workflow_changes')?.rows.toLocaleString('en')} |
| source on disk: all tables / backed-up tables | ${mib(srcBytes)} MiB / ${mib(backedUp.reduce((s, x) => s + x.bytes, 0))} MiB |
| backup size (gzip Native, ${full.written.length} files) | ${mib(full.bytes)} MiB |
| full backup | ${sec(full.ms)} s |
| --verify (sha256 + parse every file) | ${sec(verifyMs)} s |
| second backup, nothing changed | ${sec(again.ms)} s (${again.written.length} files written, ${again.kept} kept) |
| incremental backup after a day's ingest (${dayWorkflows.toLocaleString('en')} workflows) | ${sec(daily.ms)} s (${daily.written.length} files written, ${mib(daily.written.reduce((s, w) => s + w.bytes, 0))} MiB; ${daily.kept} kept) |
| restore into an empty database (load + rebuild every derived table) | ${sec(restoreMs)} s |
| restored answers equal the source's | ${same ? 'yes' : `NO: ${JSON.stringify({ a, b })}`} |
| load average (1 min) at start / end | ${load0.toFixed(1)} / ${load1.toFixed(1)} |`);
  console.log(
    JSON.stringify({
      started,
      workflows,
      source,
      full,
      verifyMs,
      again: { ms: again.ms, written: again.written.length, kept: again.kept },
      daily: { ms: daily.ms, written: daily.written, kept: daily.kept },
      restoreMs,
      restore: r,
      same,
    }),
  );
  if (!same) process.exitCode = 1;
} finally {
  await client.close();
}
