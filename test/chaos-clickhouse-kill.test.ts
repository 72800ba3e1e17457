import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { containerPid, freeTcpPort, podman, sleep } from '@parsl-usage/kit/proc';
import { formatReport, runSoak, soakProblems, type Fault } from '@parsl-usage/kit/soak';
import { waitClickHouse } from '@parsl-usage/kit/stack';
import { viewDisagreements } from '@parsl-usage/kit/view-check';
import { CH_USERS, freshName, kafkaBrokers, MIGRATIONS_DIR } from './setup/env.js';

/**
 * The short form of bench/cluster/faults.sh's replica kill, on one server (issue 14): ClickHouse
 * is SIGKILLed three times while the aggregator inserts, and started again. An insert cut
 * between its workflow_changes part and its views' parts must be completed by the view repair
 * (services/aggregator/src/repair/view-repair.ts): afterwards every count is exact and every rollup
 * equals its view over workflow_changes. The first kill makes that cut on purpose (cutInsert),
 * so that every run completes at least one cut insert, which the aggregator's own counters must
 * show (issue 23: this test used to grep the log and require nothing); whether the other two land
 * in the window is chance (it lasts milliseconds: 4 runs of 7 had none, BENCHMARKS.md). The cut
 * comes first because it needs inserts flowing: after a restart the aggregator can sit for the
 * client's 30 s timeout on a request sent while the server came back (sink-retry.ts), and a later
 * cut then waited for inserts in vain. Freshness after each kill is reported, not asserted (the
 * soak's own RESULT line holds it to 1 s, which a ClickHouse restart on two loaded cores does not
 * meet).
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
      // A server still coming back from the previous kill cannot be killed (podman refuses a
      // stopped container): wait for it first.
      await waitClickHouse(url, 120_000);
      const startedAt = Date.now();
      await podman('kill', '-s', 'KILL', name);
      await sleep(1_000); // ms
      await podman('start', name);
      await waitClickHouse(url, 120_000);
      return { name: label, startedAt, recoveredAt: Date.now() };
    },
  };
}

/**
 * A view that sorts before every view of workflow_changes (rollup_*_mv, workflow_versions_mv) and
 * sleeps 3 s (sleep's maximum) on each insert. ClickHouse writes an insert's own part, then its
 * views' parts one after the other in the order of their names (18.16: its view dependencies are
 * a sorted set), so while an insert sleeps here its rows are stored and no view has them yet.
 */
const CUT_VIEW = 'a_chaos_cut_mv';

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Per Kafka partition, the highest offset in workflow_changes and in workflow_versions (a view of it). */
async function offsets(
  client: ClickHouseClient,
  db: string,
): Promise<Map<number, { changes: bigint; versions: bigint }>> {
  const rs = await rows<{ p: number; changes: string; versions: string }>(
    client,
    `SELECT kafka_partition AS p, toString(changes) AS changes, toString(versions) AS versions FROM
       (SELECT kafka_partition, max(kafka_offset) AS changes FROM ${db}.workflow_changes
        WHERE sign = 1 GROUP BY kafka_partition)
     ANY LEFT JOIN
       (SELECT kafka_partition, max(kafka_offset) AS versions FROM ${db}.workflow_versions
        GROUP BY kafka_partition)
     USING kafka_partition`,
  );
  return new Map(rs.map((r) => [r.p, { changes: BigInt(r.changes), versions: BigInt(r.versions) }]));
}

/**
 * Waits until an insert made after CUT_VIEW went in is between its own part and its views'
 * parts: workflow_changes holds offsets above those it held when the view was made, which
 * workflow_versions lacks, while an insert into workflow_changes has run for over 0.5 s (it can
 * only be sleeping in the view: the aggregator's inserts take milliseconds). An earlier cut not
 * completed yet (a chance one) shows as workflow_versions lacking too, but not above the
 * offsets held at `armed`. Returns what it saw.
 */
async function untilInsertIsCut(
  client: ClickHouseClient,
  db: string,
  armed: Map<number, { changes: bigint }>,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let seen = { inserts: 0, ahead: 0 }; // polls that saw a sleeping insert, and new rows without views
  while (Date.now() < deadline) {
    try {
      const [inserting] = await rows<{ n: string }>(
        client,
        `SELECT count() AS n FROM system.processes
         WHERE startsWith(query, 'INSERT INTO ${db}.workflow_changes') AND elapsed > 0.5`,
      );
      const ahead = [...(await offsets(client, db))]
        .filter(([p, o]) => o.changes > o.versions && o.changes > (armed.get(p)?.changes ?? -1n))
        .map(([p]) => p);
      if (Number(inserting?.n) > 0) seen = { ...seen, inserts: seen.inserts + 1 };
      if (ahead.length > 0) seen = { ...seen, ahead: seen.ahead + 1 };
      if (Number(inserting?.n) > 0 && ahead.length > 0)
        return `killed inside an insert: workflow_changes ahead of its views on partitions ${ahead.join(', ')}`;
    } catch (err) {
      lastError = err; // a busy server: ask again
    }
    await sleep(50); // ms
  }
  // The soak reports a fault's message only: everything needed to tell why goes in it.
  const why = `polls with a sleeping insert ${seen.inserts}, with new rows lacking their views ${seen.ahead}`;
  const last = lastError instanceof Error ? `; last error: ${lastError.message.split('\n')[0]}` : '';
  throw new Error(
    `no insert into ${db}.workflow_changes reached its views within ${timeoutMs} ms (${why}${last})`,
  );
}

