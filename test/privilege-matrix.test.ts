/**
 * The privilege matrix of docs/SECURITY.md, proven against the real ClickHouse 18.16 server of the
 * global setup (started with no environment: the local development passwords apply).
 *
 * The expected answers live in the table between `<!-- matrix:start -->` and `<!-- matrix:end -->`
 * in docs/SECURITY.md; this file holds how each probe is made. Every probe is run as every role
 * over HTTP (as the services connect), and the server's answer must be the one in the table:
 * `yes` (it worked), `no (kind)` (refused, with the error text of that kind), `cap N s` (a time
 * cap too long to wait for: the effective setting is checked instead). A mismatch prints the
 * table as the server answered it.
 *
 * Everything a probe may change lives in tables this file creates (parsl_usage.matrix_*) and one
 * database of its own; admin drops them at the end. Against a live stack (KAFKA_BROKERS and
 * CLICKHOUSE_URL set) it applies the migrations to parsl_usage (a no-op when they are there) and,
 * for about 2 s per user, fills each user's concurrency cap, admin's included.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { applyMigrations } from '@parsl-usage/aggregator/internal/provision/migrate';
import { clickhouseUrl, MIGRATIONS_DIR, REPO_ROOT, SETUP_CACHE } from './setup/env.js';

const execFileP = promisify(execFile);

const ROLES = ['admin', 'ingest', 'analyst', 'dashboard'] as const;
type Role = (typeof ROLES)[number];

/** Passwords: the deployment's if the environment has them, else the local development defaults. */
const PASSWORD: Record<Role, string> = {
  admin: process.env.CLICKHOUSE_ADMIN_PASSWORD ?? 'admin-dev-password',
  ingest: process.env.CLICKHOUSE_INGEST_PASSWORD ?? 'ingest-dev-password',
  analyst: process.env.CLICKHOUSE_ANALYST_PASSWORD ?? 'analyst-dev-password',
  dashboard: process.env.CLICKHOUSE_DASHBOARD_PASSWORD ?? 'dashboard-dev-password',
};

/** Refusal kinds of the table, and the server's words for them (18.16; current releases in brackets). */
const KINDS: Record<string, RegExp> = {
  // the first that matches names the refusal: most specific first
  'table functions': /Table functions are forbidden in readonly mode/i,
  readonly: /in readonly mode|Cannot override setting|Readonly user \w+ attempts to kill/i,
  ddl: /DDL queries are prohibited|Cannot modify 'allow_ddl' setting when DDL queries are prohibited/i,
  database: /Access denied to database/i,
  login: /is not allowed to connect|Wrong password|Unknown user|Authentication failed/i,
  path: /is not inside .*user_files/i,
  memory: /Memory limit \(for (query|user)\) exceeded/i,
  time: /Timeout exceeded|Estimated query execution time/i,
  concurrency: /Too many simultaneous queries for user/i,
  hidden: /Value passed to 'throwIf' function is non zero/i,
  'not killed': /^not killed$/,
};

interface Answer {
  ok: boolean;
  text: string;
}

/** One statement over HTTP POST, as the services send them; settings go in the URL. */
async function run(role: Role, sql: string, params: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(clickhouseUrl());
  for (const [k, v] of Object.entries({ user: role, password: PASSWORD[role], ...params }))
    url.searchParams.set(k, v);
  const res = await fetch(url, { method: 'POST', body: sql });
  const text = (await res.text()).trim();
  // Over HTTP an error after the first block ends a 200 body with the exception text.
  const ok = res.ok && !/^Code: \d+/m.test(text);
  return { ok, text };
}

