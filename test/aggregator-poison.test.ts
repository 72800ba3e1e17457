import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Producer } from 'kafkajs';
import { startAggregator } from './support/aggregator.js';
import { v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';
import { POISON_PROJECT, refusingDecode } from './support/refusing-decode.js';
import { readTopic, type TopicMessage } from './support/topics.js';
import {
  REPO_ROOT,
  clickhouse,
  clickhouseUrl,
  eventually,
  freshDatabase,
  freshName,
  freshTopics,
  kafka,
  kafkaBrokers,
} from './setup/env.js';

/**
 * Issue 12: a row ClickHouse refuses costs its own message, never the partition. The refusal is
 * the real server's (Code 25, a lone surrogate, made by refusingDecode); the aggregator must
 * isolate the message, publish it as sink_refused, land everything else exactly once, and stay
 * healthy, including when it is SIGKILLed in the middle of an isolation.
 */

interface Rejected {
  reason: string;
  partition: string;
  offset: string;
}

async function readRejected(topic: string, want: (r: Rejected[]) => boolean): Promise<Rejected[]> {
  const as = (m: TopicMessage[]): Rejected[] =>
    m.map((x) => ({
      reason: x.headers.reason ?? '',
      partition: x.headers.source_partition ?? '',
      offset: x.headers.source_offset ?? '',
    }));
  return as(await readTopic(topic, (m) => want(as(m))));
}

async function scalar(ch: ClickHouseClient, sql: string): Promise<number> {
  const rows = await (await ch.query({ query: sql, format: 'JSONEachRow' })).json<{ v: string | number }>();
  return Number(rows[0]?.v ?? NaN);
}

/** The exactness checks every test here ends with. */
async function exactness(ch: ClickHouseClient, db: string) {
  return {
    workflows: await scalar(ch, `SELECT count() AS v FROM ${db}.workflow_versions FINAL`),
    rollup: await scalar(ch, `SELECT sum(workflows) AS v FROM ${db}.rollup_daily`),
    completed: await scalar(
      ch,
      `SELECT countIf(status = 'completed') AS v FROM ${db}.workflow_versions FINAL`,
    ),
    notOne: await scalar(
      ch,
      `SELECT count() AS v FROM (SELECT workflow_id, sum(sign) AS s FROM ${db}.workflow_changes GROUP BY workflow_id) WHERE s != 1`,
    ),
    poisonStored: await scalar(
      ch,
      `SELECT count() AS v FROM ${db}.workflow_changes WHERE startsWith(project_name, '${POISON_PROJECT}')`,
    ),
  };
}

describe('aggregator: rows ClickHouse refuses are isolated', () => {
  let ch: ClickHouseClient;
  let producer: Producer;
  beforeAll(async () => {
    ch = clickhouse('admin');
    producer = kafka('poison').producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await ch.close();
  });

  it('poison launches in every partition: they go to the rejected topic, the rest lands exactly, health holds', async () => {
    const db = await freshDatabase('poison');
    const topics = await freshTopics(3);
    const at = String(Date.now());
    const good = Array.from({ length: 60 }, (_, i) => `good-${i}`);
    const poison = Array.from({ length: 6 }, (_, i) => `bad-${i}`);
    const messages = [
      ...good.flatMap((id, i) => [
        { key: id, value: v1Launch(id, { project_name: `p${i % 4}` }) },
        { key: id, value: v1Closure(id) },
      ]),
      // interleaved, so that poison and good rows share inserts
      ...poison.map((id) => ({ key: id, value: v1Launch(id, { project_name: `${POISON_PROJECT}-${id}` }) })),
    ].sort((a, b) => a.key.localeCompare(b.key));
    await producer.send({
      topic: topics.raw,
      acks: -1,
      messages: messages.map((m) => ({ ...m, headers: { received_at_ms: at } })),
    });
    const agg = await startAggregator({ database: db, topics, decode: refusingDecode });
    let unhealthy = 0;
    const watch = setInterval(() => (agg.app.isHealthy() ? undefined : unhealthy++), 100);
    try {
      await eventually(async () => ((await exactness(ch, db)).completed === good.length ? true : undefined), {
        timeoutMs: 60_000,
        what: 'every good workflow completed',
      });
      const rejected = await readRejected(topics.rejected, (r) => r.length >= poison.length);
      expect(rejected.every((r) => r.reason === 'sink_refused')).toBe(true);
      expect(new Set(rejected.map((r) => `${r.partition}:${r.offset}`)).size).toBe(poison.length);
      expect(await exactness(ch, db)).toEqual({
        workflows: good.length,
        rollup: good.length,
        completed: good.length,
        notOne: 0,
        poisonStored: 0,
      });
      expect(agg.metrics.get('aggregator_sink_refused_total', { table: 'changes' })).toBe(poison.length);
      expect(agg.metrics.get('aggregator_rejected_total', { reason: 'sink_refused' })).toBe(poison.length);
      expect(unhealthy).toBe(0);
      expect(agg.app.isHealthy()).toBe(true);
    } finally {
      clearInterval(watch);
      await agg.stop();
    }
  });

  it('SIGKILL in the middle of an isolation, restart: every good message exactly once', async () => {
    const db = await freshDatabase('poisonkill');
    const topics = await freshTopics(1);
    const at = String(Date.now());
    // One partition, one long batch with poison spread through it: the isolation takes many
    // inserts (about 2 log2(n) per poison), so the kill lands inside it.
    const n = 800;
    const poisonEvery = 100;
    const ids = Array.from({ length: n }, (_, i) => `k-${String(i).padStart(5, '0')}`);
    const isPoison = (i: number): boolean => i % poisonEvery === 50;
    await producer.send({
      topic: topics.raw,
      acks: -1,
      messages: ids.map((id, i) => ({
        key: id,
        value: v1Launch(id, {
          tracking_level: 1,
          project_name: isPoison(i) ? `${POISON_PROJECT}-${i}` : 'ok',
        }),
        headers: { received_at_ms: at },
      })),
    });
    const poisonCount = ids.filter((_, i) => isPoison(i)).length;
    const groupId = freshName('group');
    const start = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/refusing-aggregator-main.ts'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: kafkaBrokers().join(','),
          CLICKHOUSE_URL: clickhouseUrl(),
          DATABASE: db,
          RAW_TOPIC: topics.raw,
          REJECTED_TOPIC: topics.rejected,
          GROUP_ID: groupId,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return { child, output: () => out, exited };
    };

    const first = start();
    // Kill after the second refused message is found, well before the last.
    await eventually(
      () => ((first.output().match(/message refused by ClickHouse/g) ?? []).length >= 2 ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 20, what: 'two refusals logged' },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const landedAtKill = await scalar(ch, `SELECT count() AS v FROM ${db}.workflow_versions FINAL`);
    expect(landedAtKill).toBeLessThan(n - poisonCount);

    const second = start();
    try {
      await eventually(
        async () =>
          (await scalar(ch, `SELECT count() AS v FROM ${db}.workflow_versions FINAL`)) === n - poisonCount
            ? true
            : undefined,
        { timeoutMs: 90_000, what: 'every good message after the restart' },
      );
      const rejected = await readRejected(
        topics.rejected,
        (r) => new Set(r.map((x) => x.offset)).size >= poisonCount,
      );
      // At least once: a refusal published just before the kill may be published again.
      expect(new Set(rejected.map((r) => r.offset)).size).toBe(poisonCount);
      expect(rejected.every((r) => r.reason === 'sink_refused')).toBe(true);
      expect(await exactness(ch, db)).toEqual({
        workflows: n - poisonCount,
        rollup: n - poisonCount,
        completed: 0,
        notOne: 0,
        poisonStored: 0,
      });
      expect(await scalar(ch, `SELECT count() AS v FROM ${db}.events`)).toBe(n - poisonCount);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 240_000);
});
