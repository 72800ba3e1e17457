import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clickhouse,
  clickhouseUrl,
  eventually,
  freshDatabase,
  freshTopics,
  kafka,
  REPO_ROOT,
} from './setup/env.js';
import { startAggregator } from './support/aggregator.js';
import { legacyClosure, legacyLaunch, v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';

const admin = clickhouse('admin');
afterAll(() => admin.close());

async function text(query: string): Promise<string> {
  return (await admin.query({ query, format: 'TabSeparated' })).text();
}

/** Everything an analyst or the dashboard can read, as text. */
async function snapshot(db: string): Promise<Record<string, string>> {
  const changes = await text(
    `SELECT * FROM ${db}.workflow_changes ORDER BY kafka_partition, kafka_offset, seq`,
  );
  const out: Record<string, string> = {
    // inserted_at is when the row was written, the one column a rebuild must change.
    changes: changes.replace(/\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/gm, ''),
    workflows: await text(`SELECT * FROM ${db}.workflows ORDER BY workflow_id`),
  };
  for (const view of ['daily_workflows', 'python_versions_daily', 'components_daily', 'leaderboard']) {
    out[view] = await text(`SELECT * FROM ${db}.${view} ORDER BY tuple(*)`);
  }
  return out;
}

describe('reprocess: rebuild every derived table from events', () => {
  it('gives identical results when nothing changed', async () => {
    const db = await freshDatabase('reproc');
    const topics = await freshTopics(3);
    const producer = kafka('reproc').producer();
    await producer.connect();
    const at = String(Date.now());
    const msgs: Array<[string, Buffer]> = [];
    for (let i = 0; i < 40; i++) {
      const id = `r-${i}`;
      if (i % 4 === 0) msgs.push([id, v1Closure(id)], [id, v1Launch(id, { project_name: `p${i % 3}` })]);
      else if (i % 4 === 1)
        msgs.push([id, legacyLaunch(id)], [id, legacyClosure(id)], [id, legacyClosure(id)]);
      else if (i % 4 === 2) msgs.push([id, v1Launch(id, { tracking_level: 2 })]);
      else msgs.push([id, v1Launch(id)], [id, v1Launch(id)]);
    }
    await producer.send({
      topic: topics.raw,
      acks: -1,
      messages: msgs.map(([key, value]) => ({ key, value, headers: { received_at_ms: at } })),
    });
    await producer.disconnect();
    const agg = await startAggregator({ database: db, topics });
    await eventually(
      async () => ((await text(`SELECT count() FROM ${db}.workflows`)).trim() === '40' ? true : undefined),
      {
        what: '40 workflows',
      },
    );
    await eventually(() => (agg.metrics.get('aggregator_messages_total') >= msgs.length ? true : undefined), {
      what: 'every message consumed',
    });
    await agg.stop();
    const before = await snapshot(db);

    let log = '';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['services/ops/dist/reprocess-cli.js', '--yes'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          CLICKHOUSE_URL: clickhouseUrl(),
          CLICKHOUSE_USER: 'admin',
          CLICKHOUSE_PASSWORD: 'admin-dev-password',
          CLICKHOUSE_DATABASE: db,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child.stdout.on('data', (d: Buffer) => (log += d.toString()));
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    // It really emptied and rebuilt: every stored message was processed again.
    const done = log
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; messages?: number; truncated?: string[] });
    expect(done.find((l) => l.msg === 'reprocessed')?.messages).toBe(msgs.length);
    expect(done.find((l) => l.msg === 'derived tables emptied')?.truncated).toEqual(
      expect.arrayContaining(['workflow_changes', 'workflow_versions', 'rollup_daily']),
    );
    const after = await snapshot(db);
    expect((after.workflows ?? '').split('\n').length).toBeGreaterThan(40);
    expect(after).toEqual(before);
  });
});
