/**
 * Shared by test/analytics-*.test.ts: a change log that inserts exactly what the aggregator
 * inserts (retraction of the previous version + new version, in one insert), a fixture
 * history relative to today, and a private ClickHouse with the working tree's users.d
 * (the harness image has the users.d of its build, and allow_databases only applies to
 * the database named parsl_usage, so access and cookbook tests need their own server).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { WorkflowChangeRow } from '@parsl-usage/schemas';

export const USERS_D = fileURLToPath(new URL('../infra/clickhouse/users.d', import.meta.url));
export const COOKBOOK = fileURLToPath(new URL('../docs/COOKBOOK.md', import.meta.url));
const CLICKHOUSE_IMAGE = process.env.CLICKHOUSE_IMAGE ?? 'localhost/parsl-usage/clickhouse:18.16';

export type WorkflowFacts = Omit<
  WorkflowChangeRow,
  'sign' | 'seq' | 'version' | 'kafka_partition' | 'kafka_offset'
>;

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of today (UTC, as the server's timezone) minus n days. */
export function daysAgo(n: number, now = Date.now()): string {
  return new Date(now - n * DAY_MS).toISOString().slice(0, 10);
}

/** The Monday on or before a day (calendar weeks run Monday to Sunday, as toMonday in ClickHouse). */
export function mondayOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const weekday = (new Date(t).getUTCDay() + 6) % 7; // 0 = Monday
  return new Date(t - weekday * DAY_MS).toISOString().slice(0, 10);
}

/** A Parsl date version for a day: 2026-10-07 -> 2026.10.07 */
export function dateVersion(day: string): string {
  return day.replaceAll('-', '.');
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

export function facts(id: string, f: Partial<WorkflowFacts>): WorkflowFacts {
  const day = f.day ?? daysAgo(1);
  return {
    workflow_id: id,
    status: 'launched',
    protocol: 'v1',
    tracking_level: 1,
    parsl_version: '',
    parsl_release_date: '1970-01-01',
    install_age_days: -1,
    python_version: '',
    python_minor: '',
    platform: 'Linux',
    os_release: '',
    project_name: '',
    is_test: 0,
    executors: [],
    providers: [],
    launchers: [],
    other_components: [],
    executors_len: 0,
    dependency_resolver: 0,
    mpi: 0,
    app_count: 0,
    app_fails: 0,
    has_launch: 1,
    has_closure: 0,
    day,
    launch_received_at: `${day} 12:00:00`,
    closure_received_at: '1970-01-01 00:00:00',
    start_time: '1970-01-01 00:00:00',
    end_time: '1970-01-01 00:00:00',
    execution_time: -1,
    points: (f.tracking_level ?? 1) === 3 ? 2 : 1,
    ...f,
  };
}

/** A release at `day`: version string, release date and the install age of a run on `runDay`. */
export function release(day: string, runDay: string): Partial<WorkflowFacts> {
  return {
    parsl_version: dateVersion(day),
    parsl_release_date: day,
    install_age_days: daysBetween(day, runDay),
  };
}

/**
 * The aggregator's write pattern: each change of a workflow is one insert holding the
 * retraction of the previous version (its exact values, sign -1) and the new version (+1).
 */
export class ChangeLog {
  private offset = 0;
  private readonly current = new Map<string, WorkflowChangeRow>();
  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
  ) {}

  /** One insert, as one aggregator flush: for each change in order, its retraction and its new version. */
  async put(...changes: WorkflowFacts[]): Promise<void> {
    const rows: WorkflowChangeRow[] = [];
    for (const next of changes) {
      this.offset += 1;
      const prev = this.current.get(next.workflow_id);
      const common = { version: String(this.offset), kafka_partition: 0, kafka_offset: String(this.offset) };
      if (prev) rows.push({ ...prev, ...common, sign: -1, version: prev.version, seq: 0 });
      const row: WorkflowChangeRow = { ...next, ...common, sign: 1, seq: prev ? 1 : 0 };
      rows.push(row);
      this.current.set(next.workflow_id, row);
    }
    if (rows.length > 0) await this.client.insert({ table: this.table, values: rows, format: 'JSONEachRow' });
  }

  /** Current facts of every workflow, as the aggregator holds them. */
  workflows(): WorkflowChangeRow[] {
    return [...this.current.values()];
  }
}

