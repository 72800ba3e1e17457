/**
 * The disaster drill (issue 16), on the real pipeline: ingest, back up (twice, the second
 * incrementally and while datagrams arrive), ingest more, destroy ClickHouse's container and
 * its volume, start a new one, restore, let the aggregator catch up from Kafka. Afterwards
 * `workflows` holds exactly the runs the datagrams imply, and workflows, every rollup and
 * events equal what a clean ingest of the whole topic gives: nothing lost, nothing twice.
 * A damaged copy of the backup is refused by --verify and by restore; a second restore of the
 * same backup with --from-events (derived tables rebuilt by reprocess) ends equal too.
 *
 * This test starts its own ClickHouse (the shared one must not be destroyed), with a named
 * podman volume for /var/lib/clickhouse; Kafka is the shared one.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { decodeDatagram } from '@parsl-usage/schemas';
import { Metrics } from '@parsl-usage/common';
import { createApp } from '@parsl-usage/aggregator/internal/app';
import { runBackup, verifyBackup } from '@parsl-usage/ops/internal/backup-run';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { runRestore } from '@parsl-usage/ops/internal/restore-run';
import { CH_USERS, MIGRATIONS_DIR, eventually, freshName, freshTopics, kafka } from './setup/env.js';
import { legacyClosure, legacyLaunch, v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';

const run = promisify(execFile);
const IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';
process.env.DOCKER_HOST ??= 'unix:///run/podman/podman.sock';
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

const DB = 'parsl_usage';
const DAY_MS = 86_400_000;

interface Server {
  url: string;
  volume: string;
  stop: () => Promise<void>;
}
const servers: Server[] = [];
const dirs: string[] = [];

async function volumeExists(name: string): Promise<boolean> {
  return run('podman', ['volume', 'exists', name]).then(
    () => true,
    () => false,
  );
}

/** A ClickHouse of our own whose data lives in a named podman volume. */
async function startClickHouse(): Promise<Server> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const volume = freshName('drill-ch');
  await run('podman', ['volume', 'create', volume]);
  const c = await new GenericContainer(IMAGE)
    .withExposedPorts(8123)
    .withBindMounts([{ source: volume, target: '/var/lib/clickhouse', mode: 'rw' }])
    .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
    .withStartupTimeout(120_000)
    .start();
  let stopped = false;
  const s: Server = {
    url: `http://127.0.0.1:${c.getMappedPort(8123)}`,
    volume,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await c.stop({ timeout: 2_000, remove: true });
      await run('podman', ['volume', 'rm', '-f', volume]);
    },
  };
  servers.push(s);
  return s;
}

function client(url: string): ClickHouseClient {
  return createClient({ url, ...CH_USERS.admin });
}

async function startAggregator(
  url: string,
  database: string,
  topics: { raw: string; rejected: string },
  groupId: string,
) {
  const ch = client(url);
  const k = kafka(freshName('drill-agg'));
  const metrics = new Metrics();
  const app = createApp({
    config: {
      rawTopic: topics.raw,
      rejectedTopic: topics.rejected,
      windowMs: 7 * DAY_MS,
      maxOpenWorkflows: 100_000,
      partitionsConcurrency: 3,
      httpHost: '127.0.0.1',
      httpPort: 0,
    },
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    consumer: k.consumer({ groupId, maxWaitTimeInMs: 100, minBytes: 1 }),
    producer: k.producer({ allowAutoTopicCreation: false }),
    sink: createClickHouseSink(ch, database),
    decode: decodeDatagram,
    metrics,
  });
  await app.start();
  return {
    metrics,
    stop: async () => {
      await app.stop();
      await ch.close();
    },
  };
}