async function runAs(client: ClickHouseClient, sql: string): Promise<string> {
  return (await (await client.query({ query: sql, format: 'TabSeparated' })).text()).trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctx {
  role: Role;
  /** parsl_usage.matrix_<run>_<role>: a MergeTree of this role's own, made by admin */
  t: string;
  /** a database only admin may read, with a table `secret` */
  other: string;
  /** unique text for this run */
  tag: string;
  admin: ClickHouseClient;
}

type Probe = (c: Ctx) => Promise<Answer>;

/** The background query of `victim` that `killer` tries to KILL; answers "not killed" if it survives. */
async function killProbe(c: Ctx, killer: Role, victim: Role, params: Record<string, string> = {}) {
  const mark = `matrix-kill-${c.tag}-${c.role}-${Object.keys(params).join('-')}`;
  // 20 blocks of one row, 0.5 s each: a KILL lands between two of them. readonly victims cannot
  // set max_block_size, so victims are admin or ingest.
  const victimRun = run(
    victim,
    `SELECT sleep(0.5), '${mark}' FROM system.numbers LIMIT 20 SETTINGS max_block_size = 1`,
  );
  // wait until the server lists it
  for (let i = 0; i < 50; i++) {
    const n = await runAs(
      c.admin,
      `SELECT count() FROM system.processes WHERE query LIKE '%${mark}%' AND query NOT LIKE '%system.processes%'`,
    );
    if (n === '1') break;
    await sleep(100);
  }
  const kill = await run(
    killer,
    `KILL QUERY WHERE user = '${victim}' AND query LIKE '%${mark}%' AND query NOT LIKE '%KILL%' SYNC`,
    params,
  );
  if (!kill.ok) {
    // end the victim now rather than after its 10 s
    await c.admin.command({
      query: `KILL QUERY WHERE query LIKE '%${mark}%' AND query NOT LIKE '%KILL%' SYNC`,
    });
    await victimRun;
    return kill;
  }
  const victimAnswer = await victimRun;
  if (victimAnswer.ok) return { ok: false, text: 'not killed' };
  // killed: the victim ended early with the server's cancellation; any other failure is shown as is
  return /cancelled/i.test(victimAnswer.text) ? { ok: true, text: victimAnswer.text } : victimAnswer;
}

/** cap+1 queries at once, each sleeping 2 s: more than the cap must be refused. */
async function concurrencyProbe(c: Ctx): Promise<Answer> {
  const own = await run(
    c.role,
    "SELECT value FROM system.settings WHERE name = 'max_concurrent_queries_for_user'",
  );
  const n = Number(own.text);
  if (!own.ok || !(n > 0)) return { ok: true, text: `no cap (${own.text})` };
  const answers = await Promise.all(
    Array.from({ length: n + 1 }, () => run(c.role, `SELECT sleep(2), '${c.tag}-concurrency'`)),
  );
  const refused = answers.filter((a) => !a.ok);
  return refused.length > 0 ? (refused[0] as Answer) : { ok: true, text: `${n + 1} ran at once` };
}

/** Probes by id; the ids and the expected answers are the rows of the table in docs/SECURITY.md. */
const PROBES: Record<string, Probe> = {
  select: (c) => run(c.role, 'SELECT count() FROM parsl_usage.workflow_changes'),
  insert: (c) => run(c.role, `INSERT INTO ${c.t} (x) VALUES (1)`),
  create: (c) => run(c.role, `CREATE TABLE ${c.t}_new (x UInt8) ENGINE = Memory`),
  alter: (c) => run(c.role, `ALTER TABLE ${c.t} ADD COLUMN evil UInt8`),
  'alter-delete': (c) => run(c.role, `ALTER TABLE ${c.t} DELETE WHERE x = 42`),
  drop: (c) => run(c.role, `DROP TABLE ${c.t}_drop`),
  truncate: (c) => run(c.role, `TRUNCATE TABLE ${c.t}`),
  optimize: (c) => run(c.role, `OPTIMIZE TABLE ${c.t} FINAL`),
  rename: (c) => run(c.role, `RENAME TABLE ${c.t}_ren TO ${c.t}_renamed`),
  system: (c) => run(c.role, 'SYSTEM DROP MARK CACHE'),
  'set-limit': (c) =>
    run(c.role, 'SET max_memory_usage = 100000000000', { session_id: `matrix-${c.tag}-${c.role}` }),
  'set-allow-ddl': (c) => run(c.role, 'SET allow_ddl = 1', { session_id: `matrix-${c.tag}-${c.role}-ddl` }),
  'settings-clause': (c) => run(c.role, 'SELECT 1 SETTINGS max_execution_time = 0'),
  'url-limit': (c) => run(c.role, 'SELECT 1', { max_memory_usage: '100000000000', max_execution_time: '0' }),
  'url-readonly-0': (c) => run(c.role, 'SELECT 1', { readonly: '0' }),
  'url-allow-ddl-create': (c) =>
    run(c.role, `CREATE TABLE ${c.t}_url (x UInt8) ENGINE = Memory`, { allow_ddl: '1' }),
  'url-allow-ddl-create-database': (c) =>
    run(c.role, `CREATE DATABASE matrix_${c.tag}_${c.role}_db`, { allow_ddl: '1' }),
  'url-allow-ddl-other-db': (c) =>
    run(c.role, `CREATE TABLE ${c.other}.evil_${c.role} (x UInt8) ENGINE = Memory`, { allow_ddl: '1' }),
  'fn-numbers': (c) => run(c.role, 'SELECT count() FROM numbers(10)'),
  'fn-file': (c) => run(c.role, "SELECT count() FROM file('/etc/passwd', 'TSV', 'line String')"),
  'fn-url': (c) => run(c.role, "SELECT * FROM url('http://127.0.0.1:8123/ping', 'TSV', 's String')"),
  // 127.0.0.2 is loopback but not "this server" to 18.16, so it really connects (127.0.0.1 runs locally as the caller)
  'fn-remote-default': (c) =>
    run(c.role, `SELECT count() FROM remote('127.0.0.2', system.one, 'default', '')`),
  'fn-remote-local': (c) => run(c.role, `SELECT count() FROM remote('127.0.0.1', ${c.other}.secret)`),
  'other-db': (c) => run(c.role, `SELECT count() FROM ${c.other}.secret`),
  'system-tables-other-db': (c) =>
    run(c.role, `SELECT throwIf(count() = 0) FROM system.tables WHERE database = '${c.other}'`),
  'system-processes-others': (c) =>
    run(
      c.role,
      `SELECT throwIf(count() = 0) FROM system.processes WHERE user != '${c.role}' AND query LIKE '%matrix-witness-${c.tag}%' AND query NOT LIKE '%system.processes%'`,
    ),
  'kill-other-user': (c) => killProbe(c, c.role, c.role === 'admin' ? 'ingest' : 'admin'),
  'kill-other-user-url-allow-ddl': (c) =>
    killProbe(c, c.role, c.role === 'admin' ? 'ingest' : 'admin', { allow_ddl: '1' }),
  'memory-cap': async (c) => {
    // An array of 1.5 times the role's per-query cap in bytes. It grows by doubling, so the tracker
    // refuses the allocation that crosses the cap while about half the cap is in use: for the 2 GB
    // of the readonly roles about 1 GB for a second. (admin and ingest: `cap N GB`, the setting is
    // checked instead, so that the test never takes 2 to 8 GB of a shared machine.)
    const cap = Number(
      (await run(c.role, "SELECT value FROM system.settings WHERE name = 'max_memory_usage'")).text,
    );
    const elements = Math.ceil((cap * 1.5) / 8);
    return run(c.role, `SELECT length(arrayResize([toUInt64(1)], ${elements}))`);
  },
  'time-cap': (c) =>
    // A block every 3 s and no CPU: only the time cap ends it.
    run(c.role, `SELECT max(s) FROM (SELECT sleep(3) AS s, '${c.tag}-time' FROM system.numbers)`),
  concurrency: concurrencyProbe,
};

/** Probes that hold a role's slots or take long: run after the others, one role at a time. */
const SLOW = new Set(['concurrency', 'time-cap']);

interface Row<R extends string = Role> {
  id: string;
  cells: Record<R, string>;
}

/** The rows between `<!-- <marker>:start -->` and `<!-- <marker>:end -->`: | `id` | what | one cell per role | */
async function matrixFromDoc<R extends string>(marker: string, roles: readonly R[]): Promise<Row<R>[]> {
  const doc = await readFile(`${REPO_ROOT}docs/SECURITY.md`, 'utf8');
  const m = new RegExp(`<!-- ${marker}:start -->([\\s\\S]*?)<!-- ${marker}:end -->`).exec(doc);
  if (!m?.[1]) throw new Error(`docs/SECURITY.md lacks the ${marker} markers`);
  const rows: Row<R>[] = [];
  for (const line of m[1].split('\n')) {
    const cols = line.split('|').map((c) => c.trim());
    const id = /^`([a-z0-9-]+)`$/.exec(cols[1] ?? '')?.[1];
    if (!id) continue;
    const cells = Object.fromEntries(roles.map((r, i) => [r, cols[3 + i] ?? ''])) as Record<R, string>;
    rows.push({ id, cells });
  }
  return rows;
}

/** The answer in the table's words: `yes`, `no (kind)`, or the raw text if it fits no kind. */
function classify(a: Answer, kinds: Record<string, RegExp> = KINDS): string {
  if (a.ok) return 'yes';
  for (const [kind, re] of Object.entries(kinds)) if (re.test(a.text)) return `no (${kind})`;
  return `no: ${a.text.slice(0, 160)}`;
}

/** A cell's expectation without its decorations (⚠ marks a residual risk on 18.16). */
function normalise(cell: string): string {
  return cell.replace(/\*\*/g, '').replace(/⚠/g, '').trim();
}

describe('privilege matrix (docs/SECURITY.md) on the ClickHouse of the test run', () => {
  const tag = randomBytes(4).toString('hex');
  const other = `matrix_other_${tag}`;
  const table = (role: Role) => `parsl_usage.matrix_${tag}_${role}`;
  let admin: ClickHouseClient;
  let witnesses: Promise<Answer[]> | undefined;
  let rows: Row[] = [];
  const actual = new Map<string, Record<Role, string>>();

  beforeAll(async () => {
    admin = createClient({ url: clickhouseUrl(), username: 'admin', password: PASSWORD.admin });
    await applyMigrations(admin, { database: 'parsl_usage', dir: MIGRATIONS_DIR });
    await admin.command({ query: `CREATE DATABASE ${other}` });
    await admin.command({ query: `CREATE TABLE ${other}.secret (s String) ENGINE = Memory` });
    await admin.command({ query: `INSERT INTO ${other}.secret VALUES ('do not read')` });
    for (const role of ROLES) {
      const t = table(role);
      await admin.command({ query: `CREATE TABLE ${t} (x UInt8) ENGINE = MergeTree ORDER BY x` });
      await admin.command({ query: `INSERT INTO ${t} VALUES (7)` });
      await admin.command({ query: `CREATE TABLE ${t}_drop (x UInt8) ENGINE = Memory` });
      await admin.command({ query: `CREATE TABLE ${t}_ren (x UInt8) ENGINE = Memory` });
    }
    rows = await matrixFromDoc('matrix', ROLES);
    // Queries of admin and ingest whose text other users should not read (forget-project's names a project).
    const witness = `SELECT sleep(0.5), 'matrix-witness-${tag}' FROM system.numbers LIMIT 240 SETTINGS max_block_size = 1`;
    witnesses = Promise.all([run('admin', witness), run('ingest', witness)]);
  });

  afterAll(async () => {
    await admin
      ?.command({
        query: `KILL QUERY WHERE query LIKE '%matrix-witness-${tag}%' AND query NOT LIKE '%KILL%'`,
      })
      .catch(() => undefined);
    await witnesses?.catch(() => undefined);
    const dropped = (
      await runAs(
        admin,
        `SELECT name FROM system.tables WHERE database = 'parsl_usage' AND name LIKE 'matrix_${tag}_%'`,
      )
    )
      .split('\n')
      .filter(Boolean);
    for (const name of dropped) await admin.command({ query: `DROP TABLE IF EXISTS parsl_usage.${name}` });
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${other}` });
    for (const role of ROLES)
      await admin?.command({ query: `DROP DATABASE IF EXISTS matrix_${tag}_${role}_db` });
    await admin?.close();
  });

  it('has a probe for every row of the table and a row for every probe', () => {
    expect(rows.map((r) => r.id).sort()).toEqual(Object.keys(PROBES).sort());
  });

  it('the server answers every probe as the table says', async () => {
    const ctx = (role: Role): Ctx => ({ role, t: table(role), other, tag, admin });
    const answer = async (id: string, role: Role, expected: string): Promise<string> => {
      if (id === 'memory-cap' && /^cap \d+ GB$/.test(expected)) {
        const v = await run(role, "SELECT value FROM system.settings WHERE name = 'max_memory_usage'");
        return v.ok ? `cap ${Number(v.text) / 1e9} GB` : classify(v);
      }
      const cap = /^cap (\d+) s$/.exec(expected);
      if (id === 'time-cap' && cap) {
        const v = await run(role, "SELECT value FROM system.settings WHERE name = 'max_execution_time'");
        return v.ok ? `cap ${v.text} s` : classify(v);
      }
      if (id === 'time-cap' && expected === 'no cap') {
        const v = await run(role, "SELECT value FROM system.settings WHERE name = 'max_execution_time'");
        return v.text === '0' ? 'no cap' : `cap ${v.text} s`;
      }
      return classify(await (PROBES[id] as Probe)(ctx(role)));
    };
    const t0 = Date.now();
    const record = (id: string, role: Role, a: string) => {
      if (process.env.MATRIX_DEBUG) console.log(`${Date.now() - t0} ms ${id} ${role}: ${a}`);
      const r = actual.get(id) ?? ({} as Record<Role, string>);
      r[role] = a;
      actual.set(id, r);
    };
    // The long time-cap probes sleep (no CPU) beside everything else.
    const timeRow = rows.find((r) => r.id === 'time-cap');
    const timeProbes = ROLES.map(async (role) => {
      if (timeRow) record('time-cap', role, await answer('time-cap', role, normalise(timeRow.cells[role])));
    });
    for (const row of rows.filter((r) => !SLOW.has(r.id)))
      for (const role of ROLES) record(row.id, role, await answer(row.id, role, normalise(row.cells[role])));
    const slowTime = Promise.all(timeProbes);
    // the readonly roles' time probes hold one slot each while the concurrency probes run: still more than the cap
    for (const row of rows.filter((r) => r.id === 'concurrency'))
      for (const role of ROLES) record(row.id, role, await answer(row.id, role, normalise(row.cells[role])));
    await slowTime;

    const mismatches: string[] = [];
    for (const row of rows)
      for (const role of ROLES) {
        const want = normalise(row.cells[role]);
        const got = actual.get(row.id)?.[role] ?? 'not run';
        if (got !== want)
          mismatches.push(`${row.id} as ${role}: table says "${want}", server answered "${got}"`);
      }
    if (mismatches.length > 0)
      console.log(
        [...actual]
          .map(([id, r]) => `| \`${id}\` | | ${ROLES.map((role) => r[role]).join(' | ')} |`)
          .join('\n'),
      );
    expect(mismatches).toEqual([]);
  }, 120_000);

  it('the grants for current ClickHouse cover every table an insert into workflow_changes reaches', async () => {
    // infra/clickhouse/current/zz-current-only.xml lists them by hand; a new rollup must be added there.
    const xml = await readFile(`${REPO_ROOT}infra/clickhouse/current/zz-current-only.xml`, 'utf8');
    const targets = new Set(['workflow_changes', 'events']);
    for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')))
      for (const m of (await readFile(`${MIGRATIONS_DIR}/${file}`, 'utf8')).matchAll(
        /MATERIALIZED VIEW[^\n]*? TO \$\{db\}\.(\w+)/g,
      ))
        targets.add(m[1] as string);
    expect(targets.size).toBeGreaterThan(5);
    for (const t of targets)
      expect(xml).toMatch(new RegExp(`GRANT INSERT(, SELECT)? ON parsl_usage\\.${t}<`));
  });

  it('left the tables of parsl_usage as they were', async () => {
    // nothing the refused probes tried reached the real tables
    expect(
      await runAs(
        admin,
        "SELECT count() FROM system.columns WHERE database = 'parsl_usage' AND name = 'evil' AND table NOT LIKE 'matrix_%'",
      ),
    ).toBe('0');
  });
});

