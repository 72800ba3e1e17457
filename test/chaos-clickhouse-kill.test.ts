import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { freeTcpPort, podman, sleep } from '@parsl-usage/kit/proc';
import { formatReport, runSoak, soakProblems, type Fault } from '@parsl-usage/kit/soak';
import { waitClickHouse } from '@parsl-usage/kit/stack';
import { viewDisagreements } from '@parsl-usage/kit/view-check';
import { CH_USERS, freshName, kafkaBrokers, MIGRATIONS_DIR } from './setup/env.js';

/**
 * The short form of bench/cluster/faults.sh's replica kill, on one server (issue 14): ClickHouse
 * is SIGKILLed three times while the aggregator inserts, and started again. An insert cut
 * between its workflow_changes part and its views' parts must be completed by the view repair
 * (services/aggregator/src/view-repair.ts): afterwards every count is exact and every rollup
 * equals its view over workflow_changes. Whether a kill lands in that window is chance, so the
 * repairs are reported, not required; test/view-repair.test.ts makes the cut deterministically.
 * Freshness after each kill is reported, not asserted (the soak's own RESULT line holds it to
 * 1 s, which a ClickHouse restart on two loaded cores does not meet).
 * The first version of this test found that a filter of stored ids built before a repair of
 * workflow_versions sent closures past the look-up (75 double counts): batch-handler.ts now
 * rebuilds it after such a repair.
 * Its own ClickHouse: the shared one must not be killed.
 */
const IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';
const containers: string[] = [];
const workDirs: string[] = [];
afterAll(async () => {
  // CHAOS_KEEP=1 keeps the server (its port and database are printed) to look into a failure.
  if (process.env.CHAOS_KEEP) return;
  for (const c of containers) await podman('rm', '-f', c).catch(() => '');
  for (const d of workDirs) rmSync(d, { recursive: true, force: true });
});

function killClickHouse(name: string, url: string, atMs: number): Fault {
  const label = `clickhouse SIGKILL at ${atMs / 1000} s`;
  return {
    name: label,
    atMs,
    run: async () => {
      const startedAt = Date.now();
      await podman('kill', '-s', 'KILL', name);
      await sleep(1_000); // ms
      await podman('start', name);
      await waitClickHouse(url, 120_000);
      return { name: label, startedAt, recoveredAt: Date.now() };
    },
  };
}

describe('chaos (short): ClickHouse SIGKILL mid-insert, three times', () => {
  it('every count exact and every rollup equal to its view after the kills', async () => {
    const name = freshName('chaos-ch');
    const port = await freeTcpPort();
    await podman('run', '-d', '--name', name, '-p', `127.0.0.1:${port}:8123`, IMAGE);
    containers.push(name);
    const url = `http://127.0.0.1:${port}`;
    await waitClickHouse(url, 120_000);

    const workDir = join('/tmp', freshName('chaos-ch-soak'));
    workDirs.push(workDir);
    const r = await runSoak({
      label: 'ci chaos clickhouse-kill',
      brokers: kafkaBrokers(),
      clickhouseUrl: url,
      rate: 400,
      durationMs: 24_000,
      partitions: 3,
      workDir,
      drainTimeoutMs: 90_000,
      log: () => undefined,
      containers: { clickhouse: name },
      faults: [
        killClickHouse(name, url, 5_000),
        killClickHouse(name, url, 11_000),
        killClickHouse(name, url, 17_000),
      ],
    });
    const logs = readFileSync(join(workDir, 'aggregator-0.log'), 'utf8');
    const repairs = logs.split('view targets lacked change rows').length - 1;
    const givenUp = logs.split('the repair did not settle').length - 1;
    const admin = createClient({ url, ...CH_USERS.admin });
    let disagreements: Record<string, number>;
    try {
      disagreements = await viewDisagreements(admin, r.database, MIGRATIONS_DIR);
    } finally {
      await admin.close();
    }
    const problems = soakProblems(r);
    const where = `server ${url}, database ${r.database}, logs ${workDir}`;
    // The soak's own report holds freshness to 1 s after each kill and says FAIL when it is not;
    // this test does not assert freshness, so the report is printed only when something it
    // asserts went wrong.
    if (problems.length > 0 || Object.keys(disagreements).length > 0 || givenUp > 0)
      console.log(`${formatReport(r)}\n${where}`);
    console.log(
      `chaos clickhouse-kill: ${r.ledger.workflows} workflows, ${r.faults.length} kills, ${repairs} cut inserts completed, ${givenUp} repairs given up, problems ${JSON.stringify(problems)}`,
    );
    expect(r.faults).toHaveLength(3);
    expect(problems).toEqual([]);
    expect(disagreements).toEqual({});
    expect(givenUp).toBe(0);
  }, 200_000);
});
