import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clickhouse, eventually, freshDatabase, freshName, freshTopics } from './setup/env.js';
import { goodRuns, hostileCorpus, type Case } from './support/hostile-corpus.js';
import { aggregatorEnv, relayEnv } from './support/pipeline.js';
import { readTopic } from './support/topics.js';
import {
  freeTcpPort,
  freeUdpPort,
  sendUdp,
  spawnService,
  type ServiceProcess,
} from '@parsl-usage/kit/processes';

/**
 * Issue 12, end to end on the real pipeline (relay and aggregator processes, Kafka,
 * ClickHouse): a corpus of nasty datagrams interleaved with honest runs. Every honest run
 * lands; every nasty datagram is stored exactly as the rules say or rejected with its reason
 * at its stage; the relay's and the aggregator's counters reconcile with the topics and the
 * tables; the aggregator stays healthy throughout.
 */

interface Rejected {
  stage: 'relay' | 'aggregator';
  reason: string;
  value: Buffer;
}

async function readRejected(topic: string, until: (n: number) => boolean): Promise<Rejected[]> {
  const got = await readTopic(topic, (m) => until(m.length));
  return got.map((m) => ({
    stage: m.headers.stage === 'aggregator' ? 'aggregator' : 'relay',
    reason: m.headers.reason ?? '',
    value: m.value,
  }));
}

async function metricsOf(port: number): Promise<(name: string, labels?: string) => number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return (name, labels) => {
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
      if (labels !== undefined && !rest.includes(labels)) continue;
      sum += Number(line.split(' ').pop());
    }
    return sum;
  };
}

