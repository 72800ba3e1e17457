import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { clickhouse, eventually, freshDatabase, freshTopics, kafka } from './setup/env.js';
import { startAggregator } from './support/aggregator.js';
import { legacyClosure, legacyLaunch, v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';

const admin = clickhouse('admin');
let producer: Producer;

beforeAll(async () => {
  producer = kafka('test-producer').producer();
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  await admin.close();
});

async function send(topic: string, messages: Array<[string, Buffer]>): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: messages.map(([key, value]) => ({
      key,
      value,
      headers: { received_at_ms: String(Date.now()) },
    })),
  });
}

async function rows<T>(query: string): Promise<T[]> {
  return (await admin.query({ query, format: 'JSONEachRow' })).json<T>();
}

async function statusCounts(db: string): Promise<Record<string, number>> {
  const r = await rows<{ status: string; n: string }>(
    `SELECT status, sum(sign) AS n FROM ${db}.workflow_changes GROUP BY status HAVING n != 0 ORDER BY status`,
  );
  return Object.fromEntries(r.map((x) => [x.status, Number(x.n)]));
}

async function totalSign(db: string): Promise<number> {
  const [r] = await rows<{ n: string }>(`SELECT sum(sign) AS n FROM ${db}.workflow_changes`);
  return Number(r?.n ?? 0);
}

describe('aggregator against real Kafka and ClickHouse', () => {
  it('joins launch and closure of every protocol, counts each run once, rejects garbage', async () => {
    const db = await freshDatabase('agg');
    const topics = await freshTopics(3);
    await send(topics.raw, [
      ['a', v1Launch('a')],
      ['b', v1Closure('b')],
      ['c', v1Launch('c', { tracking_level: 1, components: undefined, start: undefined })],
      ['a', v1Closure('a')],
      ['a', v1Launch('a')],
      ['d', legacyLaunch('d')],
      ['d', legacyClosure('d')],
      ['b', v1Launch('b')],
      ['x', Buffer.from('1{"correlator": ')],
    ]);
    const agg = await startAggregator({ database: db, topics });
    try {
      const counts = await eventually(
        async () => {
          const c = await statusCounts(db);
          return (c.completed ?? 0) === 3 ? c : undefined;
        },
        { what: 'three completed workflows' },
      );
      expect(counts).toEqual({ completed: 3, launched: 1 });
      // The change log's part becomes visible a moment before the parts its views wrote: poll both.
      await eventually(
        async () =>
          (await rows(`SELECT 1 FROM ${db}.workflow_versions FINAL`)).length === 4 ? true : undefined,
        { what: 'four workflow rows' },
      );
      const wf = await rows<{
        workflow_id: string;
        status: string;
        app_count: string;
        app_fails: string;
        executors: string[];
      }>(
        `SELECT workflow_id, status, app_count, app_fails, executors FROM ${db}.workflow_versions FINAL ORDER BY workflow_id`,
      );
      expect(wf.map((w) => [w.workflow_id, w.status, Number(w.app_count), Number(w.app_fails)])).toEqual([
        ['a', 'completed', 3, 1],
        ['b', 'completed', 3, 1],
        ['c', 'launched', 0, 0],
        ['d', 'completed', 7, 2],
      ]);
      expect(wf[0]?.executors).toEqual(['parsl.executors.high_throughput.executor.HighThroughputExecutor']);
      await eventually(
        () => (agg.metrics.get('aggregator_rejected_total', { reason: 'bad_json' }) === 1 ? true : undefined),
        {
          what: 'the rejection to be published',
        },
      );
    } finally {
      await agg.stop();
    }
  });

  it('a replay of whole partitions (crash before commit) changes no number', async () => {
    const db = await freshDatabase('replay');
    const topics = await freshTopics(3);
    const ids = Array.from({ length: 60 }, (_, i) => `wf-${i}`);
    await send(
      topics.raw,
      ids.map((id) => [id, v1Launch(id)]),
    );
    await send(
      topics.raw,
      ids.filter((_, i) => i % 2 === 0).map((id) => [id, v1Closure(id)]),
    );

    const first = await startAggregator({ database: db, topics });
    await eventually(
      async () =>
        (await totalSign(db)) === 60 && (await statusCounts(db)).completed === 30 ? true : undefined,
      {
        what: 'first pass',
      },
    );
    await first.stop();
    const before = await statusCounts(db);
    const [{ n: rowsBefore } = { n: '0' }] = await rows<{ n: string }>(
      `SELECT count() AS n FROM ${db}.workflow_changes`,
    );

    // A new group has no committed offsets: it re-reads every partition from the start,
    // exactly what a crash between the insert and the commit does to the tail of a batch.
    const replay = await startAggregator({ database: db, topics });
    try {
      await eventually(
        () => (replay.metrics.get('aggregator_replayed_skipped_total') >= 90 ? true : undefined),
        {
          what: 'the replay to be read',
        },
      );
      expect(await statusCounts(db)).toEqual(before);
      const [{ n: rowsAfter } = { n: '0' }] = await rows<{ n: string }>(
        `SELECT count() AS n FROM ${db}.workflow_changes`,
      );
      expect(rowsAfter).toBe(rowsBefore);
      // The audit trail holds every decoded message once, replay or not.
      const [ev] = await rows<{ n: string; u: string }>(
        `SELECT count() AS n, uniqExact(kafka_partition, kafka_offset) AS u FROM ${db}.events`,
      );
      expect([Number(ev?.n), Number(ev?.u)]).toEqual([90, 90]);
      // Late closures after the restart join through ClickHouse, not memory.
      await send(
        topics.raw,
        ids.filter((_, i) => i % 2 === 1).map((id) => [id, v1Closure(id)]),
      );
      await eventually(async () => ((await statusCounts(db)).completed === 60 ? true : undefined), {
        what: 'late closures',
      });
      expect(await statusCounts(db)).toEqual({ completed: 60 });
      expect(await totalSign(db)).toBe(60);
    } finally {
      await replay.stop();
    }
  });

  it('joins a closure that arrives after its launch left the window', async () => {
    const db = await freshDatabase('late');
    const topics = await freshTopics(1);
    let skewMs = 0; // the aggregator's clock, moved instead of waiting out the window
    const agg = await startAggregator({
      database: db,
      topics,
      windowMs: 1_000,
      maxOpenWorkflows: 1,
      now: () => Date.now() + skewMs,
    });
    try {
      await send(topics.raw, [
        ['late-1', v1Launch('late-1')],
        ['other', v1Launch('other')],
      ]);
      await eventually(async () => ((await totalSign(db)) === 2 ? true : undefined), { what: 'launches' });
      await eventually(() => (agg.metrics.get('aggregator_inserts_total') >= 1 ? true : undefined));
      skewMs = 5_000;
      await send(topics.raw, [['other', v1Closure('other')]]);
      await send(topics.raw, [['late-1', v1Closure('late-1')]]);
      await eventually(async () => ((await statusCounts(db)).completed === 2 ? true : undefined), {
        what: 'late joins',
      });
      expect(await statusCounts(db)).toEqual({ completed: 2 });
    } finally {
      await agg.stop();
    }
  });
});