/**
 * The cookbook fixture, relative to today so that the cookbook's rolling windows apply.
 * Each entry is the sequence of versions the aggregator would write for one run.
 */
export function cookbookHistory(now = Date.now()): WorkflowFacts[][] {
  const r1 = daysAgo(60, now);
  const r2 = daysAgo(20, now);
  const d = (n: number): string => daysAgo(n, now);
  const htex = 'HighThroughputExecutor';
  const w1 = facts('w1', {
    day: d(3),
    tracking_level: 3,
    status: 'running',
    python_minor: '3.12',
    project_name: 'alpha',
    executors: [htex],
    providers: ['SlurmProvider'],
    launchers: ['SrunLauncher'],
    ...release(r2, d(3)),
  });
  const w2closure = facts('w2', {
    day: d(5),
    tracking_level: 3,
    status: 'closure_only',
    has_launch: 0,
    has_closure: 1,
    python_minor: '3.11',
    launch_received_at: '1970-01-01 00:00:00',
    project_name: 'alpha',
    executors: [htex],
    providers: ['LocalProvider'],
    launchers: ['SingleNodeLauncher'],
    app_count: 50,
    execution_time: 30,
    ...release(r1, d(5)),
  });
  const w5 = facts('w5', {
    day: d(12),
    tracking_level: 3,
    status: 'running',
    python_minor: '3.11',
    project_name: 'beta',
    executors: [htex],
    providers: ['SlurmProvider'],
    launchers: ['SrunLauncher'],
    ...release(r1, d(12)),
  });
  const w8 = facts('w8', {
    day: d(1),
    tracking_level: 3,
    status: 'running',
    python_minor: '3.13',
    project_name: 'gamma',
    executors: [htex],
    providers: ['PBSProProvider'],
    launchers: ['MpiExecLauncher'],
    ...release(r2, d(1)),
  });
  const closed = { status: 'completed' as const, has_closure: 1 };
  return [
    // running, then its closure: completed
    [w1, { ...w1, ...closed, app_count: 100, app_fails: 2, execution_time: 300 }],
    // closure first (closure_only on day -5), launch later: completed, and the day moves to -6
    [
      w2closure,
      {
        ...w2closure,
        ...closed,
        has_launch: 1,
        ...release(r1, d(6)),
        day: d(6),
        launch_received_at: `${d(6)} 23:00:00`,
      },
    ],
    [facts('w3', { day: d(10), python_minor: '3.10', platform: 'Darwin', ...release(r1, d(10)) })],
    [
      facts('w4', {
        day: d(4),
        tracking_level: 2,
        python_minor: '3.12',
        project_name: 'beta',
        executors: ['ThreadPoolExecutor'],
        ...release(r2, d(4)),
      }),
    ],
    // level 3, never closed, 12 days old: unfinished
    [w5],
    [
      facts('w6', {
        day: d(2),
        tracking_level: 3,
        status: 'completed',
        has_closure: 1,
        python_minor: '3.12',
        parsl_version: '1.2.0',
        executors: ['WorkQueueExecutor'],
        providers: ['LocalProvider'],
        launchers: ['SingleNodeLauncher'],
        app_count: 10,
        app_fails: 5,
        execution_time: 0.4,
      }),
    ],
    // Parsl's own CI: kept in the rollups, left out of every view
    [
      facts('w7', {
        day: d(2),
        is_test: 1,
        python_minor: '3.12',
        project_name: 'alpha',
        ...release(r2, d(2)),
      }),
    ],
    // two successive corrections of the closure facts
    [
      w8,
      { ...w8, ...closed, app_count: 5, app_fails: 0, execution_time: 7000 },
      { ...w8, ...closed, app_count: 7, app_fails: 1, execution_time: 7200 },
    ],
    [facts('w9', { day: d(40), python_minor: '3.9', project_name: 'alpha', ...release(r1, d(40)) })],
    [facts('w10', { day: d(400), python_minor: '3.8', parsl_version: '1.2.0' })],
  ];
}