async function rows<T>(c: ClickHouseClient, query: string): Promise<T[]> {
  return (await c.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Every rollup (SummingMergeTree) summed by its key columns (the non-Int64 ones), zero rows dropped. */
async function rollups(c: ClickHouseClient, db: string): Promise<Record<string, unknown[]>> {
  const tables = await rows<{ name: string }>(
    c,
    `SELECT name FROM system.tables WHERE database = '${db}' AND engine = 'SummingMergeTree' ORDER BY name`,
  );
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const cols = await rows<{ name: string; type: string }>(
      c,
      `SELECT name, type FROM system.columns WHERE database = '${db}' AND table = '${name}'`,
    );
    const keys = cols.filter((x) => x.type !== 'Int64').map((x) => x.name);
    const sums = cols.filter((x) => x.type === 'Int64').map((x) => x.name);
    out[name] = await rows(
      c,
      `SELECT ${keys.join(', ')}, ${sums.map((s) => `sum(${s}) AS sum_${s}`).join(', ')} FROM ${db}.${name}
       GROUP BY ${keys.join(', ')} HAVING ${sums.map((s) => `sum_${s} != 0`).join(' OR ')} ORDER BY ${keys.join(', ')}`,
    );
  }
  return out;
}

async function eventsCount(c: ClickHouseClient, db: string): Promise<{ n: number; distinct: number }> {
  const r = await rows<{ n: string; d: string }>(
    c,
    `SELECT toString(count()) AS n, toString(uniqExact(kafka_partition, kafka_offset)) AS d FROM ${db}.events`,
  );
  return { n: Number(r[0]?.n), distinct: Number(r[0]?.d) };
}

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Message = { key: string; value: Buffer; headers: { received_at_ms: string } };

describe('disaster drill: lose ClickHouse and its volume, restore, catch up', () => {
  it('nothing lost, nothing counted twice; a damaged backup is refused', async () => {
    const now = Date.now();
    const at = (ms: number) => ({ received_at_ms: String(ms) });
    const msg = (key: string, value: Buffer, ms: number): Message => ({ key, value, headers: at(ms) });
    const months = [now - 70 * DAY_MS, now - 40 * DAY_MS, now];
    const a = (i: number) => `a${i}`;

    // A: 30 level-3 launches over three months, closures of a0-4 and a10-14, duplicates, legacy, an orphan.
    const phaseA: Message[] = [];
    for (let i = 0; i < 30; i++) phaseA.push(msg(a(i), v1Launch(a(i)), months[Math.floor(i / 10)] ?? now));
    for (const i of [0, 1, 2, 3, 4, 10, 11, 12, 13, 14])
      phaseA.push(msg(a(i), v1Closure(a(i)), (months[Math.floor(i / 10)] ?? now) + 3_600_000));
    phaseA.push(msg(a(0), v1Launch(a(0)), months[0] ?? now), msg(a(10), v1Launch(a(10)), months[1] ?? now));
    phaseA.push(msg('leg1', legacyLaunch('leg1'), now), msg('leg1', legacyClosure('leg1'), now));
    phaseA.push(msg('o1', v1Closure('o1'), now));
    // A2: late closures of two old runs (an old month of the change log changes), level-1 launches.
    const phaseA2: Message[] = [msg(a(5), v1Closure(a(5)), now), msg(a(6), v1Closure(a(6)), now)];
    for (let i = 0; i < 5; i++) phaseA2.push(msg(`b${i}`, v1Launch(`b${i}`, { tracking_level: 1 }), now));
    // B (sent while the second backup runs): closures across the cut, new runs, a duplicate.
    const phaseB: Message[] = [15, 16, 20, 21].map((i) => msg(a(i), v1Closure(a(i)), now));
    for (let i = 0; i < 10; i++) phaseB.push(msg(`c${i}`, v1Launch(`c${i}`), now));
    phaseB.push(msg(a(5), v1Closure(a(5)), now));
    // C (after the last backup, before the disaster): the tail only Kafka holds.
    const phaseC: Message[] = [7, 17, 22].map((i) => msg(a(i), v1Closure(a(i)), now));
    for (let i = 0; i < 5; i++) phaseC.push(msg(`d${i}`, v1Launch(`d${i}`), now));
    phaseC.push(
      msg('e0', v1Closure('e0'), now),
      msg('e0', v1Launch('e0'), now),
      msg(a(1), v1Launch(a(1)), now),
    );
    const total = phaseA.length + phaseA2.length + phaseB.length + phaseC.length;

    const topics = await freshTopics(3);
    const groupId = freshName('drill-group');
    const producer: Producer = kafka('drill').producer();
    await producer.connect();
    const send = (m: Message[]) => producer.send({ topic: topics.raw, acks: -1, messages: m });
    const backupDir = await mkdtemp(join(tmpdir(), 'drill-backup-'));
    dirs.push(backupDir);

    try {
      // The first server, its aggregator, and two backups.
      const first = await startClickHouse();
      const ch1 = client(first.url);
      const http1 = { url: first.url, user: CH_USERS.admin.username, password: CH_USERS.admin.password };
      await applyMigrations(ch1, { database: DB, dir: MIGRATIONS_DIR });
      const agg1 = await startAggregator(first.url, DB, topics, groupId);
      const consumed = (n: number) =>
        eventually(async () => ((await eventsCount(ch1, DB)).distinct >= n ? true : undefined), {
          timeoutMs: 60_000,
          what: `${n} events`,
        });
      await send(phaseA);
      await consumed(phaseA.length);
      const b1 = await runBackup({ client: ch1, http: http1, database: DB, dir: backupDir });
      expect(b1.kept).toBe(0);
      expect(b1.written.map((w) => w.file.split('/')[0])).toEqual(
        expect.arrayContaining(['events', 'workflow_changes', 'schema_migrations']),
      );

      await send(phaseA2);
      await consumed(phaseA.length + phaseA2.length);
      const [b2] = await Promise.all([
        runBackup({ client: ch1, http: http1, database: DB, dir: backupDir }),
        send(phaseB),
      ]);
      // Incremental: the months nothing touched were not written again.
      expect(b2.kept).toBeGreaterThan(0);
      expect(b2.written.length).toBeGreaterThan(0);
      expect((await verifyBackup(backupDir)).problems).toEqual([]);

      await consumed(phaseA.length + phaseA2.length + phaseB.length);
      await send(phaseC);
      await consumed(total);
      await agg1.stop();
      await ch1.close();

      // The disaster: the container and its volume are gone.
      await first.stop();
      expect(await volumeExists(first.volume)).toBe(false);

      const second = await startClickHouse();
      const ch2 = client(second.url);
      const http2 = { url: second.url, user: CH_USERS.admin.username, password: CH_USERS.admin.password };
      const target = { kafka: kafka('drill-restore'), groupId, topic: topics.raw };

      // A damaged copy: found by --verify, refused by restore before anything is written.
      const damaged = await mkdtemp(join(tmpdir(), 'drill-damaged-'));
      dirs.push(damaged);
      await cp(backupDir, damaged, { recursive: true });
      const victim = (await readdir(join(damaged, 'events'))).find((f) => f.endsWith('.native.gz'));
      expect(victim).toBeDefined();
      const fh = await open(join(damaged, 'events', victim ?? ''), 'r+');
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, 20);
      await fh.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, 20);
      await fh.close();
      const v = await verifyBackup(damaged);
      expect(v.problems).toHaveLength(1);
      expect(v.problems[0]).toContain(`events/${victim}: checksum mismatch`);
      await expect(
        runRestore({
          client: ch2,
          http: http2,
          database: DB,
          dir: damaged,
          migrationsDir: MIGRATIONS_DIR,
          kafka: target,
        }),
      ).rejects.toThrow(/damaged, nothing was restored: events\/.*checksum mismatch/);
      expect(await rows(ch2, `SELECT name FROM system.databases WHERE name = '${DB}'`)).toEqual([]);

      // The committed offsets are past the backup: without moving them the tail would be lost.
      const adm = kafka('drill-admin').admin();
      await adm.connect();
      const committed = (await adm.fetchOffsets({ groupId, topics: [topics.raw] }))[0]?.partitions ?? [];
      await adm.disconnect();

      const restored = await runRestore({
        client: ch2,
        http: http2,
        database: DB,
        dir: backupDir,
        migrationsDir: MIGRATIONS_DIR,
        kafka: target,
      });
      expect(restored.lost).toEqual([]);
      const replay = (restored.offsets ?? []).reduce((n, p) => {
        const c = committed.find((x) => x.partition === p.partition);
        return n + (Number(c?.offset ?? 0) - Number(p.offset));
      }, 0);
      expect(replay).toBeGreaterThanOrEqual(phaseC.length);

      // A second restore into the now full database refuses.
      await expect(
        runRestore({
          client: ch2,
          http: http2,
          database: DB,
          dir: backupDir,
          migrationsDir: MIGRATIONS_DIR,
          kafka: target,
        }),
      ).rejects.toThrow(/already holds data .*--force/);

      // --from-events: the derived tables rebuilt from the audit trail alone (no retention ran
      // here), with its own consumer group placed after what it restored.
      const fromEventsGroup = freshName('drill-from-events');
      const fromEvents = await runRestore({
        client: ch2,
        http: http2,
        database: 'from_events',
        dir: backupDir,
        migrationsDir: MIGRATIONS_DIR,
        fromEvents: true,
        kafka: { ...target, groupId: fromEventsGroup },
      });
      expect(fromEvents.rebuiltFromEvents?.messages).toBe(restored.loaded.events?.rows);

      // Catch up from Kafka, and a reference: the whole topic ingested from scratch.
      const agg2 = await startAggregator(second.url, DB, topics, groupId);
      await applyMigrations(ch2, { database: 'reference', dir: MIGRATIONS_DIR });
      const ref = await startAggregator(second.url, 'reference', topics, freshName('drill-ref'));
      const agg3 = await startAggregator(second.url, 'from_events', topics, fromEventsGroup);
      try {
        for (const db of [DB, 'reference', 'from_events'])
          await eventually(async () => ((await eventsCount(ch2, db)).distinct >= total ? true : undefined), {
            timeoutMs: 60_000,
            what: `every message in ${db}`,
          });
        await eventually(
          async () =>
            (await rows(ch2, `SELECT workflow_id FROM ${DB}.workflows`)).length >= 53 ? true : undefined,
          { what: 'every run' },
        );
      } finally {
        await agg2.stop();
        await ref.stop();
        await agg3.stop();
      }

      const statuses = await rows<{ status: string; n: string }>(
        ch2,
        `SELECT status, toString(count()) AS n FROM ${DB}.workflows GROUP BY status ORDER BY status`,
      );
      expect(Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)]))).toEqual({
        closure_only: 1,
        completed: 21,
        launched: 5,
        running: 22,
        unfinished: 4,
      });
      // Every message exactly once in the audit trail; every run's change rows sum to one version.
      expect(await eventsCount(ch2, DB)).toEqual({ n: total, distinct: total });
      expect(
        await rows(
          ch2,
          `SELECT workflow_id, sum(sign) AS s FROM ${DB}.workflow_changes GROUP BY workflow_id HAVING s != 1`,
        ),
      ).toEqual([]);
      const runs = (db: string) => rows(ch2, `SELECT * FROM ${db}.workflows ORDER BY workflow_id`);
      const reference = await runs('reference');
      expect(await runs(DB)).toEqual(reference);
      expect(await runs('from_events')).toEqual(reference);
      expect(await rollups(ch2, 'from_events')).toEqual(await rollups(ch2, 'reference'));
      expect(await eventsCount(ch2, 'from_events')).toEqual({ n: total, distinct: total });
      expect(await rollups(ch2, DB)).toEqual(await rollups(ch2, 'reference'));
      const raw = (db: string) =>
        rows(
          ch2,
          `SELECT kafka_partition, kafka_offset, received_at, raw FROM ${db}.events ORDER BY kafka_partition, kafka_offset`,
        );
      expect(await raw(DB)).toEqual(await raw('reference'));
      await ch2.close();
      await second.stop();
      expect(await volumeExists(second.volume)).toBe(false);
    } finally {
      await producer.disconnect();
    }
  });
});
