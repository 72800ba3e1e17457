/**
 * A deterministic synthetic usage history (I/O-free) for the dashboard's tests, its benchmark
 * and demos: weekly Parsl releases adopted over a few weeks, a mix of Python versions,
 * platforms, tracking levels and components, some runs corrected by a later closure, a few of
 * Parsl's own test runs, and (optionally) releases that send nothing, as Parsl issue #4038.
 */
import type { WorkflowChangeRow } from '@parsl-usage/schemas';
import { addDays, daysBetween, type IsoDay } from '@parsl-usage/dashboard/internal/dates';

/** One version of a run's facts, as the aggregator writes it (without the Kafka bookkeeping). */
export type RunFacts = Omit<
  WorkflowChangeRow,
  'sign' | 'seq' | 'version' | 'kafka_partition' | 'kafka_offset'
>;

export interface DemoOptions {
  /** last day with runs */
  endDay: IsoDay;
  days: number;
  runsPerDay: number;
  seed: number;
  /** releases from this day on send nothing */
  silentFrom?: IsoDay;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const EPOCH = '1970-01-01 00:00:00';

/** Each entry is the sequence of versions of one run (a closure after a launch is a second version). */
export function demoHistory(o: DemoOptions): RunFacts[][] {
  const r = rng(o.seed);
  const pick = <T>(xs: readonly (readonly [T, number])[]): T => {
    const total = xs.reduce((s, x) => s + x[1], 0);
    let u = r() * total;
    for (const [v, w] of xs) if ((u -= w) < 0) return v;
    return (xs[xs.length - 1] as readonly [T, number])[0];
  };
  const start = addDays(o.endDay, -(o.days - 1));
  // Weekly releases, the first 12 weeks before the history starts.
  const releases: IsoDay[] = [];
  for (let d = addDays(start, -84); d <= o.endDay; d = addDays(d, 7)) releases.push(d);
  const projects = ['', '', '', '', 'alpha', 'beta', 'gamma', 'delta', '=cmd|calc'];
  const history: RunFacts[][] = [];
  let id = 0;
  for (let day = start; day <= o.endDay; day = addDays(day, 1)) {
    const out = daysBetween(start, day) / Math.max(1, o.days - 1); // 0 .. 1 over the history
    const released = releases.filter((x) => x <= day);
    for (let i = 0; i < o.runsPerDay; i++) {
      // Newer releases are more likely: weight halves per week of age.
      const rel = pick(released.map((x) => [x, 0.5 ** (daysBetween(x, day) / 7)] as const));
      const noDate = r() < 0.08;
      if (!noDate && o.silentFrom && rel >= o.silentFrom) continue;
      const level = pick([
        [1, 3],
        [2, 2],
        [3, 5],
      ] as const);
      const python = pick([
        ['3.9', 1.5 - out],
        ['3.10', 2],
        ['3.11', 3],
        ['3.12', 3 + 2 * out],
        ['3.13', 0.5 + 2 * out],
      ] as const);
      const platform = pick([
        ['Linux', 8],
        ['Darwin', 2],
        ['Windows', 0.3],
      ] as const);
      const executor = pick([
        ['HighThroughputExecutor', 6],
        ['ThreadPoolExecutor', 3],
        ['WorkQueueExecutor', 1],
        ['MPIExecutor', 0.5],
      ] as const);
      const provider = pick([
        ['LocalProvider', 4],
        ['SlurmProvider', 4],
        ['PBSProProvider', 1.5],
      ] as const);
      const launcher = pick([
        ['SingleNodeLauncher', 4],
        ['SrunLauncher', 3],
        ['MpiExecLauncher', 1],
      ] as const);
      const wid = `demo-${o.seed}-${id++}`;
      const base: RunFacts = {
        workflow_id: wid,
        status: level === 3 ? 'running' : 'launched',
        protocol: 'v1',
        tracking_level: level,
        parsl_version: noDate ? '1.2.0' : rel.replaceAll('-', '.'),
        parsl_release_date: noDate ? '1970-01-01' : rel,
        install_age_days: noDate ? -1 : daysBetween(rel, day),
        python_version: `${python}.1`,
        python_minor: python,
        platform,
        os_release: '',
        project_name: projects[Math.floor(r() * projects.length)] ?? '',
        is_test: r() < 0.03 ? 1 : 0,
        executors: level >= 2 ? [executor] : [],
        providers: level >= 2 ? [provider] : [],
        launchers: level >= 2 ? [launcher] : [],
        other_components: [],
        executors_len: level >= 2 ? 1 : 0,
        dependency_resolver: 0,
        mpi: 0,
        app_count: 0,
        app_fails: 0,
        has_launch: 1,
        has_closure: 0,
        day,
        launch_received_at: `${day} 12:00:00`,
        closure_received_at: EPOCH,
        start_time: EPOCH,
        end_time: EPOCH,
        execution_time: -1,
        points: level === 3 ? 2 : 1,
      };
      // Most level-3 runs close; some never do (unfinished once older than a week).
      if (level === 3 && r() < 0.85) {
        const apps = Math.floor(r() * 200);
        history.push([
          base,
          {
            ...base,
            status: 'completed',
            has_closure: 1,
            app_count: apps,
            app_fails: Math.floor(apps * r() * 0.1),
            closure_received_at: `${day} 13:00:00`,
            execution_time: Math.round(Math.exp(r() * 10) * 1000) / 1000,
          },
        ]);
      } else history.push([base]);
    }
  }
  return history;
}
