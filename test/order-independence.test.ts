/**
 * The same datagrams give the same rows in any order (infra/DESIGN.md, "Conflicting
 * datagrams"), through real Kafka and ClickHouse: one history, conflicting copies included,
 * published in three orders over one, two and three partitions, and rebuilt by reprocessing
 * from `events` in a shuffled order. `workflows`, every analyst view over the rollups, and
 * the facts of `workflow_versions` must be identical; only the bookkeeping columns (version,
 * Kafka coordinates) may differ.
 */
import fc from 'fast-check';
import type { Message, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDatagram } from '@parsl-usage/schemas';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import {
  clickHouseEventSource,
  derivedTables,
  reprocessFromEvents,
  type EventSource,
} from '@parsl-usage/ops/internal/reprocess';
import { clickhouse, eventually, freshDatabase, freshName, freshTopics, kafka } from './setup/env.js';
import { startAggregator } from './support/aggregator.js';
import { v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';

const admin = clickhouse('admin');
let producer: Producer;
beforeAll(async () => {
  producer = kafka('order').producer();
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  await admin.close();
});

const H = 3_600_000; // ms
const DAY = 86_400_000; // ms
const DFK = 'parsl.dataflow.dflow.DataFlowKernel';
const legacy = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields));
const now = Date.now();

/** [workflow id, datagram, receive time] */
const history: Array<[string, Buffer, number]> = [
  // Parsl 0.5: the launch, the explicit cleanup's closure, then atexit's (later end, one more failure)
  [
    'p05',
    legacy({
      uuid: 'p05',
      test: false,
      parsl_v: '0.5.2',
      python_v: '3.6.5',
      os: 'Linux',
      os_v: '4.4.0',
      start: 1_530_000_000.5,
    }),
    now - 2 * H,
  ],
  [
    'p05',
    legacy({ uuid: 'p05', end: 1_530_000_600.1, t_apps: 12, sites: 1, c_time: null, failed: 0, test: false }),
    now - H,
  ],
  [
    'p05',
    legacy({ uuid: 'p05', end: 1_530_000_601.9, t_apps: 12, sites: 1, c_time: null, failed: 1, test: false }),
    now - H + 1_500,
  ],
  // protocol 1: two closures that disagree, and a copy of the first received later
  ['v1c', v1Launch('v1c', { project_name: 'alpha' }), now - 3 * H],
  ['v1c', v1Closure('v1c'), now - 2 * H],
  [
    'v1c',
    v1Closure('v1c', {
      end: 1_790_000_160,
      execution_time: 160,
      components: [{ c: DFK, app_count: 3, app_fails: 2 }],
    }),
    now - 2 * H + 2_000,
  ],
  ['v1c', v1Closure('v1c'), now - H],
  // two launches that disagree, the closure before both
  ['v1l', v1Closure('v1l'), now - 4 * H],
  ['v1l', v1Launch('v1l', { parsl_v: '2024.06.03', start: 1_789_999_000 }), now - 3 * H],
  ['v1l', v1Launch('v1l'), now - 3 * H + 5_000],
  // copies of one launch received on three days: the run's day is the first
  ['days', v1Launch('days', { tracking_level: 2 }), now - DAY],
  ['days', v1Launch('days', { tracking_level: 2 }), now - 2 * DAY],
  ['days', v1Launch('days', { tracking_level: 2 }), now],
  // closures of both generations under one id, no launch
  ['orph', v1Closure('orph', { project_name: 'beta' }), now - H],
  ['orph', legacy({ uuid: 'orph', end: 1_790_000_300, t_apps: 1, sites: 2, failed: 0 }), now - 2 * H],
  // launch and closure name different projects
  ['proj', v1Launch('proj', { project_name: 'alpha' }), now - 5 * H],
  ['proj', v1Closure('proj', { project_name: 'beta' }), now - 4 * H],
  // level 1; a level-3 launch from ten days ago (unfinished); protocol 1 before tracking levels
  ['l1', v1Launch('l1', { tracking_level: 1, components: undefined, start: undefined }), now],
  ['old', v1Launch('old'), now - 10 * DAY],
  ['p0', v1Launch('p0', { tracking_level: undefined, parsl_v: '2024.06.03' }), now - H],
  ['p0', v1Closure('p0', { execution_time: undefined }), now - H],
  // plain runs, so that every partition holds several workflows
  ...Array.from({ length: 12 }, (_, i): Array<[string, Buffer, number]> => [
    [`r${i}`, v1Launch(`r${i}`, { project_name: `p${i % 3}` }), now - i * H],
    [
      `r${i}`,
      v1Closure(`r${i}`, { components: [{ c: DFK, app_count: i, app_fails: i % 3 }] }),
      now - i * H + 60_000,
    ],
  ]).flat(),
];

