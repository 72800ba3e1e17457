import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { ClickHouseClient } from '@clickhouse/client';
import { Metrics } from '@parsl-usage/common';
import { decodeDatagram, type UsageEvent, type WorkflowChangeRow } from '@parsl-usage/schemas';
import {
  createClickHouseSink,
  type WorkflowSink,
} from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { TransientError } from '@parsl-usage/aggregator/internal/errors';
import type { BatchContext } from '@parsl-usage/aggregator/internal/ports';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import { Serial } from '@parsl-usage/aggregator/internal/pipeline/serial';
import { insertChangesOnce, rangeOf } from '@parsl-usage/aggregator/internal/sink/sink-retry';
import { loadViewDefinitions } from '@parsl-usage/aggregator/internal/repair/view-definitions';
import { ViewRepairer } from '@parsl-usage/aggregator/internal/repair/view-repair';
import {
  applyEvent,
  changeRows,
  type WorkflowState,
} from '@parsl-usage/aggregator/internal/join/workflow-state';
import { viewDisagreements } from '@parsl-usage/kit/view-check';
import { clickhouse, freshDatabase, MIGRATIONS_DIR } from './setup/env.js';

/**
 * The view repair on the real ClickHouse (issue 14): change rows that landed without some of
 * their views' rows (a server killed between the parts of one insert) are found and completed,
 * and a second look finds nothing to do. (The test databases are open to `admin` only; the
 * `ingest` user's access to what the repair reads outside its database is checked apart.) The lost
 * view rows are made by detaching views around an insert, which leaves exactly the state a
 * kill between the source part and the view parts leaves.
 */

const DAY_MS = 86_400_000; // ms
const T0 = Date.UTC(2026, 9, 30, 12); // ms: two days before a month boundary

let offset = 0;
function launch(
  id: string,
  at: number,
  project: string,
  where = { partition: 0, offset: ++offset },
): UsageEvent {
  const datagram =
    '1' +
    JSON.stringify({
      correlator: id,
      parsl_v: '2025.03.17',
      python_v: '3.12.1',
      'platform.system': 'Linux',
      tracking_level: 3,
      project_name: project,
      components: ['parsl.executors.HighThroughputExecutor', 'parsl.providers.SlurmProvider'],
      start: at / 1000 - 5,
    });
  const out = decodeDatagram(Buffer.from(datagram), {
    receivedAtMs: at,
    kafkaPartition: where.partition,
    kafkaOffset: String(where.offset),
  });
  if (out.kind !== 'ok') throw new Error(`launch rejected: ${out.detail}`);
  return out.event;
}

function closure(id: string, at: number): UsageEvent {
  const datagram =
    '1' +
    JSON.stringify({
      correlator: id,
      end: at / 1000,
      execution_time: 42,
      components: [{ c: 'parsl.dataflow.dflow.DataFlowKernel', app_count: 3, app_fails: 1 }],
    });
  const out = decodeDatagram(Buffer.from(datagram), {
    receivedAtMs: at,
    kafkaPartition: 0,
    kafkaOffset: String(++offset),
  });
  if (out.kind !== 'ok') throw new Error(`closure rejected: ${out.detail}`);
  return out.event;
}

/** Applies events to the states held, returning the change rows as the aggregator makes them. */
function apply(held: Map<string, WorkflowState>, events: UsageEvent[]): WorkflowChangeRow[] {
  const rows: WorkflowChangeRow[] = [];
  for (const e of events) {
    const prev = held.get(e.workflowId) ?? null;
    const r = applyEvent(prev, e);
    if (!r.changed) continue;
    held.set(e.workflowId, r.next);
    rows.push(...changeRows(prev, r.next, { kafkaPartition: e.kafkaPartition, kafkaOffset: e.kafkaOffset }));
  }
  return rows;
}

const ctx: BatchContext = {
  partition: 0,
  heartbeat: () => Promise.resolve(),
  isActive: () => true,
  commit: () => Promise.resolve(),
};