describe('hostile datagrams through the whole pipeline', () => {
  const admin = clickhouse('admin');
  const procs: ServiceProcess[] = [];
  const spoolDir = mkdtempSync(join(tmpdir(), 'hostile-spool-'));
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await admin.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('every good run lands, every nasty datagram is stored exactly or rejected with its reason, counters reconcile', async () => {
    const database = await freshDatabase('hostile');
    const topics = await freshTopics(3);
    const udpPort = await freeUdpPort();
    const relayHttp = await freeTcpPort();
    const aggHttp = await freeTcpPort();
    const relay = spawnService(
      'relay',
      relayEnv({
        udpPort,
        httpPort: relayHttp,
        topics,
        spoolDir,
        // one source sends everything here
        extra: { RELAY_RATE_PER_SOURCE: '100000', RELAY_BURST_PER_SOURCE: '100000' },
      }),
    );
    const aggregator = spawnService('aggregator', aggregatorEnv({ httpPort: aggHttp, topics, database }));
    procs.push(relay, aggregator);
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${aggHttp}/healthz`)).ok ? true : undefined),
      { timeoutMs: 60_000, what: 'aggregator healthy' },
    );
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${relayHttp}/healthz`)).ok ? true : undefined),
      { timeoutMs: 60_000, what: 'relay healthy' },
    );
    let unhealthy = 0;
    const watch = setInterval(() => {
      fetch(`http://127.0.0.1:${aggHttp}/healthz`).then(
        (r) => (r.ok ? undefined : unhealthy++),
        () => unhealthy++,
      );
    }, 250);

    try {
      const now = Date.now();
      const prefix = freshName('h');
      const corpus = hostileCorpus(prefix, now);
      const good = goodRuns(prefix, 40, now);
      // Interleaved: a nasty datagram between honest ones, so they share batches and inserts.
      const sends: Buffer[] = [];
      const goodDatagrams = good.flatMap((g) => g.datagrams);
      for (let i = 0; i < Math.max(goodDatagrams.length, corpus.length); i++) {
        const g = goodDatagrams[i];
        const c = corpus[i];
        if (g) sends.push(g);
        if (c) sends.push(c.bytes);
      }
      await sendUdp(udpPort, sends);

      // Every honest run lands with its status.
      const ids = good.map((g) => `'${g.id}'`).join(',');
      const statuses = await eventually(
        async () => {
          const rows = await (
            await admin.query({
              query: `SELECT workflow_id, status FROM ${database}.workflows WHERE workflow_id IN (${ids})`,
              format: 'JSONEachRow',
            })
          ).json<{ workflow_id: string; status: string }>();
          return rows.length === good.length && rows.every((r) => r.status !== 'running')
            ? new Map(rows.map((r) => [r.workflow_id, r.status]))
            : undefined;
        },
        { timeoutMs: 60_000, what: 'every good run' },
      );
      for (const g of good) expect(statuses.get(g.id), g.id).toBe(g.status);

      // Every nasty datagram meant to be stored is stored exactly as the rules say.
      const storedCases = corpus.filter(
        (c): c is Case & { expect: { kind: 'stored' } } => c.expect.kind === 'stored',
      );
      for (const c of storedCases) {
        const { id, columns } = c.expect;
        const [row] = await (
          await admin.query({
            query: `SELECT ${Object.keys(columns).join(', ')} FROM ${database}.workflows WHERE workflow_id = '${id}'`,
            format: 'JSONEachRow',
          })
        ).json<Record<string, unknown>>();
        expect(row, c.name).toEqual(columns);
      }

      // Every nasty datagram meant to be rejected is in the rejected topic with its reason and stage.
      const rejectedCases = corpus.filter((c) => c.expect.kind === 'rejected');
      const rejected = await readRejected(topics.rejected, (n) => n >= rejectedCases.length);
      expect(rejected).toHaveLength(rejectedCases.length);
      for (const c of rejectedCases) {
        const sent = c.bytes.subarray(0, 2048); // RELAY_REJECTED_MAX_BYTES
        const found = rejected.filter((r) => r.value.equals(sent) || r.value.equals(c.bytes));
        expect(
          found.map((r) => ({ stage: r.stage, reason: r.reason })),
          c.name,
        ).toEqual([
          { stage: (c.expect as { stage: string }).stage, reason: (c.expect as { reason: string }).reason },
        ]);
      }

      // The counters reconcile with what was sent, the topics and the tables.
      const r = await metricsOf(relayHttp);
      const a = await metricsOf(aggHttp);
      const relayRejected = rejectedCases.filter(
        (c) => c.expect.kind === 'rejected' && c.expect.stage === 'relay',
      ).length;
      expect(r('relay_received_total')).toBe(sends.length);
      expect(r('relay_rejected_total')).toBe(relayRejected);
      expect(r('relay_accepted_total')).toBe(sends.length - relayRejected);
      expect(r('relay_rate_limited_total') + r('relay_dropped_total')).toBe(0);
      const raw = sends.length - relayRejected;
      await eventually(
        async () => ((await metricsOf(aggHttp))('aggregator_messages_total') >= raw ? true : undefined),
        {
          timeoutMs: 30_000,
          what: 'aggregator consumed the raw topic',
        },
      );
      const a2 = await metricsOf(aggHttp);
      expect(a2('aggregator_messages_total')).toBe(raw);
      const events = await (
        await admin.query({ query: `SELECT count() AS n FROM ${database}.events`, format: 'JSONEachRow' })
      ).json<{ n: string }>();
      expect(a2('aggregator_rejected_total') + Number(events[0]?.n)).toBe(raw);
      expect(a2('aggregator_rejected_total')).toBe(rejectedCases.length - relayRejected);
      expect(a('aggregator_sink_refused_total')).toBe(0);
      // Rollups equal workflows.
      const [totals] = await (
        await admin.query({
          query: `SELECT (SELECT sum(workflows) FROM ${database}.rollup_daily) AS rollup,
                         (SELECT count() FROM ${database}.workflows) AS workflows`,
          format: 'JSONEachRow',
        })
      ).json<{ rollup: string; workflows: string }>();
      expect(Number(totals?.rollup)).toBe(Number(totals?.workflows));
      expect(unhealthy).toBe(0);
    } finally {
      clearInterval(watch);
    }
  }, 180_000);
});
