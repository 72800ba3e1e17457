/**
 * Rebalance at scale (issue 24): what a group join costs the aggregator with many workflows
 * stored. Two figures, each over --runs runs:
 * - the stored-id filter's rebuild, in this process, both ways alternated on the same table:
 *   `hashes` (today: murmurHash3_32/murmurHash2_32 computed by ClickHouse, RowBinary) and
 *   `text` (until 2026-12: every id as TabSeparated text, hashed here, into the filter as it
 *   was then, id-filter-before.ts);
 * - from the aggregator's spawn to its first commit on a fresh group: the whole join (connect,
 *   group join, filter, watermarks, first batch, insert, commit), read from the group's
 *   committed offsets every 100 ms.
 *
 * Run on a quiet machine, against a throwaway ClickHouse 18.16 and Kafka on loopback:
 *   podman run -d --rm --name rebalance-ch -p 127.0.0.1:18223:8123 localhost/parsl-usage/clickhouse:18.16
 *   podman run -d --rm --name relay-bench-kafka -p 127.0.0.1:19092:19092 \
 *     -e KAFKA_LISTENERS=PLAINTEXT://:19092,CONTROLLER://:9093 \
 *     -e KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:19092 localhost/parsl-usage/kafka:3.9.1
 *   npm run build
 *   CLICKHOUSE_URL=http://127.0.0.1:18223 KAFKA_BROKERS=127.0.0.1:19092 \
 *     npx tsx bench/aggregator/rebalance.ts --workflows 10000000 --runs 3
 * The database `rebalance_<workflows>` is filled once (through workflow_changes, so that the
 * views fire as in production) and reused by later runs.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import { readNumber } from '../../services/common/src/clickhouse-rows.js';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { IdFilter } from '@parsl-usage/aggregator/internal/join/id-filter';
import { IdFilter as IdFilterBefore } from './id-filter-before.js';
import { v1Launch } from '../../kit/src/datagrams.js';

const { values } = parseArgs({
  options: {
    workflows: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '3' },
  },
});
const WORKFLOWS = Number(values.workflows);
const RUNS = Number(values.runs);
const DB = `rebalance_${WORKFLOWS}`;
const CAPACITY = 20_000_000; // the aggregator's default AGG_ID_FILTER_CAPACITY
const url = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18223';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const ch = createClient({
  url,
  username: 'admin',
  password: 'admin-dev-password',
  request_timeout: 3_600_000,
});

async function fill(): Promise<void> {
  await applyMigrations(ch, { database: DB, dir: 'infra/clickhouse/migrations' });
  const have = await readNumber(ch, `SELECT count() FROM ${DB}.workflow_versions`);
  if (have >= WORKFLOWS) return;
  const t0 = performance.now();
  // Partition 99 is not in the bench's topic: its offsets do not hide the topic's messages.
  for (let from = have; from < WORKFLOWS; from += 1_000_000) {
    const n = Math.min(1_000_000, WORKFLOWS - from);
    await ch.command({
      query: `INSERT INTO ${DB}.workflow_changes
        (workflow_id, sign, version, status, protocol, tracking_level, parsl_version, python_version,
         platform, day, launch_received_at, has_launch, kafka_partition, kafka_offset, seq)
        SELECT concat(lower(hex(sipHash64(number))), '-', lower(hex(intHash64(number)))), 1, number, 'running', 'v1', 3,
               '2025.03.17', '3.12.2', 'Linux', today() - (number % 365), now(), 1, 99, number, 1
        FROM numbers(${from}, ${n})`,
    });
  }
  console.log(`filled ${WORKFLOWS} workflows in ${Math.round((performance.now() - t0) / 1000)} s`);
}

async function filterRebuild(way: 'hashes' | 'text'): Promise<{ ms: number; n: number }> {
  const t0 = performance.now();
  let n = 0;
  if (way === 'hashes') {
    const filter = new IdFilter({ capacity: CAPACITY });
    n = await createClickHouseSink(ch, DB).forEachStoredHash((a, b) => filter.addHashes(a, b));
  } else {
    const filter = new IdFilterBefore({ capacity: CAPACITY });
    const rs = await ch.query({
      query: `SELECT workflow_id FROM ${DB}.workflow_versions`,
      format: 'TabSeparated',
    });
    for await (const rows of rs.stream()) {
      for (const row of rows as { text: string }[]) {
        filter.add(row.text);
        n++;
      }
    }
  }
  return { ms: performance.now() - t0, n };
}

async function spawnToFirstCommit(run: number): Promise<{ ms: number; filterMs: number | undefined }> {
  const topic = `rebalance-${Date.now().toString(36)}-${run}`;
  const group = `${topic}-aggregator`;
  const kafka = new Kafka({ clientId: 'rebalance-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: [0, 1, 2].map((p) => ({
      partition: p,
      key: `new-${run}-${p}`,
      value: v1Launch(`new-${run}-${p}`),
    })),
  });
  await producer.disconnect();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['services/aggregator/dist/main.js'], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      AGG_RAW_TOPIC: topic,
      AGG_REJECTED_TOPIC: `${topic}-rejected`,
      AGG_GROUP_ID: group,
      AGG_HTTP_PORT: '0',
      AGG_MIGRATE_ON_START: 'false',
      CLICKHOUSE_URL: url,
      CLICKHOUSE_USER: 'admin',
      CLICKHOUSE_PASSWORD: 'admin-dev-password',
      CLICKHOUSE_DATABASE: DB,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let filterMs: number | undefined;
  child.stdout.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (!line.includes('stored-id filter')) continue;
      const ms = (JSON.parse(line) as { ms?: number }).ms;
      filterMs ??= ms;
    }
  });
  try {
    for (;;) {
      // The group's coordinator may still be moving while the group forms: ask again.
      const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] }).catch(() => []);
      if ((offsets[0]?.partitions ?? []).some((p) => Number(p.offset) > 0))
        return { ms: performance.now() - t0, filterMs };
      if (performance.now() - t0 > 600_000) throw new Error('no commit within 10 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

await fill();
const stored = await readNumber(ch, `SELECT count() FROM ${DB}.workflow_versions`);
console.log(JSON.stringify({ db: DB, stored, load: loadavg() }));
const results: Record<string, number[]> = {
  hashes: [],
  text: [],
  spawnToFirstCommit: [],
  filterInAggregator: [],
};
for (let r = 0; r < RUNS; r++) {
  for (const way of r % 2 === 0 ? (['hashes', 'text'] as const) : (['text', 'hashes'] as const)) {
    const { ms, n } = await filterRebuild(way);
    results[way]?.push(Math.round(ms));
    console.log(JSON.stringify({ run: r, way, ms: Math.round(ms), ids: n }));
  }
  const c = await spawnToFirstCommit(r);
  results.spawnToFirstCommit?.push(Math.round(c.ms));
  if (c.filterMs !== undefined) results.filterInAggregator?.push(c.filterMs);
  console.log(JSON.stringify({ run: r, spawnToFirstCommitMs: Math.round(c.ms), filterMs: c.filterMs }));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify({
    summary: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { median: median(v), runs: v }])),
    loadAfter: loadavg(),
    date: new Date().toISOString(),
  }),
);
await ch.close();
