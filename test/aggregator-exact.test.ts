import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { clickhouse, eventually, freshDatabase, freshName, freshTopics, kafka } from './setup/env.js';
import { startAggregator } from './support/aggregator.js';
import { legacyClosure, legacyLaunch, v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';

const admin = clickhouse('admin');
let producer: Producer;
beforeAll(async () => {
  producer = kafka('exact').producer();
  await producer.connect();
});
afterAll(async () => {
  await producer.disconnect();
  await admin.close();
});

const DAY_MS = 86_400_000;

interface Row {
  workflow_id: string;
  status: string;
  protocol: string;
  tracking_level: number;
  parsl_version: string;
  project_name: string;
  app_count: string | null;
  app_fails: string | null;
  execution_time_s: number | null;
  ended_at: string | null;
}

async function workflows(db: string): Promise<Row[]> {
  return (
    await admin.query({
      query: `SELECT workflow_id, status, protocol, tracking_level, parsl_version, project_name, app_count, app_fails,
                     execution_time_s, ended_at
              FROM ${db}.workflows ORDER BY workflow_id`,
      format: 'JSONEachRow',
    })
  ).json<Row>();
}

const now = Date.now();
/** [key, datagram, receive time]: every run of the scripted history, each datagram sent three times. */
const history: Array<[string, Buffer, number]> = [
  // launch then closure
  ['lc', v1Launch('lc', { project_name: 'alpha' }), now],
  ['lc', v1Closure('lc'), now + 1_000],
  // closure then launch: the same run
  ['cl', v1Closure('cl', { project_name: 'beta' }), now],
  ['cl', v1Launch('cl'), now + 1_000],
  // a level-3 launch whose closure never came, launched ten days ago: unfinished
  ['old', v1Launch('old'), now - 10 * DAY_MS],
  // a level-3 launch from today still waiting: running
  ['new', v1Launch('new'), now],
  // an orphan closure
  ['orphan', v1Closure('orphan'), now],
  // level 1: no closure expected
  ['l1', v1Launch('l1', { tracking_level: 1, components: undefined, start: undefined }), now],
  // legacy generation, and protocol 1 before tracking levels (2024.06.03)
  ['leg', legacyLaunch('leg'), now],
  ['leg', legacyClosure('leg'), now],
  ['p0', v1Launch('p0', { tracking_level: undefined, parsl_v: '2024.06.03' }), now],
  ['p0', v1Closure('p0', { execution_time: undefined }), now],
];

const expected = [
  ['cl', 'completed', 'v1', 3, '2025.03.17', 'beta', '3', '1', 100],
  ['l1', 'launched', 'v1', 1, '2025.03.17', '', null, null, null],
  ['lc', 'completed', 'v1', 3, '2025.03.17', 'alpha', '3', '1', 100],
  ['leg', 'completed', 'legacy', 0, '1.2.0', '', '7', '2', null],
  ['new', 'running', 'v1', 3, '2025.03.17', '', null, null, null],
  ['old', 'unfinished', 'v1', 3, '2025.03.17', '', null, null, null],
  ['orphan', 'closure_only', 'v1', 0, '', '', '3', '1', 100],
  ['p0', 'completed', 'v1', 0, '2024.06.03', '', '3', '1', null],
];

const tuple = (r: Row) => [
  r.workflow_id,
  r.status,
  r.protocol,
  Number(r.tracking_level),
  r.parsl_version,
  r.project_name,
  r.app_count === null ? null : String(r.app_count),
  r.app_fails === null ? null : String(r.app_fails),
  r.execution_time_s === null ? null : Number(r.execution_time_s),
];

describe('aggregator: exact numbers in workflows', () => {
  it('every ordering, duplicate, generation and status; then a consumer-group reset changes nothing', async () => {
    const db = await freshDatabase('exact');
    const topics = await freshTopics(3);
    const messages = history.flatMap(([key, value, at]) =>
      [1, 2, 3].map(() => ({ key, value, headers: { received_at_ms: String(at) } })),
    );
    await producer.send({ topic: topics.raw, acks: -1, messages });
    const groupId = freshName('group');
    const first = await startAggregator({ database: db, topics, groupId });
    await eventually(async () => ((await workflows(db)).length === 8 ? true : undefined), {
      what: 'eight runs',
    });
    await eventually(() =>
      first.metrics.get('aggregator_messages_total') >= messages.length ? true : undefined,
    );
    await first.stop();
    expect((await workflows(db)).map(tuple)).toEqual(expected);

    // Reset the same group to the earliest offset and consume everything again.
    const adm = kafka('exact-admin').admin();
    await adm.connect();
    await adm.resetOffsets({ groupId, topic: topics.raw, earliest: true });
    await adm.disconnect();
    const before = await (
      await admin.query({ query: `SELECT count() AS n FROM ${db}.workflow_changes`, format: 'JSONEachRow' })
    ).json<{ n: string }>();
    const again = await startAggregator({ database: db, topics, groupId });
    try {
      await eventually(
        () => (again.metrics.get('aggregator_messages_total') >= messages.length ? true : undefined),
        { what: 'the replay' },
      );
      expect((await workflows(db)).map(tuple)).toEqual(expected);
      const after = await (
        await admin.query({ query: `SELECT count() AS n FROM ${db}.workflow_changes`, format: 'JSONEachRow' })
      ).json<{ n: string }>();
      expect(after).toEqual(before);
    } finally {
      await again.stop();
    }
  });
});