/** Every datagram twice (a UDP duplicate with the same receive time). */
const messages = history.flatMap(([key, value, at]) =>
  [1, 2].map(() => ({ key, value, headers: { received_at_ms: String(at) } })),
);

/** A permutation of `xs` drawn by fast-check from `seed`, so a failure can be replayed. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const [out] = fc.sample(fc.shuffledSubarray([...xs], { minLength: xs.length, maxLength: xs.length }), {
    seed,
    numRuns: 1,
  });
  if (out?.length !== xs.length) throw new Error(`no permutation drawn (seed ${seed})`);
  return out;
}

async function text(query: string): Promise<string> {
  return (await admin.query({ query, format: 'TabSeparated' })).text();
}

const BOOKKEEPING = ['version', 'kafka_partition', 'kafka_offset'];

async function factColumns(db: string): Promise<string[]> {
  const cols = (
    await text(`SELECT name FROM system.columns WHERE database = '${db}' AND table = 'workflow_versions'`)
  )
    .split('\n')
    .filter(Boolean);
  return cols.filter((c) => !BOOKKEEPING.includes(c));
}

/** What an analyst can read (every view), and the facts of every stored version. */
async function snapshot(db: string): Promise<Record<string, string>> {
  const facts = (await factColumns(db)).join(', ');
  const out: Record<string, string> = {
    workflow_versions: await text(`SELECT ${facts} FROM ${db}.workflow_versions FINAL ORDER BY workflow_id`),
  };
  const views = (await text(`SELECT name FROM system.tables WHERE database = '${db}' AND engine = 'View'`))
    .split('\n')
    .filter(Boolean)
    .sort();
  for (const v of views) {
    // workflows_current shows the version; everything else is facts and sums of facts.
    const cols =
      v === 'workflows_current' ? facts.replace('workflow_id, ', 'workflow_id, stored_status, ') : '*';
    out[v] = await text(`SELECT ${cols} FROM ${db}.${v} ORDER BY tuple(*)`);
  }
  return out;
}

/**
 * The change log cancels to exactly the stored rows: grouping its rows by every fact, the
 * signs sum to 1 for each workflow's current row and to 0 for everything else. Every rollup
 * is a sum of sign * f(row), so each equals the same query over `workflows`.
 */
async function expectExactRetractions(db: string): Promise<void> {
  const facts = (await factColumns(db)).join(', ');
  const net = await text(
    `SELECT ${facts}, sum(sign) AS n FROM ${db}.workflow_changes GROUP BY ${facts} HAVING n != 0 ORDER BY workflow_id`,
  );
  const current = await text(`SELECT ${facts}, 1 FROM ${db}.workflow_versions FINAL ORDER BY workflow_id`);
  expect(net).toBe(current);
}

/** Publishes `msgs` in order, one send per message so the order in each partition is exactly this one. */
async function publish(topic: string, msgs: Message[]): Promise<void> {
  for (let i = 0; i < msgs.length; i += 50) {
    await producer.send({ topic, acks: -1, messages: msgs.slice(i, i + 50) });
  }
}

async function consume(db: string, topics: { raw: string; rejected: string }, maxOpenWorkflows?: number) {
  const agg = await startAggregator({
    database: db,
    topics,
    groupId: freshName('group'),
    ...(maxOpenWorkflows === undefined ? {} : { maxOpenWorkflows }),
  });
  try {
    await eventually(
      () => (agg.metrics.get('aggregator_messages_total') >= messages.length ? true : undefined),
      {
        what: `every message consumed into ${db}`,
        timeoutMs: 90_000,
      },
    );
  } finally {
    await agg.stop();
  }
}

const runs: Array<{ name: string; db: string }> = [];

