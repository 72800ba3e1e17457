/**
 * Real Parsl 2025.03.17 runs (from PyPI, in a cached venv) -> relay -> Kafka -> aggregator ->
 * ClickHouse. The only change to Parsl is where its usage tracker sends: see the docstring of
 * test/parsl-client/run_workflow.py for exactly what is patched and why nothing can leave
 * loopback. The htex runs are configured (not patched) to restart Parsl's worker pool when its
 * address probe misses the interchange, a Parsl race that failed one CI run (WORKER_POOL_CMD
 * there). The venv comes from infra/scripts/ensure-parsl-venv.sh (cached under
 * $PARSL_USAGE_CACHE, default /var/cache/parsl-usage; created here when missing).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { openRecord } from '@parsl-usage/schemas';
import {
  clickhouse,
  eventually,
  freshDatabase,
  freshTopics,
  kafka,
  REPO_ROOT,
  SETUP_CACHE,
} from './setup/env.js';
import { aggregatorEnv, relayEnv } from './support/pipeline.js';
import { freeTcpPort, freeUdpPort, spawnService, type ServiceProcess } from '@parsl-usage/kit/processes';
import { datagramMessages } from './support/datagram-messages.js';

const run = promisify(execFile);
const VENV = join(SETUP_CACHE, 'parsl-venv');
const DRIVER = join(REPO_ROOT, 'test/parsl-client/run_workflow.py');

const THREADS = 'parsl.executors.threads.ThreadPoolExecutor';
const HTEX = 'parsl.executors.high_throughput.executor.HighThroughputExecutor';

interface DriverResult {
  correlator: string;
  level: number;
  executor: 'threads' | 'htex';
  /** every datagram Parsl handed to its sender, base64 */
  sent: string[];
  /** destinations the guard refused (must stay empty) */
  refused: string[];
}

interface Run {
  level: 1 | 3;
  executor: 'threads' | 'htex';
  project: string;
}

// Each workflow: add(1, 2), square(add(2, 3)) -> 3 successful tasks, fail_on_purpose(7) -> 1 failed.
const RUNS: Run[] = [
  { level: 3, executor: 'threads', project: 'real-client-threads' },
  { level: 3, executor: 'htex', project: 'real-client-htex' },
  { level: 1, executor: 'threads', project: 'real-client-level1' },
];