/**
 * Applies a history round-robin, one insert per round (versions of different runs interleave,
 * as in real traffic; at most `perInsert` changes per insert).
 */
export async function writeHistory(
  log: ChangeLog,
  history: WorkflowFacts[][],
  perInsert = 1000,
): Promise<void> {
  const longest = Math.max(...history.map((h) => h.length));
  for (let i = 0; i < longest; i++) {
    const round = history.flatMap((versions) => versions.slice(i, i + 1));
    for (let j = 0; j < round.length; j += perInsert) await log.put(...round.slice(j, j + perInsert));
  }
}

/** Every ```sql block of docs/COOKBOOK.md, by the name in its first line `-- cookbook: name`. */
export async function cookbookQueries(): Promise<Map<string, string>> {
  const text = await readFile(COOKBOOK, 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/```sql\n([\s\S]*?)```/g)) {
    const sql = (m[1] ?? '').trim();
    const name = /^-- cookbook: ([a-z0-9-]+)/.exec(sql)?.[1];
    if (!name)
      throw new Error(`a cookbook sql block lacks its "-- cookbook: name" line: ${sql.slice(0, 80)}`);
    if (out.has(name)) throw new Error(`two cookbook blocks are named ${name}`);
    out.set(name, sql);
  }
  return out;
}

export interface PrivateClickHouse {
  url: string;
  client(user: 'admin' | 'ingest' | 'analyst' | 'default', password?: string): ClickHouseClient;
  stop(): Promise<void>;
}

const PASSWORDS = {
  admin: 'admin-dev-password',
  ingest: 'ingest-dev-password',
  analyst: 'analyst-dev-password',
  default: '',
};

/** A ClickHouse 18.16 of its own, with users.d from the working tree mounted over the image's. */
export async function startPrivateClickHouse(): Promise<PrivateClickHouse> {
  process.env.DOCKER_HOST ??= 'unix:///run/podman/podman.sock';
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(CLICKHOUSE_IMAGE)
    .withExposedPorts(8123)
    .withBindMounts([{ source: USERS_D, target: '/etc/clickhouse-server/users.d', mode: 'ro' }])
    .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
    .withStartupTimeout(120_000)
    .start();
  const url = `http://127.0.0.1:${container.getMappedPort(8123)}`;
  const clients: ClickHouseClient[] = [];
  return {
    url,
    client(user, password = PASSWORDS[user]) {
      const c = createClient({ url, username: user, password, request_timeout: 60_000 });
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await container.stop({ timeout: 5_000 });
    },
  };
}

/** Deterministic pseudo-random numbers (LCG), so a failure reproduces. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `day` plus n days. */
export function addDays(day: string, n: number): string {
  return daysAgo(-n, Date.parse(`${day}T00:00:00Z`));
}

/**
 * A random history over 260 days, with every kind of fact the rollups must get right:
 * runs with 1 to 4 versions; closure-first runs (most move to their launch day, some never get
 * their launch); corrected closures; runs of versions released after them; non-date versions.
 */