/** Refusals on current ClickHouse, in its words. */
const CURRENT_KINDS: Record<string, RegExp> = {
  grant: /Not enough privileges/i,
  constraint: /SETTING_CONSTRAINT_VIOLATION|should not be changed/i,
  ddl: /DDL queries are prohibited/i,
  readonly: /in readonly mode/i,
};
const CURRENT_ROLES = ['ingest', 'analyst', 'dashboard'] as const;

/**
 * The second table of docs/SECURITY.md: infra/clickhouse/current/zz-current-only.xml (grants,
 * settings constraints) with users.d on current ClickHouse, in process (chDB, the venv of
 * ensure_chdb_venv): test/support/chdb-privileges.py runs each role's profile and grants as the
 * only user chDB has. What it cannot show: logins (passwords, networks), other users' queries.
 */
describe('privilege matrix on current ClickHouse (chDB, docs/SECURITY.md)', () => {
  it('each role is refused what the second table says, by grants and constraints', async () => {
    const python = join(SETUP_CACHE, 'chdb-venv/bin/python');
    if (!existsSync(python))
      throw new Error(
        `no chDB venv at ${python}: run \`bash -c 'source infra/scripts/setup-host.sh && ensure_chdb_venv'\``,
      );
    const script = join(REPO_ROOT, 'test/support/chdb-privileges.py');
    const work = await mkdtemp(join(tmpdir(), 'chdb-privileges-'));
    const py = async (role: string) =>
      JSON.parse(
        (
          await execFileP(python, [script, '--role', role, '--work', work, '--repo', REPO_ROOT], {
            timeout: 60_000,
          })
        ).stdout,
      ) as { user: Answer; failures?: string[]; probes?: Record<string, Answer> };
    try {
      const setup = await py('admin');
      expect(setup.failures).toEqual([]);
      const rows = await matrixFromDoc('matrix-current', CURRENT_ROLES);
      expect(rows.length).toBeGreaterThan(10);
      const mismatches: string[] = [];
      const seen: string[] = [];
      for (const role of CURRENT_ROLES) {
        const out = await py(role);
        const probes = out.probes ?? {};
        seen.push(...Object.keys(probes));
        for (const row of rows) {
          const got = probes[row.id] ? classify(probes[row.id] as Answer, CURRENT_KINDS) : 'not run';
          const want = normalise(row.cells[role]);
          if (got !== want)
            mismatches.push(`${row.id} as ${role}: table says "${want}", chDB answered "${got}"`);
        }
      }
      expect(rows.map((r) => r.id).sort()).toEqual([...new Set(seen)].sort());
      expect(mismatches).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);
});
