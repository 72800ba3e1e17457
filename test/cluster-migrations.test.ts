/**
 * The migrations in the cluster shape (services/aggregator/src/provision/replicated-ddl.ts) on two real
 * ClickHouse 18.16 replicas and one ZooKeeper (localhost/parsl-usage/zookeeper:3.8), configured
 * as infra/cluster does it (infra/cluster/clickhouse). Checks: every table is a Replicated*
 * engine on both replicas; the recorded checksums equal the single-node ones; a second run
 * applies nothing; rows inserted into workflow_changes through one replica reach every table and
 * rollup of the other, and the backfills of a migration applied to a cluster that already holds
 * data are counted once, not once per replica; two equal inserts count twice, as on one node.
 */
import { freeTcpPort } from '@parsl-usage/kit/processes';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, loadMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { DEFAULT_ZOOKEEPER_PREFIX } from '@parsl-usage/aggregator/internal/provision/replicated-ddl';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { CH_USERS, MIGRATIONS_DIR, REPO_ROOT, eventually } from './setup/env.js';
import { zookeeperOk } from './support/zookeeper.js';

const CLICKHOUSE_IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';
const ZOOKEEPER_IMAGE = process.env.ZOOKEEPER_IMAGE ?? 'localhost/parsl-usage/zookeeper:3.8';
const DB = 'parsl_usage';

const freePort = freeTcpPort;

interface Replica {
  container: StartedTestContainer;
  client: ClickHouseClient;
}