export function mixedHistory(n: number, seed: number, releases: string[]): WorkflowFacts[][] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const pythons = ['3.9', '3.10', '3.11', '3.12', '3.13'];
  const platforms = ['Linux', 'Linux', 'Darwin', 'Windows'];
  const executors = ['HighThroughputExecutor', 'ThreadPoolExecutor', 'WorkQueueExecutor', 'MPIExecutor'];
  const providers = ['SlurmProvider', 'LocalProvider', 'PBSProProvider'];
  const projects = ['', '', '', 'alpha', 'beta', 'gamma', "o'brien-lab", 'équipe-ü'];
  const today = daysAgo(0);
  const history: WorkflowFacts[][] = [];
  for (let i = 0; i < n; i++) {
    const level = pick([0, 1, 1, 2, 3, 3, 3]);
    const launchAgo = Math.floor(r() ** 2 * 260);
    const launchDay = daysAgo(launchAgo);
    // mostly the newest release out at launch; sometimes any (a run that predates its version's date)
    const out = releases.filter((d) => d <= launchDay);
    const rel = r() < 0.85 ? out.at(-1 - Math.floor(r() * Math.min(2, out.length))) : pick(releases);
    const nonDate = r() < 0.12 ? pick(['dev', '1.2.0', '']) : undefined;
    const version = (day: string): Partial<WorkflowFacts> =>
      nonDate !== undefined || !rel ? { parsl_version: nonDate ?? 'dev' } : release(rel, day);
    // duplicates inside the arrays: the rollups must count a run once per class
    const execs = level >= 2 ? [pick(executors), pick(executors), pick(executors)] : [];
    const python = pick(pythons);
    const base: Partial<WorkflowFacts> = {
      tracking_level: level,
      python_minor: python,
      python_version: `${python}.${Math.floor(r() * 10)}`,
      platform: pick(platforms),
      os_release: pick(['', '6.1.0-18-amd64', '23.4.0']),
      project_name: pick(projects),
      is_test: r() < 0.08 ? 1 : 0,
      protocol: level === 0 || r() < 0.15 ? 'legacy' : 'v1',
      executors: execs,
      executors_len: execs.length,
      providers: level >= 2 ? [pick(providers)] : [],
      launchers: level >= 2 && r() < 0.5 ? ['SrunLauncher'] : [],
      other_components: level >= 2 && r() < 0.2 ? ['parsl.monitoring.MonitoringHub'] : [],
      mpi: level >= 2 && r() < 0.1 ? 1 : 0,
      dependency_resolver: level >= 2 && r() < 0.1 ? 1 : 0,
      launch_received_at: `${launchDay} ${String(Math.floor(r() * 24)).padStart(2, '0')}:17:00`,
    };
    const id = `m${i}`;
    const closure = (day: string): Partial<WorkflowFacts> => {
      const exec = pick([-1, 0.25, Math.exp(r() * 12) - 1, Math.exp(r() * 6)]);
      const withTimes = r() < 0.5;
      return {
        has_closure: 1,
        app_count: Math.floor(r() * 1000),
        app_fails: Math.floor(r() * 10),
        execution_time: exec,
        closure_received_at: `${day} 23:41:07`,
        ...(withTimes ? { start_time: `${launchDay} 00:00:01`, end_time: `${day} 23:40:00` } : {}),
      };
    };
    if (level < 3) {
      history.push([facts(id, { ...base, day: launchDay, ...version(launchDay) })]);
      continue;
    }
    const versions: WorkflowFacts[] = [];
    if (r() < 0.3) {
      // closure first, on a later day; the launch arrives afterwards and the run moves to its launch day
      const closureDay = addDays(launchDay, 1 + Math.floor(r() * 3));
      const day = closureDay > today ? today : closureDay;
      const c = closure(day);
      versions.push(
        facts(id, {
          ...base,
          ...c,
          day,
          status: 'closure_only',
          has_launch: 0,
          launch_received_at: '1970-01-01 00:00:00',
          ...version(day),
        }),
      );
      if (r() < 0.8)
        versions.push(
          facts(id, { ...base, ...c, day: launchDay, status: 'completed', ...version(launchDay) }),
        );
    } else {
      versions.push(facts(id, { ...base, day: launchDay, status: 'running', ...version(launchDay) }));
      const completed = (): WorkflowFacts =>
        facts(id, {
          ...base,
          ...closure(launchDay),
          day: launchDay,
          status: 'completed',
          ...version(launchDay),
        });
      if (r() < 0.7) versions.push(completed());
      // corrected closures (a replay with other counts), once or twice
      while (versions.length >= 2 && versions.length < 4 && r() < 0.3) versions.push(completed());
    }
    history.push(versions);
  }
  return history;
}