describe('the same datagrams give the same rows in any order', () => {
  beforeAll(async () => {
    const ids = [...new Set(history.map(([id]) => id))];
    const orders = [
      // as scripted, one partition
      { name: 'scripted', partitions: 1, msgs: messages, maxOpen: undefined },
      // reversed (closures before launches, later copies first), ids spread over two partitions by hand
      {
        name: 'reversed',
        partitions: 2,
        msgs: [...messages].reverse().map((m) => ({ ...m, partition: ids.indexOf(m.key) % 2 })),
        maxOpen: undefined,
      },
      // shuffled over three partitions by key; one open workflow in memory, so nearly every
      // update merges into a row read back from ClickHouse
      { name: 'shuffled', partitions: 3, msgs: shuffled(messages, 18), maxOpen: 1 },
    ];
    // Topics one after another (concurrent creation races the broker's metadata); consumers together.
    const ready: Array<{
      name: string;
      db: string;
      topics: { raw: string; rejected: string };
      maxOpen?: number;
    }> = [];
    for (const o of orders) {
      const db = await freshDatabase(`order_${o.name}`);
      const topics = await freshTopics(o.partitions);
      await publish(topics.raw, o.msgs);
      ready.push({ name: o.name, db, topics, ...(o.maxOpen === undefined ? {} : { maxOpen: o.maxOpen }) });
    }
    await Promise.all(ready.map((r) => consume(r.db, r.topics, r.maxOpen)));
    runs.push(...ready.map(({ name, db }) => ({ name, db })));
    runs.sort((a, b) => a.name.localeCompare(b.name));
  });

  it('three orders and partitionings: identical workflows, facts and views', async () => {
    const [first, ...rest] = await Promise.all(runs.map((r) => snapshot(r.db)));
    expect(first?.workflows?.split('\n').filter(Boolean)).toHaveLength(
      new Set(history.map(([id]) => id)).size,
    );
    expect(Object.keys(first ?? {})).toEqual(
      expect.arrayContaining([
        'workflows',
        'workflow_versions',
        'daily_workflows',
        'components_daily',
        'leaderboard',
      ]),
    );
    for (const s of rest) expect(s).toEqual(first);
  });

  it('the rules hold end to end', async () => {
    const db = runs[0]?.db ?? '';
    const rows = await (
      await admin.query({
        query: `SELECT workflow_id, protocol, parsl_version, project_name, app_count, app_fails, ended_at, execution_time_s, day,
                       status FROM ${db}.workflows WHERE workflow_id IN ('p05', 'v1c', 'v1l', 'days', 'orph', 'proj')
                ORDER BY workflow_id`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, unknown>>();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    expect(
      rows.map((r) => [r.workflow_id, r.protocol, r.parsl_version, r.project_name, String(r.app_fails)]),
    ).toEqual([
      ['days', 'v1', '2025.03.17', '', 'null'],
      ['orph', 'v1', '', 'beta', '1'],
      ['p05', 'legacy', '0.5.2', '', '1'], // atexit's closure: later end, one more failure
      ['proj', 'v1', '2025.03.17', 'beta', '1'],
      ['v1c', 'v1', '2025.03.17', 'alpha', '2'],
      ['v1l', 'v1', '2025.03.17', '', '1'], // the launch with the later start
    ]);
    const byId = new Map(rows.map((r) => [r.workflow_id, r]));
    expect(byId.get('p05')?.ended_at).toBe('2018-06-26 08:10:01');
    expect(byId.get('v1c')).toMatchObject({ ended_at: '2026-09-21 14:16:00', execution_time_s: 160 });
    expect(byId.get('days')?.day).toBe(day(now - 2 * DAY));
  });

  it('retractions are exact in every order', async () => {
    for (const r of runs) await expectExactRetractions(r.db);
  });

  it('reprocessing from events in a shuffled order rebuilds the same rows as the live path', async () => {
    const run = runs.find((r) => r.name === 'shuffled');
    if (run === undefined) throw new Error('no shuffled run');
    const db = run.db;
    const live = await snapshot(db);
    const tables = await (
      await admin.query({
        query: `SELECT name, engine FROM system.tables WHERE database = '${db}'`,
        format: 'JSONEachRow',
      })
    ).json<{ name: string; engine: string }>();
    for (const t of derivedTables(tables)) await admin.command({ query: `TRUNCATE TABLE ${db}.${t}` });
    expect(await text(`SELECT count() FROM ${db}.workflow_versions`)).toBe('0\n');

    // The audit table's rows, served in another order: partitions last to first, each
    // partition's messages shuffled, in pages of four.
    const inner = clickHouseEventSource(admin, db);
    const served = new Map<number, { all: Awaited<ReturnType<EventSource['page']>>; at: number }>();
    const source: EventSource = {
      partitions: async () => (await inner.partitions()).reverse(),
      page: async (partition, _after, limit) => {
        let p = served.get(partition);
        if (p === undefined) {
          p = { all: shuffled(await inner.page(partition, -1n, 1_000_000), partition + 7), at: 0 };
          served.set(partition, p);
        }
        const page = p.all.slice(p.at, p.at + Math.min(limit, 4));
        p.at += page.length;
        return page;
      },
    };
    const r = await reprocessFromEvents({
      source,
      sink: createClickHouseSink(admin, db),
      decode: decodeDatagram,
    });
    expect(r.messages).toBe(messages.length);
    expect(await snapshot(db)).toEqual(live);
    await expectExactRetractions(db);
    // and the same as the other live orders
    const other = runs.find((x) => x.name === 'scripted');
    if (other) expect(await snapshot(other.db)).toEqual(live);
  });
});
