/**
 * Exact for every id the relay accepts (issue 23): ids drawn from the whole alphabet the relay
 * takes as a join key (visible ASCII, 1 to MAX_ID_CHARS chars, backslashes and quotes
 * included), and project names just as hostile, go through the real relay, Kafka and
 * aggregator. The launches land; the aggregator restarts, so that its stored-id filter is
 * rebuilt from ClickHouse; then the closures arrive. Every run must end `completed` with its
 * launch's facts, every rollup must equal `workflows` and its own view, and the same ids must
 * come through reprocess, a backup and restore, and forget-project (every trace gone).
 *
 * Before the fix, the filter was rebuilt from a TabSeparated read, which writes `\` as `\\`:
 * an id with a backslash was missing from it, its closure skipped the look-up, and the run was
 * counted twice (once `launched`, once `closure_only`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteString, readRows } from '@parsl-usage/common';
import { MAX_ID_CHARS, decodeDatagram, sniff } from '@parsl-usage/schemas';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { runBackup } from '@parsl-usage/ops/internal/backup-run';
import { forgetProject } from '@parsl-usage/ops/internal/forget-project-run';
import {
  clickHouseEventSource,
  derivedTables,
  reprocessFromEvents,
} from '@parsl-usage/ops/internal/reprocess';
import { runRestore } from '@parsl-usage/ops/internal/restore-run';
import { v1Closure, v1Launch } from '@parsl-usage/kit/datagrams';
import { viewDisagreements } from '@parsl-usage/kit/view-check';
import {
  CH_USERS,
  MIGRATIONS_DIR,
  clickhouse,
  clickhouseUrl,
  eventually,
  freshDatabase,
  freshName,
  freshTopics,
} from './setup/env.js';
import { startAggregator } from './support/aggregator.js';
import { startRelay } from './support/relay.js';

const VISIBLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const visible = (maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...VISIBLE), minLength: 1, maxLength });

/** The review's cases, the edges of the alphabet and of the length cap, then generated ids. */
const FIXED_IDS = [
  'bs-a\\b',
  'bs-plain',
  'bs-x\\\\y',
  '\\',
  "'",
  '"',
  '\\t',
  '\\n',
  '!',
  '~',
  '\\'.repeat(MAX_ID_CHARS),
];
const GENERATED = 60;
const PROJECTS = ['bs', 'back\\slash', "q'uote", 'dq"x', 'tab\\t', 'plain-project'];

function drawIds(): string[] {
  const ids = new Set(FIXED_IDS);
  const drawn = fc.sample(
    fc.uniqueArray(visible(MAX_ID_CHARS), { minLength: GENERATED, maxLength: GENERATED }),
    {
      numRuns: 1,
      seed: Number(process.env.EXACT_IDS_SEED ?? Date.now() % 2 ** 31),
    },
  )[0];
  for (const id of drawn ?? []) ids.add(id);
  return [...ids];
}

interface Fact {
  workflow_id: string;
  status: string;
  parsl_version: string;
  project_name: string;
}

/** What an analyst sees: every run's facts, and the rollups' totals beside those of `workflows`. */
async function snapshot(ch: ClickHouseClient, db: string) {
  const facts = await readRows<Fact>(
    ch,
    `SELECT workflow_id, status, parsl_version, project_name FROM ${db}.workflows ORDER BY workflow_id`,
  );
  const perProject = await readRows<{ project_name: string; runs: string }>(
    ch,
    `SELECT project_name, toString(count()) AS runs FROM ${db}.workflows WHERE project_name != '' GROUP BY project_name ORDER BY project_name`,
  );
  const leaderboard = await readRows<{ project_name: string; runs: string }>(
    ch,
    `SELECT project_name, toString(runs) AS runs FROM ${db}.leaderboard_all_time WHERE project_name != '' ORDER BY project_name`,
  );
  const [totals] = await readRows<Record<string, string>>(
    ch,
    `SELECT toString(sum(workflows)) AS workflows, toString(sum(completed)) AS completed,
            toString(sum(closure_only)) AS closure_only, toString(sum(launched)) AS launched
     FROM ${db}.rollup_daily`,
  );
  const [fromFacts] = await readRows<Record<string, string>>(
    ch,
    `SELECT toString(count()) AS workflows, toString(countIf(status = 'completed')) AS completed,
            toString(countIf(status = 'closure_only')) AS closure_only, toString(countIf(status = 'launched')) AS launched
     FROM ${db}.workflows`,
  );
  return { facts, perProject, leaderboard, totals, fromFacts };
}

