/**
 * An existing deployment upgrades without replaying its topic: the raw topic holds records of
 * format 1 (metadata in four headers, written by relays before 2026-12), then of format 2 (the
 * envelope, schemas/src/envelope.ts), then of format 3 (packs of several envelopes). An
 * aggregator that committed part of the old records stops; a relay that does not pack sends
 * closures of half of those runs, then a relay that packs sends the other closures and new
 * launches; the aggregator starts again from its committed offsets and joins across the three
 * formats. Each receive time comes from its own record's format, and reprocess from `events`
 * rebuilds the same rows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString, readRows } from '@parsl-usage/common';
import { decodeDatagram } from '@parsl-usage/schemas';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import {
  clickHouseEventSource,
  derivedTables,
  reprocessFromEvents,
} from '@parsl-usage/ops/internal/reprocess';
import { v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';
import { clickhouse, eventually, freshDatabase, freshName, freshTopics, kafka } from './setup/env.js';
import { startAggregator } from './support/aggregator.js';
import { startRelay } from './support/relay.js';

const OLD = 40; // runs launched by format-1 records
const NEW = 20; // runs launched by format-2 records
// ms: the old records' received_at_ms header, two hours ago (within the join window), whole seconds
const OLD_AT = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;

async function n(ch: ClickHouseClient, sql: string): Promise<number> {
  const [row] = await readRows<{ n: string | number }>(ch, sql);
  return Number(row?.n ?? -1);
}

async function facts(ch: ClickHouseClient, db: string) {
  return readRows<Record<string, string>>(
    ch,
    `SELECT workflow_id, status, toString(launch_received_at) AS l, toString(closure_received_at) AS c
     FROM ${db}.workflow_versions FINAL ORDER BY workflow_id`,
  );
}

describe('raw topic: format 1, then format 2, then format 3 (packs)', () => {
  const admin = clickhouse('admin');
  afterAll(() => admin.close());

  it('joins across the formats from committed offsets, and reprocess agrees', async () => {
    const topics = await freshTopics(3);
    const db = await freshDatabase('upgrade');
    const groupId = freshName('upgrade');
    const producer = kafka('upgrade-old-relay').producer();
    await producer.connect();
    const oldIds = Array.from({ length: OLD }, (_, i) => `old-${i}`);
    const newIds = Array.from({ length: NEW }, (_, i) => `new-${i}`);
    try {
      await producer.send({
        topic: topics.raw,
        acks: -1,
        messages: oldIds.map((id, i) => ({
          key: id,
          value: v1Launch(id),
          headers: {
            received_at_ms: String(OLD_AT),
            relay_id: 'old-relay',
            protocol: 'v1',
            relay_seq: `old-${i}`,
          },
        })),
      });
    } finally {
      await producer.disconnect();
    }
    const before = await startAggregator({ database: db, topics, groupId });
    try {
      await eventually(
        async () => ((await n(admin, `SELECT count() AS n FROM ${db}.workflows`)) === OLD ? true : undefined),
        {
          what: `${OLD} format-1 launches`,
        },
      );
    } finally {
      await before.stop();
    }

    // The relay keeps running until the end: stopping it closes the socket, and datagrams still
    // in the kernel's buffer would go with it.
    // A burst falls into one produce request (50 ms batches), so the packing relay packs it.
    const unpacked = await startRelay(topics, { RELAY_PACK_MAX_DATAGRAMS: '1' });
    const packing = await startRelay(topics, { RELAY_BATCH_MAX_MS: '50' });
    const sentAt = Date.now();
    const after = await startAggregator({ database: db, topics, groupId });
    const completed = (k: number) =>
      eventually(
        async () =>
          (await n(admin, `SELECT count() AS n FROM ${db}.workflows WHERE status = 'completed'`)) === k
            ? true
            : undefined,
        { what: `${k} old runs completed by new closures` },
      );
    try {
      await unpacked.send(oldIds.slice(0, OLD / 2).map((id) => v1Closure(id)));
      await completed(OLD / 2);
      // The packing relay's first request teaches it the partition count (packing.ts).
      await packing.send([v1Closure(oldIds[OLD / 2] as string)]);
      await completed(OLD / 2 + 1);
      await packing.send([
        ...oldIds.slice(OLD / 2 + 1).map((id) => v1Closure(id)),
        ...newIds.map((id) => v1Launch(id)),
      ]);
      await completed(OLD);
      await eventually(
        async () =>
          (await n(admin, `SELECT count() AS n FROM ${db}.workflows`)) === OLD + NEW ? true : undefined,
        { what: 'new runs launched' },
      );
    } finally {
      await after.stop();
      await unpacked.stop();
      await packing.stop();
    }
    // Format 3 did land: entries past the first of their record, and every datagram once.
    expect(await n(admin, `SELECT count() AS n FROM ${db}.events WHERE kafka_index > 0`)).toBeGreaterThan(0);
    expect(
      await n(
        admin,
        `SELECT count() AS n FROM (SELECT kafka_partition, kafka_offset, kafka_index FROM ${db}.events FINAL)`,
      ),
    ).toBe(2 * OLD + NEW);

    const live = await facts(admin, db);
    const oldAt = new Date(OLD_AT).toISOString().slice(0, 19).replace('T', ' ');
    for (const f of live.filter((x) => x.workflow_id?.startsWith('old-'))) {
      expect(f.status).toBe('completed');
      // The launch's time from its header; the closure's from its envelope (alone or in a pack).
      expect(f.l).toBe(oldAt);
      expect(Date.parse(`${f.c}Z`)).toBeGreaterThanOrEqual(Math.floor(sentAt / 1000) * 1000 - 1000);
    }
    for (const f of live.filter((x) => x.workflow_id?.startsWith('new-'))) {
      expect(f.status).toBe('running'); // a level-3 launch without its closure yet
      expect(Date.parse(`${f.l}Z`)).toBeGreaterThanOrEqual(Math.floor(sentAt / 1000) * 1000 - 1000);
    }
    // `events` holds the datagrams themselves, never an envelope.
    expect(await n(admin, `SELECT count() AS n FROM ${db}.events WHERE startsWith(raw, '1{')`)).toBe(
      2 * OLD + NEW,
    );

    const tables = await readRows<{ name: string; engine: string }>(
      admin,
      `SELECT name, engine FROM system.tables WHERE database = ${quoteString(db)}`,
    );
    for (const t of derivedTables(tables)) await admin.command({ query: `TRUNCATE TABLE ${db}.${t}` });
    await reprocessFromEvents({
      source: clickHouseEventSource(admin, db),
      sink: createClickHouseSink(admin, db),
      decode: decodeDatagram,
    });
    expect(await facts(admin, db)).toEqual(live);
  });
});