/**
 * The cut on purpose: CUT_VIEW makes every insert wait between its own part and its views' parts,
 * and ClickHouse is SIGKILLed while one waits there (signalled directly, not through podman's
 * CLI, which takes a few hundred ms to start), then started again without the view.
 */
function cutInsert(name: string, url: string, atMs: number): Fault {
  const label = `clickhouse SIGKILL inside an insert at ${atMs / 1000} s`;
  return {
    name: label,
    atMs,
    run: async () => {
      const startedAt = Date.now();
      const admin = createClient({ url, ...CH_USERS.admin });
      let db = '';
      let note: string;
      try {
        // This server holds the soak's database only.
        const soak = await rows<{ name: string }>(
          admin,
          `SELECT name FROM system.databases WHERE startsWith(name, 'soak_')`,
        );
        db = soak[0]?.name ?? '';
        if (!db) throw new Error('no soak database');
        const armed = await offsets(admin, db);
        await admin.command({
          query: `CREATE MATERIALIZED VIEW ${db}.${CUT_VIEW} ENGINE = Null AS SELECT sleep(3) AS slept FROM ${db}.workflow_changes`,
        });
        try {
          note = await untilInsertIsCut(admin, db, armed, 30_000);
        } catch (err) {
          await admin.command({ query: `DROP TABLE IF EXISTS ${db}.${CUT_VIEW}` });
          throw err;
        }
        // Looked up now, not before the wait: a chance kill meanwhile restarts the server.
        const pid = await containerPid(name);
        if (pid === null) throw new Error(`${name} is not running`);
        process.kill(pid, 'SIGKILL');
      } finally {
        await admin.close();
      }
      await podman('wait', name);
      await sleep(1_000); // ms, as killClickHouse
      await podman('start', name);
      await waitClickHouse(url, 120_000);
      // Every insert would wait 3 s in the view: it goes as soon as the server answers again.
      const after = createClient({ url, ...CH_USERS.admin });
      try {
        await after.command({ query: `DROP TABLE IF EXISTS ${db}.${CUT_VIEW}` });
      } finally {
        await after.close();
      }
      return { name: label, startedAt, recoveredAt: Date.now(), note };
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
        cutInsert(name, url, 5_000),
        killClickHouse(name, url, 12_000),
        killClickHouse(name, url, 18_000),
      ],
    });
    // The aggregator's counters over the run (every lifetime, kit/src/soak.ts), from its /metrics.
    const counters = r.aggregatorCounters;
    const checks = (outcome: string): number =>
      counters[`aggregator_view_checks_total{outcome="${outcome}"}`] ?? 0;
    const repairedKeys = Object.entries(counters)
      .filter(([k]) => k.startsWith('aggregator_view_repaired_keys_total{'))
      .map(([k, v]) => `${/target="([^"]*)"/.exec(k)?.[1] ?? k} ${v}`);
    // A view check that found a target lacking rows and completed it: a cut insert completed.
    const completed = checks('repaired');
    const givenUp = counters.aggregator_view_repair_unsettled_total ?? 0;
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
    if (
      problems.length > 0 ||
      Object.keys(disagreements).length > 0 ||
      givenUp > 0 ||
      completed < 1 ||
      r.faults.length !== 3
    )
      console.log(`${formatReport(r)}\n${where}`);
    console.log(
      `chaos clickhouse-kill: ${r.ledger.workflows} workflows, ${r.faults.length} kills, ${completed} cut inserts completed ` +
        `(view checks: ${checks('clean')} clean, ${checks('unsettled')} put off; keys completed: ${repairedKeys.join(', ') || 'none'}), ` +
        `${givenUp} repairs given up, aggregator starts ${r.resources['aggregator-0']?.starts}, ` +
        `${r.faults
          .map((f) => f.note)
          .filter(Boolean)
          .join('; ')}, problems ${JSON.stringify(problems)}`,
    );
    expect(r.faults).toHaveLength(3);
    expect(problems).toEqual([]);
    expect(disagreements).toEqual({});
    // At least the cut made on purpose was completed, rollups included; none was given up.
    expect(completed).toBeGreaterThanOrEqual(1);
    expect(repairedKeys.length).toBeGreaterThanOrEqual(1);
    expect(givenUp).toBe(0);
  }, 200_000);
});