async function startReplica(name: string, zkPort: number): Promise<Replica> {
  const [http, tcp, interserver] = [await freePort(), await freePort(), await freePort()];
  const container = await new GenericContainer(CLICKHOUSE_IMAGE)
    .withNetworkMode('host')
    .withEntrypoint(['/usr/local/bin/replica-entrypoint.sh'])
    .withCommand(['clickhouse-server', '--config-file=/etc/clickhouse-server/config.xml'])
    .withEnvironment({
      CLICKHOUSE_ZOOKEEPER_HOSTS: `127.0.0.1:${zkPort}`,
      CLICKHOUSE_SHARD: '01',
      CLICKHOUSE_REPLICA: name,
      CLICKHOUSE_INTERSERVER_HOST: '127.0.0.1',
      CLICKHOUSE_INTERSERVER_PORT: String(interserver),
      CLICKHOUSE_HTTP_PORT: String(http),
      CLICKHOUSE_TCP_PORT: String(tcp),
    })
    .withCopyFilesToContainer([
      {
        source: join(REPO_ROOT, 'infra/cluster/clickhouse/replica-entrypoint.sh'),
        target: '/usr/local/bin/replica-entrypoint.sh',
        mode: 0o755,
      },
      {
        source: join(REPO_ROOT, 'infra/cluster/clickhouse/users.d/zz-cluster.xml'),
        target: '/etc/clickhouse-server/users.d/zz-cluster.xml',
      },
    ])
    .start();
  // Pings refused while the server starts are expected: no warnings for them.
  const client = createClient({
    url: `http://127.0.0.1:${http}`,
    ...CH_USERS.admin,
    log: { level: ClickHouseLogLevel.OFF },
  });
  await eventually(async () => ((await client.ping()).success ? true : undefined), {
    timeoutMs: 60_000,
    what: `replica ${name}`,
  });
  return { container, client };
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** A checksum of every row of a table, independent of part layout and merge state. */
async function tableChecksum(client: ClickHouseClient, table: string): Promise<string> {
  const [r] = await rows<{ n: string; h: string }>(
    client,
    `SELECT count() AS n, toString(sum(cityHash64(*))) AS h FROM ${DB}.${table}`,
  );
  return `${r?.n}:${r?.h}`;
}

const changeRow = (id: string, offset: number) => ({
  sign: 1,
  workflow_id: id,
  version: 1,
  status: 'completed',
  protocol: 'v1',
  tracking_level: 1,
  parsl_version: '2026.11.24',
  parsl_release_date: '2026-11-24',
  python_version: '3.12.1',
  install_age_days: 10,
  python_minor: '3.12',
  platform: 'Linux',
  os_release: '6.1',
  project_name: 'alpha',
  is_test: 0,
  executors: ['htex'],
  providers: ['local'],
  launchers: [],
  other_components: [],
  executors_len: 1,
  dependency_resolver: 0,
  mpi: 0,
  app_count: 3,
  app_fails: 0,
  has_launch: 1,
  has_closure: 1,
  day: '2026-12-01',
  launch_received_at: '2026-12-01 10:00:00',
  closure_received_at: '2026-12-01 10:05:00',
  start_time: '2026-12-01 10:00:00',
  end_time: '2026-12-01 10:05:00',
  execution_time: 300,
  points: 2,
  kafka_partition: 0,
  kafka_offset: offset,
  seq: 0,
  inserted_at: '2026-12-01 10:05:01',
});

describe('migrations in the cluster shape on two 18.16 replicas', () => {
  let zk: StartedTestContainer;
  const replicas: Replica[] = [];
  let oldDir: string;

  let zkClientPort = 0;

  beforeAll(async () => {
    const zkPort = await freePort();
    zkClientPort = zkPort;
    zk = await new GenericContainer(ZOOKEEPER_IMAGE)
      .withNetworkMode('host')
      .withEnvironment({ ZOO_CLIENT_PORT: String(zkPort) })
      .start();
    await eventually(() => zookeeperOk(zkPort), { timeoutMs: 60_000, what: 'ZooKeeper' });
    replicas.push(...(await Promise.all([startReplica('ch1', zkPort), startReplica('ch2', zkPort)])));
    // The migrations up to 005, so that 006 and 007 later backfill from existing data.
    oldDir = await mkdtemp(join(tmpdir(), 'cluster-migrations-'));
    for (const f of (await readdir(MIGRATIONS_DIR)).filter((f) => f < '006')) {
      await copyFile(join(MIGRATIONS_DIR, f), join(oldDir, f));
    }
  }, 150_000);

  afterAll(async () => {
    for (const r of replicas) await r.client.close();
    await Promise.all(replicas.map((r) => r.container.stop({ timeout: 2_000 })));
    await zk?.stop({ timeout: 2_000 });
    if (oldDir) await rm(oldDir, { recursive: true, force: true });
  });

  const [first, second] = [() => replicas[0]!, () => replicas[1]!];
  const cluster = () => ({ otherReplicas: [second().client], zooKeeperPrefix: DEFAULT_ZOOKEEPER_PREFIX });

  it('creates Replicated* tables on both, then backfills once what was inserted through the other', async () => {
    const early = await applyMigrations(first().client, { database: DB, dir: oldDir, cluster: cluster() });
    expect(early.applied).toEqual([1, 2, 3, 4, 5]);

    // History written through the second replica, before 006 and 007 exist.
    await second().client.insert({
      table: `${DB}.workflow_changes`,
      values: [changeRow('w1', 1), changeRow('w2', 2), changeRow('w3', 3)],
      format: 'JSONEachRow',
    });

    const rest = await applyMigrations(first().client, {
      database: DB,
      dir: MIGRATIONS_DIR,
      cluster: cluster(),
    });
    const all = (await loadMigrations(MIGRATIONS_DIR, DB)).map((m) => m.version);
    expect(rest.applied).toEqual(all.filter((v) => v > 5));
    const again = await applyMigrations(second().client, {
      database: DB,
      dir: MIGRATIONS_DIR,
      cluster: { otherReplicas: [first().client], zooKeeperPrefix: DEFAULT_ZOOKEEPER_PREFIX },
    });
    expect(again).toEqual({ applied: [], skipped: all });

    for (const r of replicas) {
      const engines = await rows<{ name: string; engine: string }>(
        r.client,
        `SELECT name, engine FROM system.tables WHERE database = '${DB}' AND engine LIKE '%MergeTree' ORDER BY name`,
      );
      expect(engines.length).toBeGreaterThan(8);
      expect(engines.filter((e) => !e.engine.startsWith('Replicated'))).toEqual([]);
      // Checksums are the files': the same record as a single-node database has.
      const want = (await loadMigrations(MIGRATIONS_DIR, DB)).map((m) => ({
        version: m.version,
        checksum: m.checksum,
      }));
      const recorded = await eventually(async () => {
        const got = await rows<{ version: number; checksum: string }>(
          r.client,
          `SELECT version, checksum FROM ${DB}.schema_migrations FINAL ORDER BY version`,
        );
        return got.length === want.length ? got : undefined;
      });
      expect(recorded).toEqual(want);
    }

    // 006's backfill: three runs of project alpha, counted once although both replicas hold them.
    for (const r of replicas) {
      await eventually(async () => {
        const [p] = await rows<{ workflows: string }>(
          r.client,
          `SELECT sum(workflows) AS workflows FROM ${DB}.rollup_project WHERE project_name = 'alpha'`,
        );
        return Number(p?.workflows) === 3 ? true : undefined;
      });
      const [w] = await rows<{ n: string }>(
        r.client,
        `SELECT sum(workflows) AS n FROM ${DB}.rollup_weekly_release`,
      );
      expect(Number(w?.n)).toBe(3);
    }
  }, 120_000);

  it('replicates an insert on one replica to every table of the other, and counts equal inserts twice', async () => {
    const block = [changeRow('w4', 4), changeRow('w5', 5)];
    // The same block twice: insert deduplication is off (infra/cluster users.d), as on one node.
    for (let i = 0; i < 2; i++) {
      await first().client.insert({ table: `${DB}.workflow_changes`, values: block, format: 'JSONEachRow' });
    }
    const tables = (
      await rows<{ name: string }>(
        first().client,
        `SELECT name FROM system.tables WHERE database = '${DB}' AND engine LIKE 'Replicated%' ORDER BY name`,
      )
    ).map((t) => t.name);
    for (const r of replicas) await r.client.command({ query: `SYSTEM SYNC REPLICA ${DB}.workflow_changes` });
    const [changes] = await rows<{ n: string }>(
      second().client,
      `SELECT count() AS n FROM ${DB}.workflow_changes`,
    );
    expect(Number(changes?.n)).toBe(3 + 4);
    const [daily] = await rows<{ n: string }>(
      second().client,
      `SELECT sum(workflows) AS n FROM ${DB}.rollup_daily`,
    );
    await eventually(async () => {
      const [d] = await rows<{ n: string }>(
        second().client,
        `SELECT sum(workflows) AS n FROM ${DB}.rollup_daily`,
      );
      return Number(d?.n) === 7 ? true : undefined;
    });
    expect(Number(daily?.n)).toBeLessThanOrEqual(7);
    // Replicas identical, table by table.
    const sums = await eventually(async () => {
      const a = await Promise.all(tables.map((t) => tableChecksum(first().client, t)));
      const b = await Promise.all(tables.map((t) => tableChecksum(second().client, t)));
      return a.join() === b.join() ? a : undefined;
    });
    expect(sums.length).toBe(tables.length);
  }, 60_000);

  // What the aggregator waits on after an insert answered 319 (sink-retry.ts): parts a replica
  // holds that ZooKeeper does not list for it. A part whose node is removed stands for one whose
  // commit never reached ZooKeeper.
  it('counts the parts a replica holds that ZooKeeper does not list for it, and only those', async () => {
    for (const r of replicas) {
      const seen = await createClickHouseSink(r.client, DB).unconfirmedParts();
      expect(seen.at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(seen.parts).toBe(0);
    }
    const [replica] = await rows<{ path: string }>(
      first().client,
      `SELECT replica_path AS path FROM system.replicas WHERE database = '${DB}' AND table = 'workflow_changes'`,
    );
    const [part] = await rows<{ name: string }>(
      first().client,
      `SELECT name FROM system.parts WHERE database = '${DB}' AND table = 'workflow_changes' AND active LIMIT 1`,
    );
    expect(part).toBeDefined();
    const removed = await zk.exec([
      '/usr/share/zookeeper/bin/zkCli.sh',
      '-server',
      `127.0.0.1:${zkClientPort}`,
      'deleteall',
      `${replica!.path}/parts/${part!.name}`,
    ]);
    expect(removed.exitCode).toBe(0);
    const later = await createClickHouseSink(first().client, DB).unconfirmedParts();
    expect(later.parts).toBe(1);
    // Written after `at`: not this insert's, so not waited on.
    const before = await createClickHouseSink(first().client, DB).unconfirmedParts('2000-01-01 00:00:00');
    expect(before.parts).toBe(0);
  }, 60_000);
});