describe('exact for every id the relay accepts', () => {
  const admin = clickhouse('admin');
  const ids = drawIds();
  const projectOf = (i: number): string => PROJECTS[i % PROJECTS.length] ?? 'bs';
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let db: string;
  let topics: { raw: string; rejected: string };
  const dirs: string[] = [];

  beforeAll(async () => {
    // Every id drawn is one the relay takes as a join key.
    for (const id of ids) expect(sniff(v1Launch(id)), id).toMatchObject({ kind: 'ok', id });
    topics = await freshTopics(3);
    db = await freshDatabase('exact_ids');
    relay = await startRelay(topics);
  });

  afterAll(async () => {
    await relay?.stop();
    await admin.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('joins launch and closure across an aggregator restart, and every rollup equals workflows', async () => {
    const groupId = freshName('exact-ids');
    const first = await startAggregator({ database: db, topics, groupId });
    try {
      await relay.send(ids.map((id, i) => v1Launch(id, { project_name: projectOf(i) })));
      await eventually(
        async () =>
          (await count(`SELECT count() AS n FROM ${db}.workflows`)) === ids.length ? true : undefined,
        { what: `${ids.length} launches stored`, timeoutMs: 60_000 },
      );
    } finally {
      await first.stop();
    }
    // A new process: its filter comes from ClickHouse alone.
    const second = await startAggregator({ database: db, topics, groupId });
    try {
      await relay.send(ids.map((id) => v1Closure(id)));
      await eventually(
        async () =>
          (await count(`SELECT count() AS n FROM ${db}.workflows WHERE status = 'completed'`)) === ids.length
            ? true
            : undefined,
        { what: `${ids.length} runs completed`, timeoutMs: 60_000 },
      );
    } finally {
      await second.stop();
    }
    const s = await snapshot(admin, db);
    expect(s.facts.map((f) => f.workflow_id)).toEqual([...ids].sort(byBytes));
    for (const f of s.facts) {
      const i = ids.indexOf(f.workflow_id);
      expect(f, f.workflow_id).toEqual({
        workflow_id: ids[i],
        status: 'completed',
        parsl_version: '2025.03.17',
        project_name: projectOf(i),
      });
    }
    expectRollupsEqualFacts(s);
    expect(await viewDisagreements(admin, db, MIGRATIONS_DIR)).toEqual({});
    // No run counted twice: each id's signed change rows net to one.
    expect(
      await count(
        `SELECT count() AS n FROM (SELECT workflow_id, sum(sign) AS s FROM ${db}.workflow_changes GROUP BY workflow_id) WHERE s != 1`,
      ),
    ).toBe(0);
  });

  it('reprocess rebuilds the same rows from events', async () => {
    const before = await snapshot(admin, db);
    const tables = await readRows<{ name: string; engine: string }>(
      admin,
      `SELECT name, engine FROM system.tables WHERE database = ${quoteString(db)}`,
    );
    for (const t of derivedTables(tables)) await admin.command({ query: `TRUNCATE TABLE ${db}.${t}` });
    expect(await count(`SELECT count() AS n FROM ${db}.workflow_versions`)).toBe(0);
    const r = await reprocessFromEvents({
      source: clickHouseEventSource(admin, db),
      sink: createClickHouseSink(admin, db),
      decode: decodeDatagram,
    });
    expect(r.messages).toBe(2 * ids.length);
    expect(await snapshot(admin, db)).toEqual(before);
  });

  it('a backup restores to the same rows', async () => {
    const before = await snapshot(admin, db);
    const dir = await mkdtemp(join(tmpdir(), 'exact-ids-backup-'));
    dirs.push(dir);
    const http = { url: clickhouseUrl(), user: CH_USERS.admin.username, password: CH_USERS.admin.password };
    await runBackup({ client: admin, http, database: db, dir });
    const target = freshName('exact_ids_restored');
    await runRestore({ client: admin, http, database: target, dir, migrationsDir: MIGRATIONS_DIR });
    const after = await snapshot(admin, target);
    expect(after).toEqual(before);
    expect(await viewDisagreements(admin, target, MIGRATIONS_DIR)).toEqual({});
  });

  it.each(PROJECTS.filter((p) => /[\\'"]/.test(p)))('forget-project %s leaves no trace', async (project) => {
    const kept = (await snapshot(admin, db)).facts.filter((f) => f.project_name !== project);
    const r = await forgetProject({ client: admin, database: db, project, migrationsDir: MIGRATIONS_DIR });
    expect(r.workflows).toBeGreaterThan(0);
    expect(
      Object.values(r.leftovers).every((n) => n === 0),
      JSON.stringify(r.leftovers),
    ).toBe(true);
    const s = await snapshot(admin, db);
    expect(s.facts).toEqual(kept);
    expect(s.perProject.map((p) => p.project_name)).not.toContain(project);
    expect(s.leaderboard.map((p) => p.project_name)).not.toContain(project);
    expectRollupsEqualFacts(s);
  });

  async function count(sql: string): Promise<number> {
    const [row] = await readRows<{ n: string | number }>(admin, sql);
    return Number(row?.n ?? -1);
  }
});

/** ClickHouse orders strings by their bytes; these ids are ASCII, so by char code. */
function byBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function expectRollupsEqualFacts(s: Awaited<ReturnType<typeof snapshot>>): void {
  expect(s.leaderboard).toEqual(s.perProject);
  expect(s.totals).toEqual(s.fromFacts);
}
