/**
 * The endpoints of the public API, version 1 (docs/API.md): each is a fixed path over one
 * dashboard panel, with the parameters it takes. v1 is stable: endpoints, parameters and
 * response fields may be added, never removed or changed in meaning. The route table, the
 * parameter check and the OpenAPI document are all made from this one table.
 */
import type { Dimension, Panel } from '../params.js';
import { RELEASE_HEALTH_COLUMNS } from '../panel-computation.js';

export const V1_PREFIX = '/api/v1';

export type V1Param = 'from' | 'to' | 'granularity' | 'top';

export interface V1Endpoint {
  /** path after /api/v1, e.g. `/versions/python` */
  path: string;
  panel: Panel;
  /** the dimension of a `dimension` panel, fixed by the path */
  dimension?: Dimension;
  params: readonly V1Param[];
  summary: string;
  /** the table's columns, in order */
  columns: readonly string[];
  /** the `summary` object's fields and their JSON types (absent: the answer has none) */
  figures?: Readonly<Record<string, Figure>>;
}

/** A summary field: its JSON type, and what it means. */
export interface Figure {
  type: 'integer' | 'number' | 'string' | 'date';
  nullable?: boolean;
  description: string;
}

const PERIOD = ['from', 'to'] as const;
const SERIES = ['from', 'to', 'granularity'] as const;
const RANKED = ['from', 'to', 'granularity', 'top'] as const;
const RATE_COLUMNS = ['runs', 'share', 'apps', 'app_fails', 'failure_rate'];
const RANKED_FIGURES: Record<string, Figure> = {
  runs: { type: 'integer', description: 'runs in the period (the base of the shares)' },
  values: { type: 'integer', description: 'distinct values seen' },
};

function ranked(path: string, dimension: Dimension, what: string): V1Endpoint {
  return {
    path,
    panel: 'dimension',
    dimension,
    params: RANKED,
    summary: `Runs by ${what}, ranked, with their share over time`,
    columns: ['rank', dimension, ...RATE_COLUMNS],
    figures: RANKED_FIGURES,
  };
}

const int = (description: string): Figure => ({ type: 'integer', description });

export const V1_ENDPOINTS: readonly V1Endpoint[] = [
  {
    path: '/headline',
    panel: 'headline',
    params: PERIOD,
    summary: 'Headline figures of the period: runs by status, apps, failures, named projects',
    columns: ['metric', 'value'],
    figures: {
      runs: int('runs (workflows) in the period'),
      completed: int('runs that sent their closing message'),
      unfinished: int('runs that started more than 7 days ago and never closed'),
      running: int('runs started in the last 7 days that have not closed yet'),
      launched: int('runs that sent only their start message'),
      closure_only: int('runs known only by their closing message'),
      apps: int('apps run'),
      app_fails: int('apps that failed'),
      failure_rate: { type: 'number', nullable: true, description: 'app_fails / apps' },
      points: int("Parsl's leaderboard points"),
      projects: int('distinct named projects (a count; names are in /leaderboard)'),
      last_inserted_day: {
        type: 'date',
        nullable: true,
        description: 'the day data last arrived (UTC; a day, never a finer time)',
      },
      last_day: { type: 'date', nullable: true, description: 'the newest day with runs (all time)' },
    },
  },
  {
    path: '/workflows',
    panel: 'workflows',
    params: SERIES,
    summary: 'Runs per period by status',
    columns: ['period', 'workflows', 'launched', 'running', 'unfinished', 'completed', 'closure_only'],
  },
  {
    path: '/apps',
    panel: 'apps',
    params: SERIES,
    summary: 'Apps and app failures per period',
    columns: ['period', 'runs', 'apps', 'app_fails', 'failure_rate'],
  },
  ranked('/versions/python', 'python_minor', 'Python version (major.minor)'),
  ranked('/versions/parsl', 'parsl_version', 'Parsl version'),
  ranked('/platforms', 'platform', 'platform'),
  ranked('/tracking-levels', 'tracking_level', 'usage-tracking level'),
  ranked('/components/executors', 'executor', 'executor class'),
  ranked('/components/providers', 'provider', 'provider class'),
  ranked('/components/launchers', 'launcher', 'launcher class'),
  {
    path: '/execution-time',
    panel: 'exec-time',
    params: PERIOD,
    summary: 'Histogram of run execution times, with quantiles',
    columns: ['bucket', 'lower_s', 'upper_s', 'runs'],
    figures: {
      runs: int('runs with a closing message that reported an execution time'),
      p50_s: { type: 'number', nullable: true, description: 'median, s (within one bucket, +-10 %)' },
      p90_s: { type: 'number', nullable: true, description: '90th percentile, s' },
      p99_s: { type: 'number', nullable: true, description: '99th percentile, s' },
    },
  },
  {
    path: '/install-age',
    panel: 'install-age',
    params: PERIOD,
    summary: 'Runs by installation age: weeks from the release of the installed Parsl to the run',
    columns: ['age_weeks', 'runs'],
    figures: {
      runs_known_age: int('runs on a date-versioned Parsl'),
      runs_unknown_age: int('runs on a version without a date (age_weeks -1)'),
      median_days: { type: 'integer', nullable: true, description: 'median age, days' },
      p90_days: { type: 'integer', nullable: true, description: '90th percentile age, days' },
    },
  },
  {
    path: '/release-adoption',
    panel: 'adoption',
    params: RANKED,
    summary: 'Share of runs on each of the newest releases or a newer one, by days since release',
    columns: ['release', 'days_since_release', 'runs', 'newer_runs', 'share'],
  },
  {
    path: '/release-health',
    panel: 'release-health',
    params: PERIOD,
    summary: 'Releases that send less data than releases of their age did (Parsl issue #4038)',
    columns: [...RELEASE_HEALTH_COLUMNS],
    figures: {
      flagged: int('releases judged missing or collapsed'),
      judged: int('releases judged'),
    },
  },
  {
    path: '/leaderboard',
    panel: 'leaderboard',
    params: ['from', 'to', 'top'],
    summary: 'Named projects by Parsl leaderboard points (only projects with at least K runs)',
    columns: ['rank', 'project', 'points', 'runs', 'apps', 'active_days', 'first_day', 'last_day'],
    figures: {
      min_runs: int('K: a project is named only with at least K runs in the period'),
      other_projects: int('projects with fewer than K runs, counted here and not named'),
      other_runs: int('their runs'),
      other_points: int('their points'),
      other_apps: int('their apps'),
    },
  },
];

/** path after /api/v1 -> endpoint */
export const V1_BY_PATH: ReadonlyMap<string, V1Endpoint> = new Map(V1_ENDPOINTS.map((e) => [e.path, e]));

export const OPENAPI_PATH = '/openapi.json';