describe('view repair against real ClickHouse', () => {
  let db: string;
  let admin: ClickHouseClient;
  let ingest: ClickHouseClient;
  let sink: WorkflowSink;
  let targets: RollupTarget[];
  let repairer: ViewRepairer;
  let metrics: Metrics;
  const serial = new Serial();
  const held = new Map<string, WorkflowState>();

  beforeAll(async () => {
    db = await freshDatabase('viewrepair');
    admin = clickhouse('admin');
    ingest = clickhouse('ingest');
    sink = createClickHouseSink(admin, db, { migrationsDir: MIGRATIONS_DIR });
    targets = (await loadViewDefinitions(db, MIGRATIONS_DIR)).targets;
    metrics = new Metrics();
    repairer = new ViewRepairer({
      views: () => sink.views(),
      serial,
      metrics,
      logger: pino({ level: 'silent' }),
      now: Date.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      settleMs: 300, // ms
      giveUpAfterMs: 30_000, // ms
    });
    // History that landed whole: 30 runs over three days, half of them closed.
    const events: UsageEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(launch(`h${i}`, T0 - (i % 3) * DAY_MS, `proj${i % 4}`));
    for (let i = 0; i < 30; i += 2) events.push(closure(`h${i}`, T0 + 60_000));
    await sink.insertChanges(apply(held, events));
  });
  afterAll(async () => {
    await admin.close();
    await ingest.close();
  });

  const views = (names: string[]) => names.map((n) => `${db}.${n}`);
  const detach = async (names: string[]) => {
    for (const v of views(names)) await admin.command({ query: `DETACH TABLE ${v}` });
  };
  const attach = async (names: string[]) => {
    for (const v of views(names)) await admin.command({ query: `ATTACH TABLE ${v}` });
  };
  const allViews = () => [...targets.map((t) => t.view), 'workflow_versions_mv'];

  /** Keys where a target differs from its view over every change row held (none when exact). */
  const disagreements = () => viewDisagreements(admin, db, MIGRATIONS_DIR);

  it('the ingest user may read the replication queue the repair waits on', async () => {
    const rs = await ingest.query({
      query: `SELECT count() AS n FROM system.replicas WHERE database = 'parsl_usage' AND queue_size > 0`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: '0' }]);
  });

  it('the history is exact before any fault', async () => {
    expect(await disagreements()).toEqual({});
  });

  it('finds the views an insert lost, completes them once, and then finds nothing', async () => {
    const lost = [
      'rollup_daily_mv',
      'rollup_daily_component_mv',
      'rollup_project_mv',
      'workflow_versions_mv',
    ];
    // New runs and closures of stored ones: retractions too, so a repair must subtract as well as add.
    const batch = apply(held, [
      launch('b1', T0, 'proj1'),
      launch('b2', T0 + DAY_MS, 'projB'),
      closure('h1', T0 + 120_000),
      closure('h3', T0 + 120_000),
    ]);
    await detach(lost);
    try {
      await sink.insertChanges(batch);
    } finally {
      await attach(lost);
    }
    const broken = await disagreements();
    expect(Object.keys(broken).sort()).toEqual([
      'rollup_daily',
      'rollup_daily_component',
      'rollup_project',
      'workflow_versions',
    ]);

    const out = await repairer.repair(ctx, rangeOf(0, batch));
    expect(out.kind).toBe('repaired');
    if (out.kind !== 'repaired') return;
    expect(out.versions).toBe(broken.workflow_versions);
    expect(out.targets.map((t) => t.target).sort()).toEqual([
      'rollup_daily',
      'rollup_daily_component',
      'rollup_project',
    ]);
    expect(await disagreements()).toEqual({});
    expect((await sink.lookup(['b1', 'b2', 'h1', 'h3'])).size).toBe(4);

    expect(await repairer.repair(ctx, rangeOf(0, batch))).toEqual({ kind: 'clean' });
    expect(metrics.get('aggregator_view_checks_total', { outcome: 'repaired' })).toBe(1);
    expect(metrics.get('aggregator_view_checks_total', { outcome: 'clean' })).toBe(1);
  });

  it('a run at offset 0 (version 0) whose version the cut lost is found and completed', async () => {
    const batch = apply(held, [launch('zero', T0, 'proj0', { partition: 2, offset: 0 })]);
    expect(batch[0]?.version).toBe('0');
    await detach(['workflow_versions_mv']);
    try {
      await sink.insertChanges(batch);
    } finally {
      await attach(['workflow_versions_mv']);
    }
    expect(await disagreements()).toEqual({ workflow_versions: 1 });
    const out = await repairer.repair({ ...ctx, partition: 2 }, rangeOf(2, batch));
    expect(out).toEqual({ kind: 'repaired', versions: 1, targets: [] });
    expect(await disagreements()).toEqual({});
    expect((await sink.lookup(['zero'])).get('zero')?.version).toBe('0');
  });

  it('an insert over two months cut after its first part: the rest is inserted, every view completed', async () => {
    // Closures of runs launched in October, and runs launched on 1 November: two source parts.
    const batch = apply(held, [
      closure('h5', T0 + 3 * DAY_MS),
      launch('c1', T0 + 2 * DAY_MS, 'projC'),
      closure('h7', T0 + 3 * DAY_MS),
      launch('c2', T0 + 2 * DAY_MS, 'projC'),
    ]);
    const months = new Set(batch.map((r) => r.day.slice(0, 7)));
    expect(months.size).toBe(2);
    const first = batch.filter((r) => r.day.startsWith('2026-10'));
    // The kill: the first month's source part committed, no view part yet.
    await detach(allViews());
    try {
      await sink.insertChanges(first);
    } finally {
      await attach(allViews());
    }
    expect(Object.keys(await disagreements()).length).toBeGreaterThan(0);
    let attempts = 0;
    await insertChangesOnce(
      {
        sink,
        metrics,
        logger: pino({ level: 'silent' }),
        now: Date.now,
        insertMissing: (rows) => serial.run(() => sink.insertChanges(rows)),
        repair: (c, r) => repairer.repair(c, r),
      },
      ctx,
      batch,
      () => {
        attempts++;
        return Promise.reject(new TransientError('socket hang up'));
      },
    );
    expect(attempts).toBe(1);
    expect((await sink.storedChanges(rangeOf(0, batch))).size).toBe(batch.length);
    expect(await disagreements()).toEqual({});
    const [n] = await (
      await admin.query({
        query: `SELECT toString(sum(workflows)) AS r, (SELECT toString(count()) FROM ${db}.workflow_versions FINAL) AS w FROM ${db}.rollup_daily`,
        format: 'JSONEachRow',
      })
    ).json<{ r: string; w: string }>();
    expect(n?.r).toBe(n?.w);
  });
});