async function runWorkflow(r: Run, udpPort: number, runDir: string): Promise<DriverResult> {
  mkdirSync(runDir, { recursive: true });
  const { stdout } = await run(
    join(VENV, 'bin/python'),
    [
      DRIVER,
      '--port',
      String(udpPort),
      '--level',
      String(r.level),
      '--executor',
      r.executor,
      '--project',
      r.project,
      '--run-dir',
      runDir,
    ],
    {
      cwd: runDir,
      timeout: 90_000,
      // HighThroughputExecutor starts interchange.py and process_worker_pool.py from the venv's bin.
      env: {
        PATH: `${join(VENV, 'bin')}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? '/root',
        PYTHONNOUSERSITE: '1',
      },
    },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as DriverResult;
}

describe('real Parsl 2025.03.17 client -> relay -> Kafka -> aggregator -> ClickHouse', () => {
  const admin = clickhouse('admin');
  const procs: ServiceProcess[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'parsl-real-'));
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    // Self-sufficient: builds the cached venv when it is missing (prints nothing when present).
    await run('bash', [join(REPO_ROOT, 'infra/scripts/ensure-parsl-venv.sh')], { timeout: 170_000 });
  }, 180_000);

  afterAll(async () => {
    await consumer?.disconnect();
    await Promise.all(procs.map((p) => p.stop()));
    await admin.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('publishes both datagrams of every level-3 run and stores the right workflows', async () => {
    const database = await freshDatabase('parsl_real');
    const topics = await freshTopics(3);
    const udpPort = await freeUdpPort();
    const relayHttp = await freeTcpPort();
    const relay = spawnService(
      'relay',
      relayEnv({ udpPort, httpPort: relayHttp, topics, spoolDir: join(scratch, 'spool') }),
    );
    procs.push(relay);
    const aggregator = spawnService(
      'aggregator',
      aggregatorEnv({ httpPort: await freeTcpPort(), topics, database }),
    );
    procs.push(aggregator);

    // Parsl sends each datagram exactly once: the relay must be bound and connected first.
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${relayHttp}/healthz`)).ok ? true : undefined),
      { timeoutMs: 30_000, what: `relay healthy (${relay.output().slice(-500)})` },
    );

    const results = await Promise.all(
      RUNS.map((r, i) => {
        const dir = join(scratch, `run-${i}`);
        return runWorkflow(r, udpPort, dir);
      }),
    );
    for (const [i, res] of results.entries()) {
      expect(res.refused).toEqual([]);
      // level 3: launch + closure; level 1: launch only (Parsl sends no closure below level 3)
      expect(res.sent).toHaveLength(RUNS[i]!.level === 3 ? 2 : 1);
    }

    // Kafka: every datagram Parsl built, byte for byte, keyed by its workflow id. The senders are
    // forked processes that Parsl joins at cleanup, but the relay batches: poll until all are there.
    const expected = new Map<string, Set<string>>(); // correlator -> base64 values
    for (const res of results) expected.set(res.correlator, new Set(res.sent));
    const seen = new Map<string, Set<string>>();
    consumer = kafka('parsl-real-client').consumer({ groupId: `${topics.raw}-check` });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.raw, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message: record }) => {
        for (const message of datagramMessages(record)) {
          const key = message.key?.toString() ?? '';
          const set = seen.get(key) ?? new Set<string>();
          // The datagram as Parsl built it, behind the relay's envelope (schemas/src/envelope.ts).
          set.add(message.value ? openRecord(message.value).datagram.toString('base64') : '');
          seen.set(key, set);
        }
        return Promise.resolve();
      },
    });
    await eventually(
      () =>
        [...expected].every(([id, vals]) => [...vals].every((v) => seen.get(id)?.has(v))) ? true : undefined,
      { timeoutMs: 60_000, what: `all ${results.flatMap((r) => r.sent).length} datagrams in Kafka` },
    );
    for (const [id, vals] of expected) expect(seen.get(id)).toEqual(vals);

    // ClickHouse: `workflows` is the analyst view (005, it does the FINAL over workflow_versions
    // itself); should it ever be a ReplacingMergeTree table again, read it with FINAL.
    const [tbl] = await (
      await admin.query({
        query: `SELECT engine FROM system.tables WHERE database = '${database}' AND name = 'workflows'`,
        format: 'JSONEachRow',
      })
    ).json<{ engine: string }>();
    const from = tbl?.engine === 'View' ? `${database}.workflows` : `${database}.workflows FINAL`;
    type Row = {
      workflow_id: string;
      status: string;
      protocol: string;
      parsl_version: string;
      tracking_level: number;
      project_name: string;
      executors: string[];
      // Nullable in the analyst view (005): NULL when no closure reported them
      app_count: string | null;
      app_fails: string | null;
    };
    const ids = results.map((r) => `'${r.correlator}'`).join(', ');
    const query = `SELECT workflow_id, status, protocol, parsl_version, tracking_level, project_name, executors,
                          app_count, app_fails
                   FROM ${from} WHERE workflow_id IN (${ids})`;
    const want = (r: Run) => (r.level === 3 ? 'completed' : 'launched');
    const rows = await eventually(
      async () => {
        const got = await (await admin.query({ query, format: 'JSONEachRow' })).json<Row>();
        const byId = new Map(got.map((x) => [x.workflow_id, x]));
        return results.every((res, i) => byId.get(res.correlator)?.status === want(RUNS[i]!))
          ? byId
          : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `3 workflows in ClickHouse (aggregator: ${aggregator.output().slice(-500)})`,
      },
    );
    expect(rows.size).toBe(3);

    const [threads3, htex3, threads1] = results.map((r) => rows.get(r.correlator)!);
    const common = { protocol: 'v1', parsl_version: '2025.03.17' };
    expect(threads3).toMatchObject({
      ...common,
      status: 'completed',
      tracking_level: 3,
      project_name: 'real-client-threads',
      executors: [THREADS],
    });
    expect(htex3).toMatchObject({
      ...common,
      status: 'completed',
      tracking_level: 3,
      project_name: 'real-client-htex',
      executors: [HTEX],
    });
    // 4 tasks (add, add, square, fail_on_purpose), 1 failed
    for (const r of [threads3, htex3]) {
      expect(Number(r!.app_count)).toBe(4);
      expect(Number(r!.app_fails)).toBe(1);
    }
    // Level 1 sends versions, platform and project name only: no components, no closure.
    expect(threads1).toMatchObject({
      ...common,
      status: 'launched',
      tracking_level: 1,
      project_name: 'real-client-level1',
      executors: [],
    });
    // NULL in the analyst view (nothing reported), 0 in the physical table
    expect([null, '0']).toContain(threads1!.app_count);

    // Each run counted once: the signed change log sums to one row per workflow.
    const [sum] = await (
      await admin.query({
        query: `SELECT sum(sign) AS n FROM ${database}.workflow_changes WHERE workflow_id IN (${ids})`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    expect(Number(sum?.n)).toBe(3);

    await consumer.disconnect();
    consumer = undefined;
    expect(await relay.stop()).toBe(0);
    expect(await aggregator.stop()).toBe(0);
  });
});
